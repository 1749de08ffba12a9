"""autoreply: robots and out-of-office replies, and the day an absent person is back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailbot.domain.autoreply import (
    AUTOMATED_CHECKS,
    automated_reason,
    away_until,
    is_automated,
    is_out_of_office,
)
from mailbot.domain.model import Inbound
from mailbot.mail.parse import parse_message

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def mail(headers: str = "", body: str = "hello\n", frm: str = "alice@example.net") -> Inbound:
    raw = f"From: {frm}\nTo: coordinator@example.org\n{headers}\n{body}"
    return parse_message(raw.encode())


@pytest.mark.parametrize(
    ("headers", "frm", "rule"),
    [
        ("Auto-Submitted: auto-replied\n", "a@x.example", "auto_submitted"),
        ("Auto-Submitted: auto-generated\n", "a@x.example", "auto_submitted"),
        ("Auto-Submitted: auto-notified; owner-email=x@y\n", "a@x.example", "auto_submitted"),
        ("Precedence: bulk\n", "a@x.example", "precedence"),
        ("Precedence: JUNK\n", "a@x.example", "precedence"),
        ("Precedence: list\n", "a@x.example", "precedence"),
        ("Precedence: auto_reply\n", "a@x.example", "precedence"),
        ("X-Autoreply: yes\n", "a@x.example", "autoreply_header"),
        ("X-Autorespond: yes\n", "a@x.example", "autoreply_header"),
        ("X-Auto-Response: yes\n", "a@x.example", "autoreply_header"),
        ("List-Id: <l.example>\n", "a@x.example", "list_headers"),
        ("List-Unsubscribe: <mailto:u@l.example>\n", "a@x.example", "list_headers"),
        ("List-Post: <mailto:l@l.example>\n", "a@x.example", "list_headers"),
        ("", "MAILER-DAEMON@mx.example", "robot_sender"),
        ("", "postmaster@mx.example", "robot_sender"),
        ("", "noreply@shop.example", "robot_sender"),
        ("", "no-reply+abc@shop.example", "robot_sender"),
        ("", "do-not-reply@bank.example", "robot_sender"),
    ],
)
def test_robot_signals(headers: str, frm: str, rule: str) -> None:
    found = automated_reason(mail(headers + "Subject: hi\n", frm=frm))
    assert found is not None and found[0] == rule


@pytest.mark.parametrize(
    "headers",
    [
        "Auto-Submitted: no\n",
        "X-Auto-Response-Suppress: All\n",  # Exchange puts it on ordinary mail
        "Precedence: first-class\n",
        "X-Mailer: Microsoft Outlook 16.0\n",
        "",
    ],
)
def test_people(headers: str) -> None:
    assert not is_automated(mail(headers + "Subject: Re: our call\n"))


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Topic 3",
        "Auto-Reply: Topic 3",
        "Out of Office: Topic 3",
        "[Out of office] Topic 3",
        "Autoreply: Topic 3",
        "Réponse automatique : Votre partenaire",
        "Absence du bureau : Votre partenaire",
        "Absente du bureau",
        "Absent(e) du bureau jusqu'au 15 mars",
        "Hors du bureau : Votre partenaire",
        "Respuesta automática: Tema 3",
        "Fuera de la oficina: Tema 3",
        "Fuera de oficina",
        "Fuera del despacho: Tema 3",
        "Abwesenheitsnotiz: Ihr Partner",
        "Automatische Antwort: Ihr Partner",
        "Autosvar: Din partner",
        "Automatisch antwoord: Uw partner",
        "Risposta automatica: Il tuo partner",
        "Resposta automática: O seu parceiro",
        "Odpowiedź automatyczna: Twój partner",
    ],
)
def test_out_of_office_subjects(subject: str) -> None:
    msg = mail(f"Subject: {subject}\n")
    assert automated_reason(msg) == (
        "ooo_subject",
        f"subject begins with an out-of-office phrase ({subject!r})",
    )
    assert is_out_of_office(msg)


@pytest.mark.parametrize(
    "subject", ["Re: Automatic reply settings in Outlook", "Out of ideas for topic 3", "Autumn"]
)
def test_ordinary_subjects(subject: str) -> None:
    assert not is_automated(mail(f"Subject: {subject}\n"))


def test_list_mail_is_automated_but_not_out_of_office() -> None:
    msg = mail("Subject: digest\nList-Id: <l.example>\n")
    assert is_automated(msg) and not is_out_of_office(msg)


def test_checks_are_named_and_described() -> None:
    names = [n for n, _d, _c in AUTOMATED_CHECKS]
    assert names[0] == "auto_submitted" and len(set(names)) == len(names)
    assert all(d for _n, d, _c in AUTOMATED_CHECKS)


# --------------------------------------------------------------------------- away until


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("I will be back on 12 March 2027.", "2027-03-12"),
        ("I am away until 2027-03-12 with no access to email.", "2027-03-12"),
        ("Je suis absente et serai de retour le 12 mars.", "2027-03-12"),
        ("Je serai de retour le 1er avril 2027.", "2027-04-01"),
        ("Estoy de vacaciones hasta el 12 de marzo.", "2027-03-12"),
        ("Ich bin bis zum 12. März nicht im Büro.", "2027-03-12"),
        ("Ich bin bis zum 12.03.2027 nicht im Büro.", "2027-03-12"),
        ("Jag är tillbaka den 12 mars.", "2027-03-12"),
        ("Ik ben terug op 12 maart.", "2027-03-12"),
        ("Sarò di rientro il 12 marzo.", "2027-03-12"),
        ("Estarei de volta até 12 de março.", "2027-03-12"),
        ("Back on 12/03/2027.", "2027-03-12"),
        ("Back on March 12, 2027.", "2027-03-12"),
        ("Back on 03/25/2027.", "2027-03-25"),  # month first when the day cannot be a month
        ("Away from 2 March until 12 March; back in the office on 15 March.", "2027-03-15"),
        ("Back on 5 January.", "2028-01-05"),  # no year: the next 5 January
    ],
)
def test_away_until(body: str, expected: str) -> None:
    when = away_until(mail("Subject: Out of office\n", body), NOW)
    assert when is not None and when.isoformat() == f"{expected}T00:00:00+00:00"


@pytest.mark.parametrize(
    "body",
    [
        "I am on leave.",  # no date
        "Our meeting on 12 March 2027 is cancelled.",  # a date, but not a return date
        "Back on 12 March 2020.",  # in the past
        "Back on 12 March 2031.",  # too far ahead to believe
        "Back on 31 February 2027.",  # no such day
        "> I will be back on 20 March 2027\n",  # only in quoted text
    ],
)
def test_away_until_unsure(body: str) -> None:
    assert away_until(mail("Subject: Out of office\n", body), NOW) is None


def test_away_until_without_a_year_needs_a_hint() -> None:
    msg = mail("Subject: Out of office\n", "de retour le 12 mars")
    assert away_until(msg, None) is None
    assert away_until(msg, NOW) == datetime(2027, 3, 12, tzinfo=UTC)


def test_away_until_reads_the_subject_too() -> None:
    msg = mail("Subject: Out of office until 2027-03-20\n", "Thanks for your mail.")
    assert away_until(msg, NOW) == datetime(2027, 3, 20, tzinfo=UTC)
