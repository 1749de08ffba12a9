"""Rendered text + addressing → an `EmailMessage` with the headers EMAIL-RULES.md asks for.

Decides the outbound headers: Auto-Submitted, a Message-ID derived from the idempotency key,
X-Loop, threading, List-Unsubscribe on bulk mail. Display names with non-ASCII characters
are RFC 2047-encoded by the email package; CR/LF from user input never reaches a header.
"""

from __future__ import annotations

import binascii
import unicodedata
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


# Bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069): they can make a
# name display as other text. Other format characters stay: ZWNJ and ZWJ are spelling
# (Persian علی‌رضا, many Indic scripts).
_BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
# Controls (CR, LF, TAB ...), line and paragraph separators, lone surrogates (unwritable).
_DROPPED = frozenset({"Cc", "Zl", "Zp", "Cs"})


def one_line(text: str, limit: int = 200) -> str:
    """User-supplied text safe for a header: no CR/LF, no control characters, no bidi
    overrides, runs of white space made one space, bounded."""
    if not text.isprintable():
        text = "".join(
            " " if ch in _BIDI_CONTROLS or unicodedata.category(ch) in _DROPPED else ch
            for ch in text
        )
    return " ".join(text.split())[:limit]


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

_MAX_LINE = 78  # a text line sent as it is (RFC 5322 §2.1.1)
_QP_LINE = 76  # a quoted-printable line (RFC 2045 §6.7)
_WORD_LINE = 76  # a header line holding an encoded word (RFC 2047 §2)


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


def _room(width: int) -> int:
    """Bytes of text a 'B' encoded word of at most `width` characters holds."""
    return (width - len("=?utf-8?b??=")) // 4 * 3


def _encoded_words(text: str, used: int) -> str:
    """RFC 2047 'B' encoded words, split between characters so that no line holding one is
    longer than 76 characters: the first word starts `used` characters into its line, the
    others on continuation lines of their own. The folding whitespace between them is not
    part of the text."""
    words: list[bytes] = []
    chunk = bytearray()
    room = _room(_WORD_LINE - used)
    for ch in text:
        data = ch.encode("utf-8")
        if chunk and len(chunk) + len(data) > room:
            words.append(bytes(chunk))
            chunk, room = bytearray(), _room(_WORD_LINE - 1)
        chunk += data
    words.append(bytes(chunk))
    return "\r\n ".join(
        f"=?utf-8?b?{binascii.b2a_base64(w, newline=False).decode('ascii')}?=" for w in words
    )


def _mailbox(name: str, addr: str, used: int) -> str:
    """One mailbox starting `used` characters into its line; the address goes on a line of
    its own when it would make the last encoded word's line too long (with a comma)."""
    name = one_line(name, 100)
    if name.isascii():
        return formataddr((name, addr))  # quoted when it needs to be
    words = _encoded_words(name, used)
    last = words.rsplit("\r\n", 1)
    width = (used if len(last) == 1 else 0) + len(last[-1]) + len(f" <{addr}>,")
    sep = " " if width <= _WORD_LINE else "\r\n "
    return f"{words}{sep}<{addr}>"


def _mailboxes(pairs: Iterable[tuple[str, str]], used: int) -> str:
    """Mailboxes one a line, the first `used` characters into the header's first line."""
    return ",\r\n ".join(_mailbox(n, a, used if i == 0 else 1) for i, (n, a) in enumerate(pairs))


def _unstructured(value: str, used: int) -> str:
    return value if value.isascii() else _encoded_words(value, used)


def _body(text: str) -> tuple[str, str]:
    """(Content-Transfer-Encoding, body with CRLF): the choice `set_content` makes, except
    that 8-bit text is always encoded, so the bytes suit any server."""
    lines = text.encode("utf-8").splitlines()
    body = b"\n".join(lines) + b"\n"
    if max((len(x) for x in lines), default=0) <= _MAX_LINE and body.isascii():
        return "7bit", body.decode("ascii").replace("\n", "\r\n")
    qp = quoprimime.body_encode(body.decode("latin-1"), _QP_LINE)
    b64 = binascii.b2a_base64(body, newline=False).decode("ascii")
    if len(b64) < len(qp):
        return "base64", "".join(b64[i : i + 76] + "\r\n" for i in range(0, len(b64), 76))
    return "quoted-printable", qp.replace("\n", "\r\n")


def _plain_wire(env: Envelope, subject: str, text: str, now: datetime) -> bytes:
    cte, body = _body(text)
    head = [
        ("From", _mailbox(env.program_name, env.program_address, len("From: "))),
        ("To", _mailboxes(env.to, len("To: "))),
    ]
    if env.cc:
        head.append(("Cc", _mailboxes(env.cc, len("Cc: "))))
    if env.reply_to:
        head.append(("Reply-To", _mailboxes((("", a) for a in _reply_to(env)), len("Reply-To: "))))
    head.append(("Subject", _unstructured(subject, len("Subject: "))))
    head += _trace_headers(env, now)
    head += [
        ("MIME-Version", "1.0"),
        ("Content-Type", 'text/plain; charset="utf-8"'),
        ("Content-Transfer-Encoding", cte),
    ]
    lines = "".join(f"{k}: {v}\r\n" for k, v in head)
    return (lines + "\r\n" + body).encode("ascii")
