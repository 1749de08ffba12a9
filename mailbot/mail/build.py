"""Rendered text + addressing → an `EmailMessage` with the headers EMAIL-RULES.md asks for.

Decides the outbound headers: Auto-Submitted, a Message-ID derived from the idempotency key,
X-Loop, threading, List-Unsubscribe on bulk mail. Display names with non-ASCII characters
are RFC 2047-encoded by the email package; CR/LF from user input never reaches a header.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email import quoprimime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from mailbot.domain.model import WireMessage


@dataclass(frozen=True)
class Envelope:
    program_name: str
    program_address: str
    to: tuple[tuple[str, str], ...]  # (display name, address)
    cc: tuple[tuple[str, str], ...]
    reply_to: str
    message_id: str  # without <>
    in_reply_to: str = ""
    key: str = ""
    unsubscribe: str = ""  # mailto: address for List-Unsubscribe on bulk mail
    # (filename, mime type, text or bytes, content-id): a content-id puts an image inline
    attachments: tuple[tuple[str, str, str | bytes, str], ...] = ()


def one_line(text: str, limit: int = 200) -> str:
    """User-supplied text safe for a header: no CR/LF, no control characters, bounded."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(cleaned.split())[:limit]


def _address(name: str, addr: str) -> Address:
    local, _, domain = addr.rpartition("@")
    return Address(display_name=one_line(name, 100), username=local, domain=domain)


def build_message(
    env: Envelope, subject: str, text: str, html: str | None, now: datetime
) -> EmailMessage | WireMessage:
    """The message to send. Plain text to ASCII addresses — nearly all of mailbot's mail — is
    written out directly (`WireMessage`), some twenty times faster than through the `email` header
    registry and generator; HTML, attachments and internationalised addresses go through
    `email`. Both read the same (tests/unit/test_build.py)."""
    subject = one_line(subject, 250)
    if _plain(env, subject, html):
        return WireMessage(_plain_wire(env, subject, text, now), subject)
    return _composed(env, subject, text, html, now)


def _reply_to(env: Envelope) -> list[str]:
    return [a.strip() for a in env.reply_to.split(",") if a.strip()]


def _trace_headers(env: Envelope, now: datetime) -> list[tuple[str, str]]:
    """Date to Precedence: the headers both writers set the same way, in the same order."""
    head = [("Date", format_datetime(now)), ("Message-ID", f"<{env.message_id}>")]
    if env.in_reply_to:
        head += [("In-Reply-To", f"<{env.in_reply_to}>"), ("References", f"<{env.in_reply_to}>")]
    head += [
        ("Auto-Submitted", "auto-generated"),
        ("X-Auto-Response-Suppress", "All"),
        ("X-Loop", env.program_address),
    ]
    if env.key:
        head.append(("X-Mailbot-Key", one_line(env.key, 300)))
    if env.unsubscribe:
        # mailto only: RFC 8058 one-click needs an HTTPS endpoint, which mailbot does not run.
        head += [
            ("List-Unsubscribe", f"<mailto:{env.unsubscribe}?subject=WITHDRAW>"),
            ("Precedence", "bulk"),
        ]
    return head


