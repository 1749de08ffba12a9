"""Talk to the test mail stack the plain way (stdlib smtplib/imaplib, synchronous).

`stack` is the dict the `mailstack` fixture gives (tests/conftest.py).  Logins are full
addresses; passwords come from the stack's users file ("<localpart>-pass" by convention).

    send(stack, msg, "bob@example.org", "alice+tag@example.org")
    raws = wait_for(stack, "alice@example.org", 1)        # polls STATUS every 30 ms
    clear(stack, "alice@example.org")

Delivery is asynchronous (SMTP 250 -> Postfix queue -> LMTP -> Maildir, ~10-70 ms), so tests
wait with wait_for(), never with a fixed sleep.  A failed login costs 0.5 s in Dovecot.
"""

from __future__ import annotations

import contextlib
import email.message
import email.policy
import imaplib
import os
import pathlib
import re
import smtplib
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

Stack = Mapping[str, Any]

POLL_INTERVAL = 0.03  # seconds between STATUS polls in wait_for
_ROOT = pathlib.Path(__file__).resolve().parents[2]

# one LIST response line: (\Flags) "/" name   -- name quoted or an atom
_LIST_RE = re.compile(rb'^\((?P<flags>[^)]*)\) (?P<delim>"[^"]*"|NIL) (?P<name>.+)$')


def password_for(stack: Stack, user: str) -> str:
    """The password of `user`: from the fixture's USERS, the users file (adduser), or convention."""
    user = user.lower()
    users: Mapping[str, str] = stack.get("USERS", {})
    if user in users:
        return users[user]
    users_file = stack.get("MAILSTACK_USERS_FILE")
    if users_file:
        for line in pathlib.Path(users_file).read_text().splitlines():
            parts = line.split(maxsplit=1)
            if len(parts) == 2 and parts[0] == user:
                return parts[1]
    return f"{user.partition('@')[0]}-pass"


def _quote(mailbox: str) -> str:
    """IMAP quoted string for a mailbox name (imaplib sends arguments verbatim)."""
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(typ: str, data: Any, what: str) -> Any:
    if typ != "OK":
        raise AssertionError(f"IMAP {what} failed: {typ} {data!r}")
    return data


@contextlib.contextmanager
def imap_login(stack: Stack, user: str) -> Iterator[imaplib.IMAP4]:
    """An IMAP connection logged in as `user` (closed, with LOGOUT, on exit)."""
    port = int(stack["MAILSTACK_IMAP_PORT"])
    with imaplib.IMAP4(stack["MAILSTACK_HOST"], port, timeout=10) as im:
        im.login(user, password_for(stack, user))
        yield im


def send(
    stack: Stack,
    message: bytes | email.message.EmailMessage,
    mail_from: str,
    rcpt_to: str | Sequence[str],
) -> dict[str, tuple[int, bytes]]:
    """Send one message over plain SMTP with the given envelope; returns refused recipients."""
    rcpts = [rcpt_to] if isinstance(rcpt_to, str) else list(rcpt_to)
    raw = (
        message.as_bytes(policy=email.policy.SMTP)
        if isinstance(message, email.message.EmailMessage)
        else message
    )
    port = int(stack["MAILSTACK_SMTP_PORT"])
    with smtplib.SMTP(stack["MAILSTACK_HOST"], port, timeout=10) as smtp:
        return smtp.sendmail(mail_from, rcpts, raw)


def folder_count(stack: Stack, user: str, folder: str = "INBOX") -> int:
    """Number of messages in `folder` (IMAP STATUS MESSAGES; does not select it)."""
    with imap_login(stack, user) as im:
        return _status_messages(im, folder)


def _status_messages(im: imaplib.IMAP4, folder: str) -> int:
    data = _check(*im.status(_quote(folder), "(MESSAGES)"), f"STATUS {folder}")
    match = re.search(rb"MESSAGES (\d+)", data[0])
    if not match:
        raise AssertionError(f"unexpected STATUS answer: {data!r}")
    return int(match.group(1))


def _fetch_selected(im: imaplib.IMAP4, folder: str) -> list[bytes]:
    typ, data = im.select(_quote(folder), readonly=True)
    _check(typ, data, f"SELECT {folder}")
    if int(data[0]) == 0:
        return []
    data = _check(*im.fetch("1:*", "(BODY.PEEK[])"), f"FETCH {folder}")
    # literals come back as (b'N (BODY[] {size}', b'<message>') tuples, in sequence order
    return [item[1] for item in data if isinstance(item, tuple)]


def fetch_all(stack: Stack, user: str, folder: str = "INBOX") -> list[bytes]:
    """Every message in `folder`, raw bytes, oldest first (read-only: flags stay unchanged)."""
    with imap_login(stack, user) as im:
        return _fetch_selected(im, folder)


