"""`check-config --connect --self-test` against real Dovecot + Postfix: capabilities listed, the
plus-addressed test mail found in the watched folder and removed; a folder it never reaches, or
an account that keeps what is expunged, is a clear failure that says what to do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.live import Live
from tests.support import mailbox

pytestmark = pytest.mark.integration


def test_self_test_finds_the_plus_addressed_mail_and_removes_it(
    mailstack: dict[str, Any], db_url: str, tmp_path: Path
) -> None:
    live = Live.create(mailstack, db_url, tmp_path)
    live.cli("db", "upgrade")
    result = live.cli("check-config", "--connect", "--self-test", "--wait", "30")
    out = result.stdout
    assert "IDLE" in out and "UIDPLUS" in out  # Dovecot offers both
    assert "smtp " in out
    local, domain = live.program.split("@")
    assert f"mail to {local}+r-selftest" in out and f"@{domain} arrived in INBOX" in out
    assert "once expunged, no folder of the account holds it" in out
    assert mailbox.folder_count(mailstack, live.program) == 0  # removed, nothing left behind


def test_self_test_says_when_the_account_keeps_what_is_expunged(
    mailstack: dict[str, Any], db_url: str, tmp_path: Path
) -> None:
    # Dovecot's lazy_expunge moves what is expunged to "Deleted": as Gmail archives it to All
    # Mail, or a server's "move deleted mail to Trash"; partner mail would be kept the same way.
    keeps = "userdb_mail_plugins=lazy_expunge userdb_lazy_expunge=Deleted"
    live = Live.create(mailstack, db_url, tmp_path, program_fields=keeps)
    live.cli("db", "upgrade")
    result = live.cli("check-config", "--self-test", "--wait", "30", check=False)
    assert result.returncode == 1
    said = " ".join((result.stdout + result.stderr).split())
    assert "arrived in INBOX" in said  # the delivery part worked
    assert "is still in Deleted: this account keeps expunged mail" in said
    assert "lazy_expunge" in said  # what to change, for a generic server
    assert mailbox.folder_count(mailstack, live.program, "Deleted") == 1


def test_self_test_says_when_plus_addressed_mail_never_reaches_the_watched_folder(
    mailstack: dict[str, Any], db_url: str, tmp_path: Path
) -> None:
    live = Live.create(mailstack, db_url, tmp_path)
    other = mailbox.new_user(mailstack, "elsewhere")
    # the daemon watches another mailbox than the one the program address delivers to
    live.config.write_text(
        live.config.read_text().replace(f'username = "{live.program}"', f'username = "{other}"')
    )
    live.env["MAILBOT_IMAP_PASSWORD"] = mailbox.password_for(mailstack, other)
    live.cli("db", "upgrade")
    result = live.cli("check-config", "--self-test", "--wait", "3", check=False)
    assert result.returncode == 1
    said = " ".join((result.stdout + result.stderr).split())
    assert "did not arrive in INBOX" in said and "recipient_delimiter" in said
    assert mailbox.folder_count(mailstack, other) == 0