def _composed(
    env: Envelope, subject: str, text: str, html: str | None, now: datetime
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = _address(env.program_name, env.program_address)
    msg["To"] = [_address(n, a) for n, a in env.to]
    if env.cc:
        msg["Cc"] = [_address(n, a) for n, a in env.cc]
    if env.reply_to:
        msg["Reply-To"] = [_address("", a) for a in _reply_to(env)]
    msg["Subject"] = one_line(subject, 250)  # a no-op after build_message; kept for direct use
    for name, value in _trace_headers(env, now):
        msg[name] = value
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    for filename, mime, data, cid in env.attachments:
        maintype, _, subtype = mime.partition("/")
        name = one_line(filename)
        if cid and html:
            html_part = msg.get_body(("html",))
            assert html_part is not None
            raw = data if isinstance(data, bytes) else data.encode()
            html_part.add_related(
                raw,
                maintype=maintype,
                subtype=subtype,
                cid=f"<{cid}>",
                filename=name,
                disposition="inline",
            )
        elif isinstance(data, str) and maintype == "text":
            msg.add_attachment(data, subtype=subtype, filename=name)
        else:
            raw = data if isinstance(data, bytes) else data.encode()
            msg.add_attachment(raw, maintype=maintype, subtype=subtype, filename=name)
    return msg


# --------------------------------------------------------------------------- the direct path

_MAX_LINE = 78


def _plain(env: Envelope, subject: str, html: str | None) -> bool:
    """What the direct writer handles: one text part, ASCII addresses and key, and no text
    that a reader could take for an RFC 2047 encoded word."""
    if html or env.attachments:
        return False
    addresses = [env.program_address, *(a for _, a in env.to), *(a for _, a in env.cc)]
    addresses += [env.reply_to, env.unsubscribe, env.message_id, env.in_reply_to, env.key]
    if not all(a.isascii() for a in addresses):
        return False
    words = [subject, env.program_name, *(n for n, _ in env.to), *(n for n, _ in env.cc)]
    return not any("=?" in w for w in words)


def _encoded_words(text: str) -> str:
    """RFC 2047 'B' encoded words of at most 45 bytes of text each (72 characters), split
    between characters; the folding whitespace between them is not part of the text."""
    words: list[bytes] = []
    chunk = bytearray()
    for ch in text:
        data = ch.encode("utf-8")
        if len(chunk) + len(data) > 45:
            words.append(bytes(chunk))
            chunk = bytearray()
        chunk += data
    words.append(bytes(chunk))
    return "\r\n ".join(
        f"=?utf-8?b?{binascii.b2a_base64(w, newline=False).decode('ascii')}?=" for w in words
    )


def _mailbox(name: str, addr: str) -> str:
    name = one_line(name, 100)
    if name.isascii():
        return formataddr((name, addr))  # quoted when it needs to be
    return f"{_encoded_words(name)} <{addr}>"


def _mailboxes(pairs: Iterable[tuple[str, str]]) -> str:
    return ",\r\n ".join(_mailbox(n, a) for n, a in pairs)


def _unstructured(value: str) -> str:
    return value if value.isascii() else _encoded_words(value)


def _body(text: str) -> tuple[str, str]:
    """(Content-Transfer-Encoding, body with CRLF): the choice `set_content` makes, except
    that 8-bit text is always encoded, so the bytes suit any server."""
    lines = text.encode("utf-8").splitlines()
    body = b"\n".join(lines) + b"\n"
    if max((len(x) for x in lines), default=0) <= _MAX_LINE and body.isascii():
        return "7bit", body.decode("ascii").replace("\n", "\r\n")
    qp = quoprimime.body_encode(body.decode("latin-1"), _MAX_LINE)
    b64 = binascii.b2a_base64(body, newline=False).decode("ascii")
    if len(b64) < len(qp):
        return "base64", "".join(b64[i : i + 76] + "\r\n" for i in range(0, len(b64), 76))
    return "quoted-printable", qp.replace("\n", "\r\n")


def _plain_wire(env: Envelope, subject: str, text: str, now: datetime) -> bytes:
    cte, body = _body(text)
    head = [
        ("From", _mailbox(env.program_name, env.program_address)),
        ("To", _mailboxes(env.to)),
    ]
    if env.cc:
        head.append(("Cc", _mailboxes(env.cc)))
    if env.reply_to:
        head.append(("Reply-To", _mailboxes(("", a) for a in _reply_to(env))))
    head.append(("Subject", _unstructured(subject)))
    head += _trace_headers(env, now)
    head += [
        ("MIME-Version", "1.0"),
        ("Content-Type", 'text/plain; charset="utf-8"'),
        ("Content-Transfer-Encoding", cte),
    ]
    lines = "".join(f"{k}: {v}\r\n" for k, v in head)
    return (lines + "\r\n" + body).encode("ascii")