def wait_for(
    stack: Stack, user: str, count: int, folder: str = "INBOX", timeout: float = 10.0
) -> list[bytes]:
    """Wait until `folder` holds at least `count` messages; return all of them (raw bytes).

    Polls STATUS every 30 ms over one connection; raises AssertionError after `timeout` s.
    """
    deadline = time.monotonic() + timeout
    with imap_login(stack, user) as im:
        while True:
            have = _status_messages(im, folder)
            if have >= count:
                return _fetch_selected(im, folder)
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"{user} {folder}: {have} message(s) after {timeout}s, expected {count}"
                )
            time.sleep(POLL_INTERVAL)


def list_folders(stack: Stack, user: str) -> list[str]:
    """Names of all selectable folders of `user`."""
    with imap_login(stack, user) as im:
        return _list_selectable(im)


def _list_selectable(im: imaplib.IMAP4) -> list[str]:
    names = []
    for line in _check(*im.list(), "LIST"):
        if not isinstance(line, bytes):
            continue  # a literal name (unusual characters): not produced by our tests
        match = _LIST_RE.match(line)
        if not match or b"\\noselect" in match.group("flags").lower():
            continue
        name = match.group("name")
        if name.startswith(b'"') and name.endswith(b'"'):
            name = name[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
        names.append(name.decode())
    return names


def clear(stack: Stack, user: str) -> None:
    """Delete every message in every folder of `user` (\\Deleted + EXPUNGE); folders stay."""
    with imap_login(stack, user) as im:
        for folder in _list_selectable(im):
            typ, data = im.select(_quote(folder))
            _check(typ, data, f"SELECT {folder}")
            if int(data[0]):
                _check(*im.store("1:*", "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
                _check(*im.expunge(), "EXPUNGE")
            im.close()


def append(
    stack: Stack, user: str, raw: bytes | email.message.EmailMessage, folder: str = "INBOX"
) -> None:
    """Put a message into `folder` with IMAP APPEND (creating the folder if it is missing)."""
    data = (
        raw.as_bytes(policy=email.policy.SMTP)
        if isinstance(raw, email.message.EmailMessage)
        else raw
    )
    with imap_login(stack, user) as im:
        typ, resp = im.append(_quote(folder), None, None, data)
        if typ != "OK" and b"TRYCREATE" in b" ".join(r for r in resp if isinstance(r, bytes)):
            _check(*im.create(_quote(folder)), f"CREATE {folder}")
            typ, resp = im.append(_quote(folder), None, None, data)
        _check(typ, resp, f"APPEND {folder}")


# fresh logins made ahead, per (stack dir, prefix, domain): adding logins costs up to 1 s per
# mailstack.sh adduser call (Dovecot re-reads its passwd file at most once a second), so they
# are added NEW_USER_BATCH at a time.  Per process, so pytest-xdist workers never share one.
NEW_USER_BATCH = 16
_spare_users: dict[tuple[str, str, str, str], list[str]] = {}


def new_user(stack: Stack, prefix: str = "t", domain: str = "example.org", fields: str = "") -> str:
    """A login nobody else uses (unique address, password "<localpart>-pass"), ready to use;
    `fields`: Dovecot extra fields for it (`MAILSTACK_USER_FIELDS` of scripts/mailstack.sh).

    Gives a test a mailbox nobody else writes to, e.g. under pytest-xdist with a shared stack.
    """
    stack_dir = str(stack["MAILSTACK_DIR"])
    spare = _spare_users.setdefault((stack_dir, prefix, domain, fields), [])
    if not spare:
        fresh = [f"{prefix}-{uuid.uuid4().hex[:10]}@{domain}" for _ in range(NEW_USER_BATCH)]
        pairs = [x for addr in fresh for x in (addr, f"{addr.partition('@')[0]}-pass")]
        subprocess.run(
            [str(_ROOT / "scripts" / "mailstack.sh"), "adduser", stack_dir, *pairs],
            check=True,
            capture_output=True,
            env={**os.environ, "MAILSTACK_USER_FIELDS": fields},
        )
        spare.extend(fresh)
    return spare.pop(0)


def make_message(
    mail_from: str, to: str, subject: str | None = None, body: str = "hello\n"
) -> email.message.EmailMessage:
    """A small text message with a unique Message-ID (and a unique subject unless given)."""
    msg = email.message.EmailMessage()
    msg["From"] = mail_from
    msg["To"] = to
    msg["Subject"] = subject or f"test {uuid.uuid4().hex}"
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@test.mailbot>"
    msg.set_content(body)
    return msg
