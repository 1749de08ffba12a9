"""The command line as an operator uses it: match preview, rounds, inspect, check-config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.edges.tables import Pair, Proposal, RoundRow
from tests.flows.test_matching_flow import PEOPLE, _apply
from tests.support.program import SECRET, Program

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eml"


def run(config: Program | Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m mailbot ARGS --config …` with the test secret; a Program or a config path."""
    path = config.config if isinstance(config, Program) else config
    extra = ["--config", str(path)] if path else []
    return subprocess.run(
        [sys.executable, "-m", "mailbot", *args, *extra],
        capture_output=True,
        text=True,
        env=dict(os.environ, MAILBOT_PROGRAM_SECRET=SECRET, COLUMNS="200"),
        timeout=120,
    )


def test_match_preview_prints_pairs_and_writes_csv_but_changes_nothing(
    tmp_path: Path, db_url: str
) -> None:
    prog = Program.create(tmp_path / "p", db_url)
    _apply(prog)
    out = run(prog, "match", "--round", "2027A", "--csv", str(tmp_path / "p.csv"))
    assert out.returncode == 0, out.stderr
    assert "pairs: 3" in out.stdout and "countries: 6" in out.stdout
    csv_text = (tmp_path / "p.csv").read_text()
    assert all(name in csv_text for _, name, *_ in PEOPLE)
    assert prog.query(select(Proposal)) == [] and prog.query(select(Pair)) == []
    bad = run(prog, "match", "--round", "nope")
    assert bad.returncode == 2 and "2027A" in bad.stderr
    prog.close()


def test_round_create_and_list(tmp_path: Path) -> None:
    prog = Program.create(tmp_path / "p", f"sqlite:///{tmp_path / 'db.sqlite3'}")

    def create(name: str, opens: str, closes: str, start: str) -> subprocess.CompletedProcess[str]:
        return run(
            prog,
            "round",
            "create",
            name,
            "--applications-open",
            opens,
            "--applications-close",
            closes,
            "--start",
            start,
        )

    ok = create("2027B", "2027-05-01", "2027-05-31", "2027-06-14")
    assert ok.returncode == 0, ok.stderr
    again = create("2027B", "2027-05-01", "2027-05-31", "2027-06-14")
    assert again.returncode == 2
    wrong = create("2027C", "2027-09-01", "2027-08-01", "2027-10-01")
    assert wrong.returncode == 2 and "dates" in wrong.stderr
    listing = run(prog, "round", "list")
    assert "2027A" in listing.stdout and "2027B" in listing.stdout
    names = [r.name for r in prog.query(select(RoundRow))]
    assert sorted(names) == ["2027A", "2027B"]
    prog.close()


def test_inspect_json_reports_kinds(tmp_path: Path) -> None:
    files = sorted(FIXTURES.glob("*.eml"))[:6]
    out = run(None, "inspect", "--json", *map(str, files))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["file"] for r in rows] == [str(f) for f in files]
    assert all(
        r["kind"]
        in {
            "application",
            "command",
            "reply",
            "auto_reply",
            "bounce",
            "loop",
            "duplicate",
            "unknown",
        }
        for r in rows
    )


