"""Every scan of a mail's text is linear in it, or reads a capped part of it (issue 11).

Each test builds the shape that once made a scan quadratic (a long run of one chunk: spaces,
unclosed brackets, separators) at size n and 4n and checks the cost ratio (`growth`): about 4
for a linear scan, 16 for a quadratic one. The sizes keep each test well under a second.
"""

from __future__ import annotations

from mailbot.domain import survey
from tests.support.hostile import growth

LINEAR = 8.0  # between linear (4) and quadratic (16), with room for a noisy machine


def test_survey_separator_search_is_linear_in_a_run_of_spaces() -> None:
    assert growth(lambda n: survey._SEPARATOR_RE.search(" " * n + "x"), 4_000) < LINEAR


def test_survey_brackets_are_linear_in_unclosed_ones() -> None:
    assert growth(lambda n: survey._PAREN_RE.sub(" ", "(" * n), 4_000) < LINEAR


def test_a_survey_reply_is_read_only_as_far_as_an_answer_reaches() -> None:
    def read(n: int) -> object:
        return survey.parse_survey_answer("Satisfaction" + " " * n + "x")

    assert growth(read, 3_000) < LINEAR
    answer = survey.parse_survey_answer("Satisfaction (1-5): 4\n" + " " * 100_000)
    assert answer is not None and answer.satisfaction == 4
