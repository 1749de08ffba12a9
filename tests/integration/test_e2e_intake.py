"""End to end on real Dovecot + Postfix: applications over SMTP, `mailbot tick`, answers in
the applicants' own IMAP mailboxes."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from mailbot.domain import tokens
from mailbot.domain.model import Route
from tests.integration.live import SECRET, Live
from tests.support import mailbox

pytestmark = pytest.mark.integration

NOW = "2027-01-12T09:00:00Z"


def _form(sender: str, program: str, body: str, subject: str = "Application") -> EmailMessage:
    msg = mailbox.make_message(sender, program, subject, body)
    return msg


def _parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


@pytest.fixture
def live(mailstack: dict[str, Any], db_url: str, tmp_path: Path) -> Live:
    return Live.create(mailstack, db_url, tmp_path / "live")


def test_applications_get_answers_in_their_language(live: Live) -> None:
    stack = live.stack
    ana = mailbox.new_user(stack, "ana", "example.net")
    zoe = mailbox.new_user(stack, "zoe", "example.org")
    tom = mailbox.new_user(stack, "tom", "example.org")
    mailbox.send(
        stack,
        _form(
            ana,
            live.program,
            "Hola:\n\nNombre: Ana García\nPaís: España\nInstitución: Biblioteca de Sevilla\n"
            "Sector: público\nEtapa profesional: mitad de carrera\n"
            "Intereses: lectura; alfabetización\n",
        ),
        ana,
        live.program,
    )
    mailbox.send(
        stack,
        _form(
            zoe,
            live.program,
            "Bonjour,\n\nNom : Zoé Martin\nPays : Canada\nÉtablissement : BAnQ\nSecteur : public\n"
            "Étape de carrière : nouveau professionnel\nIntérêts : numérique, jeunesse\n",
        ),
        zoe,
        live.program,
    )
    mailbox.send(
        stack,
        _form(
            tom,
            live.program,
            "Name: Tom\nCountry: Atlantis\nInstitution: Leeds\nSector: libraries\n"
            "Interests: maps\n",
        ),
        tom,
        live.program,
    )
    mailbox.wait_for(stack, live.program, 3)

    out = live.cli("tick", "--now", NOW)
    # three answers, and the coordinators' first weekly digest (new applications)
    assert "3 in" in out.stdout and "4 sent" in out.stdout, out.stdout

    [ana_reply] = [_parse(r) for r in mailbox.wait_for(stack, ana, 1)]
    [zoe_reply] = [_parse(r) for r in mailbox.wait_for(stack, zoe, 1)]
    [tom_reply] = [_parse(r) for r in mailbox.wait_for(stack, tom, 1)]
    ana_text = ana_reply.get_body(("plain",)).get_content()
    assert "Biblioteca de Sevilla" in ana_text and "España" in ana_text
    assert ana_reply["Auto-Submitted"] == "auto-generated"
    route = tokens.read_tag(ana_reply["Reply-To"].addresses[0].addr_spec, live.program, SECRET)
    assert route is not None and route[0] is Route.REPLY
    assert "Canada" in zoe_reply.get_body(("plain",)).get_content()
    tom_text = tom_reply.get_body(("plain",)).get_content()
    assert "Atlantis" in tom_text and "Career stage" in tom_text
    # Everything was filed: nothing left in the program's INBOX.
    assert mailbox.folder_count(stack, live.program, "INBOX") == 0
    assert mailbox.folder_count(stack, live.program, "Processed") == 3


def test_a_bounce_of_our_own_answer_is_recorded_not_answered(live: Live) -> None:
    stack = live.stack
    sender = mailbox.new_user(stack, "sam", "example.org")
    mailbox.send(stack, _form(sender, live.program, "HELP", subject="help"), sender, live.program)
    mailbox.wait_for(stack, live.program, 1)
    live.cli("tick", "--now", NOW)
    [help_mail] = [_parse(r) for r in mailbox.wait_for(stack, sender, 1)]
    bounce = EmailMessage()
    bounce["From"] = "MAILER-DAEMON@example.org"
    bounce["To"] = help_mail["Reply-To"].addresses[0].addr_spec
    bounce["Subject"] = "Delivery Status Notification (Failure)"
    bounce["Message-ID"] = "<dsn-1@example.org>"
    bounce.set_content(f"Delivery to the following recipient failed permanently:\n\n    {sender}\n")
    mailbox.send(stack, bounce, "", live.program)
    mailbox.wait_for(stack, live.program, 1)
    out = live.cli("tick", "--now", "2027-01-12T10:00:00Z")
    assert "bounce 1" in out.stdout and "0 sent" in out.stdout, out.stdout


def test_check_config_connects(live: Live) -> None:
    assert "configuration OK" in live.cli("check-config", "--connect").stdout
    live.env["MAILBOT_IMAP_PASSWORD"] = "wrong"
    bad = live.cli("check-config", "--connect", check=False)
    assert bad.returncode != 0 and "mailbox" in bad.stderr


def test_the_daemon_answers_within_one_poll_and_stops_cleanly_on_sigterm(live: Live) -> None:
    import signal
    import subprocess
    import sys
    import time

    stack = live.stack
    ana = mailbox.new_user(stack, "ana", "example.net")
    assert live.cli("health", check=False).returncode == 1  # no daemon yet: not healthy
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailbot", "run", "--config", str(live.config)],
        env=live.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        body = (
            "Name: Ana\nCountry: Spain\nInstitution: Biblioteca\nSector: public\n"
            "Career stage: senior\nInterests: maps\n"
        )
        mailbox.send(stack, _form(ana, live.program, body), ana, live.program)
        [reply] = [_parse(r) for r in mailbox.wait_for(stack, ana, 1, timeout=30)]
        assert "Biblioteca" in reply.get_body(("plain",)).get_content()
        alive = live.cli("health", check=False)  # the daemon's heartbeat, beside its lock
        assert alive.returncode == 0 and "healthy" in alive.stdout, alive.stdout
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert time.monotonic() - started < 15
    finally:
        if proc.poll() is None:
            proc.kill()
    assert mailbox.folder_count(stack, live.program, "INBOX") == 0


def test_the_daemon_waits_out_a_locked_database_and_loses_nothing(
    mailstack: dict[str, Any], tmp_path: Path
) -> None:
    """Another writer holds the SQLite lock while an application arrives: the daemon says the
    database is unavailable (no traceback), answers nothing, quarantines nothing; once the lock
    is gone, the next poll answers the application, once."""
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    db_file = tmp_path / "locked.sqlite3"
    live = Live.create(mailstack, f"sqlite:///{db_file}?timeout=0.2", tmp_path / "live")
    stack = live.stack
    ana = mailbox.new_user(stack, "ana", "example.net")
    log_path = tmp_path / "daemon.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailbot", "run", "--config", str(live.config)],
            env=live.env,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    other: sqlite3.Connection | None = None
    try:
        deadline = time.monotonic() + 30
        while b"mailbot running" not in log_path.read_bytes():
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        other = sqlite3.connect(db_file, timeout=5, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        body = (
            "Name: Ana\nCountry: Spain\nInstitution: Biblioteca\nSector: public\n"
            "Career stage: senior\nInterests: maps\n"
        )
        mailbox.send(stack, _form(ana, live.program, body), ana, live.program)
        deadline = time.monotonic() + 30
        while b"database unavailable: OperationalError: database is locked" not in (
            log_path.read_bytes()
        ):
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        assert mailbox.folder_count(stack, ana, "INBOX") == 0  # nothing answered meanwhile
        other.rollback()
        other.close()
        other = None
        [reply] = [_parse(r) for r in mailbox.wait_for(stack, ana, 1, timeout=30)]
        assert "Biblioteca" in reply.get_body(("plain",)).get_content()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if other is not None:
            other.close()
        if proc.poll() is None:
            proc.kill()
    log = log_path.read_text()
    assert "Traceback" not in log.split("database is locked")[0].split("mailbot running")[-1]
    assert mailbox.folder_count(stack, live.program, "INBOX") == 0
    assert mailbox.folder_count(stack, live.program, "Quarantine") == 0
    assert mailbox.folder_count(stack, ana, "INBOX") == 1