def test_check_config_names_the_bad_key(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[imap]\ntls = "sometimes"\n')
    out = run(cfg, "check-config")
    assert out.returncode == 2 and "imap.tls" in out.stderr
    cfg.write_text('[smtp]\npassword = "hunter2"\n')
    out = run(cfg, "check-config")
    assert out.returncode == 2 and "MAILBOT_SMTP_PASSWORD" in out.stderr
    cfg.write_text("[smtp]\nconnections = 0\n")
    out = run(cfg, "check-config")
    assert out.returncode == 2 and "smtp.connections" in out.stderr
    cfg.write_text("[smtp]\ngive_up_after_days = 0\n")
    out = run(cfg, "check-config")
    assert out.returncode == 2 and "smtp.give_up_after_days" in out.stderr
    cfg.write_text("[smtp]\nmax_attempts = 8\n")  # retired: says what replaced it
    out = run(cfg, "check-config")
    assert out.returncode == 2 and "smtp.give_up_after_days" in out.stderr


def test_uncertain_mail_is_resent_once_by_itself_then_only_by_hand(tmp_path: Path) -> None:
    """A crash between claiming a row and hearing the server's answer leaves it uncertain:
    listed for the operator; sent once more by itself after the grace, with the same
    Message-ID; uncertain a second time, it waits for the operator, who can queue it again."""
    from sqlalchemy import update

    from mailbot.edges.tables import Outbox
    from tests.support.program import application

    prog = Program.create(tmp_path / "p", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    prog.put(application())
    prog.tick("2027-01-12T09:00:00Z")
    [first] = prog.sent_to("ana@example.net")

    def crash_mid_send() -> None:  # what a crash mid-send leaves behind: outcome unknown
        with prog.deps.db.transaction() as s:
            s.execute(
                update(Outbox)
                .where(Outbox.primary_to == "ana@example.net")
                .values(status="sending")
            )

    crash_mid_send()
    prog.tick("2027-01-12T09:01:00Z")
    assert len(prog.sent_to("ana@example.net")) == 1  # not within the grace
    listing = run(prog, "outbox", "uncertain")
    assert listing.returncode == 0, listing.stderr
    [key] = prog.query(select(Outbox.key).where(Outbox.status == "uncertain"))
    assert key in listing.stdout and "ana@example.net" in listing.stdout

    report = prog.tick("2027-01-12T09:20:00Z")  # the grace (15 minutes) has passed
    [_, second] = prog.sent_to("ana@example.net")
    assert second["Message-ID"] == first["Message-ID"]  # the same mail, the same id
    assert "1 resent" in report.summary()

    crash_mid_send()  # uncertain again: not resent a second time by itself
    prog.tick("2027-01-12T10:00:00Z")
    prog.tick("2027-01-13T10:00:00Z")
    assert len(prog.sent_to("ana@example.net")) == 2

    wrong = run(prog, "outbox", "resend", "no-such-key")
    assert wrong.returncode == 2 and "no such key" in wrong.stdout
    again = run(prog, "outbox", "resend", key)
    assert again.returncode == 0 and "queued again" in again.stdout
    prog.tick("2027-01-13T11:00:00Z")
    [*_, third] = prog.sent_to("ana@example.net")
    assert third["Message-ID"] == first["Message-ID"]
    assert run(prog, "outbox", "uncertain").stdout.strip() == "no uncertain mail"
    assert run(prog, "outbox", "resend", key).returncode == 2  # sent now: not again
    prog.close()


def test_health_reads_the_daemons_heartbeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mailbot health` (the container's HEALTHCHECK) judges the heartbeat file the daemon
    keeps beside its lock: none, fresh, stale, failing logins."""
    from datetime import UTC, datetime, timedelta

    from mailbot.app import heartbeat_path
    from mailbot.domain.liveness import Heartbeat
    from mailbot.edges import heartbeat

    monkeypatch.setenv("MAILBOT_LOCK_DIR", str(tmp_path))
    prog = Program.create(tmp_path / "p", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    path = heartbeat_path(prog.deps.settings)
    now = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)

    def health() -> subprocess.CompletedProcess[str]:
        return run(prog, "health", "--now", now.isoformat())

    none = health()
    assert none.returncode == 1 and "no cycle recorded" in none.stdout
    heartbeat.write(path, Heartbeat(last_ok_at=now - timedelta(seconds=40)))
    fresh = health()
    assert fresh.returncode == 0 and "healthy" in fresh.stdout
    heartbeat.write(path, Heartbeat(last_ok_at=now - timedelta(hours=5)))
    assert health().returncode == 1
    heartbeat.write(
        path, Heartbeat(last_ok_at=now, failures_in_row=4, last_error="ImapError: LOGIN failed")
    )
    failing = health()
    assert failing.returncode == 1 and "LOGIN failed" in failing.stdout
    prog.close()


def test_tick_logs_json_lines_with_the_message_and_outbox_ids(tmp_path: Path) -> None:
    from tests.support.program import application

    prog = Program.create(tmp_path / "p", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    prog.put(application(message_id="<form-1@example.net>"))
    args = ["tick", "--now", "2027-01-12T09:00:00Z", "--config", str(prog.config)]
    out = subprocess.run(
        [sys.executable, "-m", "mailbot", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, MAILBOT_PROGRAM_SECRET=SECRET, MAILBOT_LOG_FORMAT="json"),
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stderr.splitlines() if line.startswith("{")]
    inbound = [d for d in lines if d.get("message_id") == "form-1@example.net"]
    sent = [d for d in lines if d.get("outbox_key")]
    assert inbound and inbound[0]["logger"] == "mailbot.intake"
    assert sent and sent[0]["msg"].startswith("sent key=")
    prog.close()
