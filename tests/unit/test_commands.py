"""Commands: what a one-line mail to the program asks for, in en/fr/es, and what it does not."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.domain.commands import parse_command, strip_subject_prefixes
from mailbot.domain.model import CommandName as C


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: status", "status"),
        ("RE: Re: re:status", "status"),
        ("Aw: AW: SV: Fwd: FW: TR: RV: pause", "pause"),
        ("Réf. : help", "help"),
        ("[ILN] Re: [round 5] Re[2]: help", "help"),
        ("RE : aide", "aide"),
        ("  Fwd:   ", ""),
        ("Return of the status", "Return of the status"),
        ("Trivia: re: x", "Trivia: re: x"),
    ],
)
def test_strip_subject_prefixes(subject: str, expected: str) -> None:
    assert strip_subject_prefixes(subject) == expected


CASES = [
    # (subject, body, name, args, source)
    ("HELP", "", C.HELP, {}, "subject"),
    ("Re: aide", "", C.HELP, {}, "subject"),
    ("AYUDA!", "", C.HELP, {}, "subject"),
    ("STATUS please", "", C.STATUS, {}, "subject"),
    ("statut ?", "", C.STATUS, {}, "subject"),
    ("Estado", "", C.STATUS, {}, "subject"),
    ("WITHDRAW", "", C.WITHDRAW, {}, "subject"),
    ("Withdraw me from the program please", "", C.WITHDRAW, {}, "subject"),
    ("se retirer", "", C.WITHDRAW, {}, "subject"),
    ("RETIRARSE", "", C.WITHDRAW, {}, "subject"),
    ("Baja", "", C.WITHDRAW, {}, "subject"),
    ("PAUSE", "", C.PAUSE, {"days": 14}, "subject"),
    ("pause 2 weeks thanks", "", C.PAUSE, {"days": 14}, "subject"),
    ("PAUSE 2 semaines", "", C.PAUSE, {"days": 14}, "subject"),
    ("PAUSA 3 semanas", "", C.PAUSE, {"days": 21}, "subject"),
    ("PAUSE 10 jours", "", C.PAUSE, {"days": 10}, "subject"),
    ("PAUSE 2w", "", C.PAUSE, {"days": 14}, "subject"),
    ("pause for three weeks", "", C.PAUSE, {"days": 21}, "subject"),
    ("pause 1 month", "", C.PAUSE, {"days": 30}, "subject"),
    ("pause 5", "", C.PAUSE, {"days": 5}, "subject"),
    ("pause 200 days", "", C.PAUSE, {"days": 90}, "subject"),
    ("RESUME", "", C.RESUME, {}, "subject"),
    ("Reprendre", "", C.RESUME, {}, "subject"),
    ("reanudar", "", C.RESUME, {}, "subject"),
    ("REMATCH", "", C.REMATCH, {}, "subject"),
    ("rematch please", "", C.REMATCH, {}, "subject"),
    ("Nouveau partenaire", "", C.REMATCH, {}, "subject"),
    ("NUEVA PAREJA", "", C.REMATCH, {}, "subject"),
    ("CONTINUE", "", C.CONTINUE, {}, "subject"),
    ("continuer", "", C.CONTINUE, {}, "subject"),
    ("Continuar", "", C.CONTINUE, {}, "subject"),
    ("Join next round!", "", C.CONTINUE, {}, "subject"),
    ("DELETE MY DATA", "", C.DELETE_MY_DATA, {}, "subject"),
    ("delete my data please", "", C.DELETE_MY_DATA, {}, "subject"),
    ("DELETE MY DATA k3j9x2q8ab", "", C.DELETE_MY_DATA, {"token": "k3j9x2q8ab"}, "subject"),
    ("Supprimer mes données", "", C.DELETE_MY_DATA, {}, "subject"),
    ("SUPPRIMER MES DONNEES", "", C.DELETE_MY_DATA, {}, "subject"),
    ("Borrar mis datos", "", C.DELETE_MY_DATA, {}, "subject"),
    ("IN TOUCH", "", C.IN_TOUCH, {}, "subject"),
    ("We’re in touch!", "", C.IN_TOUCH, {}, "subject"),
    ("en contact", "", C.IN_TOUCH, {}, "subject"),
    ("En contacto", "", C.IN_TOUCH, {}, "subject"),
    ("SILENT", "", C.SILENT, {}, "subject"),
    ("Silencieux", "", C.SILENT, {}, "subject"),
    ("sin respuesta", "", C.SILENT, {}, "subject"),
    ("Yes", "", C.YES, {}, "subject"),
    ("oui.", "", C.YES, {}, "subject"),
    ("Sí", "", C.YES, {}, "subject"),
    ("si!", "", C.YES, {}, "subject"),
    ("NO", "", C.NO, {}, "subject"),
    ("Non", "", C.NO, {}, "subject"),
    # coordinators
    ("APPROVE", "", C.APPROVE, {}, "subject"),
    ("Re: approve", "", C.APPROVE, {}, "subject"),
    (
        "REDO Alice and Bob are colleagues",
        "",
        C.REDO,
        {"text": "Alice and Bob are colleagues"},
        "subject",
    ),
    ("REMATCH 12", "", C.REMATCH, {"pair": "12"}, "subject"),
    (
        "REMATCH #p12 they never met",
        "",
        C.REMATCH,
        {"pair": "p12", "text": "they never met"},
        "subject",
    ),
    ("CLOSE 7", "", C.CLOSE, {"pair": "7"}, "subject"),
    ("close pair 7: both left", "", C.CLOSE, {"pair": "7", "text": "both left"}, "subject"),
    (
        "LIAISE 12 Please chase Bob",
        "",
        C.LIAISE,
        {"pair": "12", "text": "Please chase Bob"},
        "subject",
    ),
    (
        "NOTE 12 Alice on leave until May",
        "",
        C.NOTE,
        {"pair": "12", "text": "Alice on leave until May"},
        "subject",
    ),
    (
        "PAUSE Alice@Example.org 10 days",
        "",
        C.PAUSE,
        {"address": "alice@example.org", "days": 10},
        "subject",
    ),
    (
        "PAUSE alice@example.org",
        "",
        C.PAUSE,
        {"address": "alice@example.org", "days": 14},
        "subject",
    ),
    # body
    ("", "STATUS\n", C.STATUS, {}, "body"),
    (
        "Re: Your match",
        "\n\n  pause 3 weeks  \n\nSent from my phone",
        C.PAUSE,
        {"days": 21},
        "body",
    ),
    ("Application", "Hi Marie,\n\nWITHDRAW\n", C.WITHDRAW, {}, "body"),
    (
        "Re: Are you in touch with your partner?",
        "IN TOUCH\n\nOn Mon, 3 Jun 2024, ILN wrote:\n> Reply IN TOUCH",
        C.IN_TOUCH,
        {},
        "body",
    ),
    ("Re: Check-in", "<p><b>Yes</b></p>", C.YES, {}, "body"),
    ("Re: Check-in", "**No**\n", C.NO, {}, "body"),
    ("", "Bonjour,\nSTATUT\n-- \nMarie", C.STATUS, {}, "body"),
]


@pytest.mark.parametrize(("subject", "body", "name", "args", "source"), CASES)
def test_commands(subject: str, body: str, name: C, args: dict, source: str) -> None:
    command = parse_command(subject, body)
    assert command is not None
    assert (command.name, command.args, command.source) == (name, args, source)


def test_command_text_is_the_line_it_was_read_from() -> None:
    command = parse_command("Re: Fwd: PAUSE 2 weeks", "")
    assert command is not None and command.text == "PAUSE 2 weeks"
    command = parse_command("Hello", "  status please  \n> quoted")
    assert command is not None and command.text == "status please"


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Application", ""),
        ("My application for the next round", "Name: Alice\nCountry: France"),
        ("Candidature", "Bonjour, voici ma candidature :\nNom : Marie"),
        ("Solicitud", "Hola"),
        ("", "I will pause my work for a while"),
        ("Re: hello", "Please tell me my status"),
        ("Help needed with my partner who has not replied since May", ""),
        ("Yes please", ""),
        ("", "No problem, thanks for the note"),
        ("Si vous pouvez", ""),
        ("", "> STATUS"),
        ("", "On Mon, 3 Jun 2024, ILN <p@example.org> wrote:\nSTATUS"),
        ("", "-- \nSTATUS"),
        ("Close", ""),  # coordinator commands need a pair id
        ("Note: I will be away", ""),
        ("Liaise", ""),
        ("Continue on our own", ""),  # not "join the next round"
        ("continuer ensemble", ""),
        ("Résumé", ""),  # a CV, not RESUME
        ("Pause my work, my partner, my life and everything else", ""),
        ("", ""),
        ("Re:", "\n\n"),
    ],
)
def test_not_commands(subject: str, body: str) -> None:
    assert parse_command(subject, body) is None


@pytest.mark.parametrize(
    ("subject", "days"),
    [
        ("PAUSE five days", 5),
        ("PAUSE cinq jours", 5),
        ("Pausa cinco días", 5),
        ("PAUSE ten days", 10),
        ("PAUSE a week", 7),
        ("PAUSE for a month", 30),
        ("Pause une semaine", 7),
        ("Pausa una semana", 7),
        ("PAUSE a bit", 14),  # no unit after "a": not a duration
    ],
)
def test_pause_durations_in_words(subject: str, days: int) -> None:
    command = parse_command(subject, "")
    assert command is not None and command.args == {"days": days}


TODAY = date(2027, 3, 1)


@pytest.mark.parametrize(
    ("subject", "days", "until"),
    [
        ("Re: PAUSE until 20 March", 19, "2027-03-20"),
        ("PAUSE until March 20th please", 19, "2027-03-20"),
        ("PAUSE jusqu'au 20 mars", 19, "2027-03-20"),
        ("Pausa hasta el 20 de marzo", 19, "2027-03-20"),
        ("PAUSE until April", 31, "2027-04-01"),  # a month alone: its 1st
        ("PAUSE until 1 March", 90, "2028-03-01"),  # today: next year's, capped at 90 days
        ("PAUSE until September", 90, "2027-09-01"),
    ],
)
def test_pause_until_a_date_counts_from_the_message_date(
    subject: str, days: int, until: str
) -> None:
    command = parse_command(subject, "", today=TODAY)
    assert command is not None and command.args == {"days": days, "until": until}


@pytest.mark.parametrize(
    ("subject", "today"),
    [
        ("PAUSE until 15 March", None),  # no date to count from
        ("PAUSE until 31 February", TODAY),
        ("PAUSE until I am back", TODAY),
        ("PAUSE until 15/03", TODAY),
    ],
)
def test_pause_until_what_cannot_be_counted_is_not_a_silent_fourteen_days(
    subject: str, today: date | None
) -> None:
    assert parse_command(subject, "", today=today) is None


def test_subject_wins_over_body() -> None:
    command = parse_command("STATUS", "WITHDRAW")
    assert command is not None and command.name is C.STATUS


def test_only_one_greeting_line_is_skipped() -> None:
    assert parse_command("", "Hi,\nHello again,\nSTATUS") is None


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text())
def test_parse_never_raises(subject: str, body: str) -> None:
    command = parse_command(subject, body)
    if command is not None:
        assert command.source in ("subject", "body")
        assert isinstance(command.name, C)


SUBJECT_ONLY = [s for s, b, *_ in CASES if s and not b]


@pytest.mark.parametrize("case", SUBJECT_ONLY)
def test_case_and_trailing_punctuation_do_not_change_a_command(case: str) -> None:
    plain = parse_command(case, "")
    assert plain is not None
    for punct in ("", ".", "!", " !", "?!"):
        for variant_text in (case + punct, case.upper() + punct, case.lower() + punct):
            variant = parse_command(variant_text, "")
            assert variant is not None, variant_text
            assert variant.name is plain.name
            assert variant.args.keys() == plain.args.keys(), variant_text


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.lists(
        st.sampled_from(["Re: ", "RE:", "Aw: ", "SV: ", "Fwd: ", "FW: ", "TR: ", "RV: ", "[ILN] "]),
        max_size=4,
    ).map("".join),
    case=st.sampled_from(SUBJECT_ONLY),
)
def test_reply_prefixes_do_not_change_a_command(prefix: str, case: str) -> None:
    assert parse_command(prefix + case, "") == parse_command(case, "")


def test_a_long_one_line_answer_is_still_an_answer_with_all_its_text() -> None:
    """Coordinators paste a paragraph after ANSWER; mail clients often keep it on one line."""
    paragraph = "You can change partner by replying REMATCH, and we will look for someone. " * 12
    cmd = parse_command("", f"ANSWER 12 {paragraph}")
    assert cmd is not None and cmd.name is C.ANSWER
    assert cmd.args == {"item": "12", "text": paragraph.strip()}


def test_a_long_line_is_no_command_unless_its_start_takes_a_text() -> None:
    assert parse_command("", "PAUSE " + "really " * 120) is None
    assert parse_command("", "Hello " * 120) is None
    long_note = parse_command("", "NOTE 7 " + "x" * 30_000)  # one word past the head: no text
    assert long_note is None or len(str(long_note.args.get("text", ""))) <= 10_000
