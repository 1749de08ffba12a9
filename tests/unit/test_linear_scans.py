"""Every scan of a mail's text is linear in it, or reads a capped part of it (issue 11).

Each test builds the shape that once made a scan quadratic (a long run of one chunk: spaces,
unclosed brackets, separators) at size n and 4n and checks the cost ratio (`growth`): about 4
for a linear scan, 16 for a quadratic one. The sizes keep each test well under a second.
"""

from __future__ import annotations

import timeit

from mailbot.domain import bounce_text, commands, forms, intents, survey
from mailbot.domain.textutil import own_lines
from mailbot.mail.addresses import MAX_ADDRESS_FIELDS, parse_addresses
from mailbot.mail.parse import MAX_HTML_TAGS, MAX_HTML_TEXT, parse_message
from tests.support.hostile import growth

LINEAR = 8.0  # between linear (4) and quadratic (16), with room for a noisy machine
BOUNDED = 2.5  # a capped scan: about 1, where reading all of it would be 4


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


def test_an_smtp_reply_code_is_read_in_linear_time() -> None:
    assert growth(lambda n: bounce_text._REPLY_CODE.match(" " * n), 2_000) < LINEAR
    assert bounce_text.transcript_failures("RCPT TO:<a@b.example>\n   | 550 no such user\n") == [
        "a@b.example"
    ]


def test_subject_prefixes_are_stripped_in_linear_time() -> None:
    assert growth(lambda n: commands.strip_subject_prefixes("Re" + " " * n + "x"), 2_000) < LINEAR
    assert (
        growth(lambda n: commands.strip_subject_prefixes("Re: " * n + "x"), 10_000, repeat=3)
        < LINEAR
    )
    assert commands.strip_subject_prefixes("Re: AW [2]: [list] Fwd: Réf. : PAUSE") == "PAUSE"


def test_interests_are_split_in_linear_time() -> None:
    assert growth(lambda n: forms.split_interests("maps, books" + " " * n + "x"), 2_000) < LINEAR


def _form(sector: str = "public", above: str = "") -> str:
    return f"{above}Name: Ana\nCountry: Peru\nInstitution: Library\nSector: {sector}\n"


def test_a_form_is_looked_for_only_in_the_start_of_a_body() -> None:
    assert growth(lambda n: forms.looks_like_application("x\n" * n), 20_000, repeat=3) < BOUNDED
    assert forms.looks_like_application(_form(above="x\n" * (forms.MAX_SCAN_LINES - 10)))
    assert not forms.looks_like_application(_form(above="x\n" * forms.MAX_SCAN_LINES))


def test_an_overlong_closed_list_value_is_not_looked_up() -> None:
    def read(n: int) -> object:  # vocab's bracket regex rescanned from every unclosed "("
        return forms.parse_application(_form("x" + "(" * n), from_addr="a@b.example")

    assert growth(read, 2_000) < LINEAR
    result = forms.parse_application(_form("public " + "x" * 300), from_addr="a@b.example")
    assert any(p.field.value == "sector" and p.code == "unknown_value" for p in result.problems)


def test_only_the_first_sentences_of_a_mail_are_matched() -> None:
    assert len(intents.sentences("say more. " * 1_000)) == intents._MAX_SENTENCES  # each: 150 rows
    assert intents.read_intent("", "Hello. " * 20 + "Please pause me.").kind.value == "command"


def test_a_long_recipient_list_is_read_by_its_address_tokens() -> None:
    def cost(value: str) -> float:
        return min(timeit.repeat(lambda: parse_addresses([value]), number=1, repeat=5))

    plain = ", ".join(f"p{i}@example.net" for i in range(600))
    junk = "a@" * (len(plain) // 2)  # as long; the stdlib parser took 13 µs per "a@"
    assert cost(junk) < 10 * cost(plain)
    many = ", ".join(f'"Doe, J{i}" <j{i}@example.net>' for i in range(200))
    assert [a for _n, a in parse_addresses([many])] == [f"j{i}@example.net" for i in range(200)]
    assert len(parse_addresses(["Ana <a@b.example>"] * 1_000)) == MAX_ADDRESS_FIELDS


def _html_mail(html: str) -> bytes:
    head = "From: a@example.net\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    return (head + html).encode()


def test_only_the_start_of_an_html_only_body_is_converted() -> None:
    words = parse_message(_html_mail("<p>" + "word " * 30_000)).text  # 150,000 characters
    assert words.count("word") == (MAX_HTML_TEXT - len("<p>")) // len("word ")
    tags = parse_message(_html_mail("<p>a</p>" * 20_000)).text  # 40,000 tags
    assert tags.count("a") == MAX_HTML_TAGS // 2


def test_own_lines_skip_or_stop_at_quotes_and_read_a_capped_body() -> None:
    text = "Fine.\n> quoted\nInline answer.\nOn Mon, Bob wrote:\n> old\n"
    assert own_lines(text, skip_quoted=True, outlook_headers=True) == ["Fine.", "Inline answer."]
    assert own_lines(text, skip_quoted=False, outlook_headers=False) == ["Fine."]
    outlook = "Yes.\nFrom: Bob\nSent: Monday\n"
    assert own_lines(outlook, skip_quoted=False, outlook_headers=True) == ["Yes."]
    assert len(own_lines(outlook, skip_quoted=False, outlook_headers=False)) == 3
    assert own_lines("x\n" * 10, skip_quoted=True, outlook_headers=True, max_chars=6) == ["x"] * 3


def test_lines_ended_by_a_bare_cr_count_against_the_parser_cap() -> None:
    raw = b"From: a@example.net\r\nSubject: x\r\n\r\n" + b"a\r" * 100_000
    assert any("lines: the rest" in d for d in parse_message(raw).defects)


def test_bounce_line_scans_stop_after_max_lines() -> None:
    fields = "Final-Recipient: rfc822; a@b.example\nAction: failed\n"
    assert bounce_text.dsn_blocks("\n" * 100 + fields)
    assert not bounce_text.dsn_blocks("\n" * bounce_text.MAX_LINES + fields)


def test_a_long_interests_value_is_too_long_without_being_split() -> None:
    value = ", ".join(f"topic {i}" for i in range(1_000))
    result = forms.parse_application(_form() + f"Interests: {value}\n", from_addr="a@b.example")
    assert [p.code for p in result.problems if p.field.value == "interests"] == ["too_long"]


def test_the_parser_is_fed_a_capped_body() -> None:
    body = ("x" * 999 + "\n") * 1_000  # 1,000,000 characters in 1,000 lines
    raw = ("From: a@example.net\nSubject: x\n\n" + body).encode()
    assert any("characters of body" in d for d in parse_message(raw).defects)
