"""End-of-round survey replies in English, French and Spanish, and their summary."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.domain.survey import Choice, SurveyAnswer, parse_survey_answer, survey_summary

N, C, S = Choice.NEW_PARTNER, Choice.CONTINUE_INDEPENDENTLY, Choice.STOP

TABLE = [
    # (scenario, reply text, satisfaction, valuable, choice)
    (
        "en form filled in",
        "Satisfaction: 4\nThe most valuable thing: seeing how Kenyan\nlibraries run\n\nChoice: 2",
        4,
        "seeing how Kenyan libraries run",
        C,
    ),
    ("en rating as N/5", "4/5", 4, "", None),
    ("en rating out of", "Satisfaction: 5 out of 5", 5, "", None),
    ("en number word", "Satisfaction - four\nchoice: three", 4, "", S),
    ("en numbered questions", "1. Satisfaction: 3\n2. Most valuable: x\n3. Choice: 1", 3, "x", N),
    ("en choice in words", "Your choice: a new partner next round please", None, "", N),
    ("en choice on our own", "Choice: we will continue on our own", None, "", C),
    (
        "en question echoed with scale",
        "Satisfaction (1 = poor, 5 = excellent): 5\nYour choice (1, 2 or 3): 3",
        5,
        "",
        S,
    ),
    (
        "fr form",
        "Satisfaction : 4\nLe plus précieux : échanger sur nos pratiques\nChoix : 2",
        4,
        "échanger sur nos pratiques",
        C,
    ),
    ("fr number word", "Satisfaction (1-5) : cinq\nVotre choix : arrêter", 5, "", S),
    ("fr rating sur 5", "Note : 3 sur 5", 3, "", None),
    ("fr choix without label colon", "Choix 1", None, "", N),
    (
        "es form",
        "Satisfacción: 5\nLo más valioso: las conversaciones\nopción 1",
        5,
        "las conversaciones",
        N,
    ),
    ("es accents dropped", "satisfaccion: 2\nopcion: 3", 2, "", S),
    ("es words", "Su opción: continuar por nuestra cuenta con mi pareja", None, "", C),
    ("es nota de 5", "Nota: 4 de 5", 4, "", None),
    (
        "answers typed under quoted questions",
        "> Satisfaction (1-5):\n4\n> The most valuable thing:\nthe friendship\n"
        "> Your choice (1, 2 or 3):\n3\n",
        4,
        "the friendship",
        S,
    ),
    (
        "quoted survey only, nothing typed",
        "Thanks!\n\nOn Mon, 1 Jul 2024, ILN wrote:\n> Satisfaction: 5\n> Choice: 1",
        None,
        "",
        None,
    ),
    (
        "Outlook original below is not read",
        "Satisfaction: 2\n\n-----Original Message-----\nSatisfaction: 5/5\nChoice: 1",
        2,
        "",
        None,
    ),
    ("signature not read", "Choice: 3\n-- \nAna, 4/5 librarian", None, "", S),
    ("a score over 5 is not a rating", "Satisfaction: 7", None, "", None),
    ("choice 4 does not exist", "Choice: 4", None, "", None),
    ("two options named: not guessed", "Choice: new partner or stop, not sure", None, "", None),
]


@pytest.mark.parametrize(
    ("name", "text", "satisfaction", "valuable", "choice"), TABLE, ids=[r[0] for r in TABLE]
)
def test_parse(
    name: str, text: str, satisfaction: int | None, valuable: str, choice: Choice | None
) -> None:
    got = parse_survey_answer(text)
    if satisfaction is None and not valuable and choice is None:
        assert got is None
    else:
        assert got == SurveyAnswer(satisfaction, valuable, choice)


@pytest.mark.parametrize(
    "text",
    ["1", "  3 \n", "continue", "Thanks, it was great!", "", "> Satisfaction: 5", "See you!"],
)
def test_not_read(text: str) -> None:
    """A bare number could be a rating or a choice; a bare 'continue' could be option 1 or 2."""
    assert parse_survey_answer(text) is None


@given(st.text(max_size=400))
def test_never_raises(text: str) -> None:
    got = parse_survey_answer(text)
    assert got is None or got.satisfaction in (None, 1, 2, 3, 4, 5)


def test_summary() -> None:
    answers = [
        SurveyAnswer(5, "friendship", N),
        SurveyAnswer(4, "", C),
        SurveyAnswer(2, "time zones were hard", S),
        SurveyAnswer(None, "", N),
    ]
    s = survey_summary(answers, invited=10)
    assert s["responses"] == 4
    assert s["response_rate"] == pytest.approx(0.4)
    assert s["satisfaction_mean"] == pytest.approx(11 / 3)
    assert s["satisfied_share"] == pytest.approx(2 / 3)
    assert s["satisfaction_distribution"] == {1: 0, 2: 1, 3: 0, 4: 1, 5: 1}
    assert s["choices"] == {"new_partner": 2, "continue_independently": 1, "stop": 1, "none": 0}
    assert s["valuable"] == ["friendship", "time zones were hard"]
    empty = survey_summary([], invited=0)
    assert (empty["response_rate"], empty["satisfaction_mean"]) == (0.0, None)


@pytest.mark.parametrize(
    "text",
    [
        "Satisfaction:\n4\nMost valuable:\nthe talks\nChoice:\n2\n",
        "> Satisfaction:\n4\n> Most valuable:\nthe talks\n> Choice:\n2\n",
        "Satisfaction (1-5):\n4/5\n\nMost valuable:\nthe talks\n\nChoice:\n2",
    ],
)
def test_answers_on_the_line_below_their_label(text: str) -> None:
    a = parse_survey_answer(text)
    assert a is not None
    assert (a.satisfaction, a.valuable, a.choice) == (4, "the talks", Choice.CONTINUE_INDEPENDENTLY)


def test_answers_on_the_line_below_french_labels() -> None:
    a = parse_survey_answer("Satisfaction :\n5\nLe plus précieux :\nles échanges\nChoix :\n1\n")
    assert a is not None
    assert (a.satisfaction, a.valuable, a.choice) == (5, "les échanges", Choice.NEW_PARTNER)
