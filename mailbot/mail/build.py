"""Rendered text + addressing → an `EmailMessage` with the headers EMAIL-RULES.md asks for.

Decides the outbound headers: Auto-Submitted, a Message-ID derived from the idempotency key,
X-Loop, threading, List-Unsubscribe on bulk mail. Every value taken from the envelope or the
subject is made safe first, in one step (`_clean`, with `mail.headers`): names and subject
decoded and left on one line, addresses and message ids kept only when well formed. So no
user text adds a header line or a recipient, whichever writer writes the message.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email import quoprimime
from email.message import EmailMessage
from email.utils import format_datetime

from mailbot.domain.model import WireMessage
from mailbot.mail.headers import addr_spec, msg_id, one_line

__all__ = ["Envelope", "build_message", "one_line"]


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


_NAME = 100  # characters of a display name
_SUBJECT = 250
_KEY = 300


def build_message(
    env: Envelope, subject: str, text: str, html: str | None, now: datetime
) -> EmailMessage | WireMessage:
    """The message to send. Text, or text and HTML, to ASCII addresses — nearly all of
    mailbot's mail: answers, topics, introductions — is written out directly (`WireMessage`),
    some twenty times faster than through the `email` header registry and generator;
    attachments (the digest's chart) and internationalised addresses go through `email`. Both
    read the same (tests/unit/test_build.py), and neither lets user text add a header line or a
    recipient (tests/unit/test_header_injection.py)."""
    env, subject = _clean(env, subject)
    if _direct(env):
        return WireMessage(_wire(env, subject, text, html, now), subject)
    return _email_message(env, subject, text, html, now)


def _clean(env: Envelope, subject: str) -> tuple[Envelope, str]:
    """`env` and `subject` with every header value made safe: text through `one_line`, an
    address or message id that is not well formed dropped. Nothing else reaches a header.
    A program address or Message-ID of our own that is not well formed is a bug: raised."""
    program, message_id = addr_spec(env.program_address), msg_id(env.message_id)
    if not program or not message_id:
        raise ValueError(f"malformed sender or Message-ID: {env.program_address!r}, "
                         f"{env.message_id!r}")  # fmt: skip
    clean = replace(
        env,
        program_name=one_line(env.program_name, _NAME),
        program_address=program,
        to=_valid(env.to),
        cc=_valid(env.cc),
        reply_to=", ".join(a for a in (addr_spec(x.strip()) for x in env.reply_to.split(",")) if a),
        message_id=message_id,
        in_reply_to=msg_id(env.in_reply_to),
        key=one_line(env.key, _KEY),
        unsubscribe=addr_spec(env.unsubscribe),
        attachments=tuple(
            (one_line(filename), mime, data, msg_id(cid))
            for filename, mime, data, cid in env.attachments
        ),
    )
    return clean, one_line(subject, _SUBJECT)


def _valid(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The (name, address) pairs whose address is an addr-spec, names made one line."""
    valid = ((name, addr_spec(address)) for name, address in pairs)
    return tuple((one_line(name, _NAME), address) for name, address in valid if address)


def _composed(
    env: Envelope, subject: str, text: str, html: str | None, now: datetime
) -> EmailMessage:
    """The message as an `EmailMessage`, whichever writer `build_message` would pick."""
    return _email_message(*_clean(env, subject), text, html, now)


# --------------------------------------------------------------------------- the header block

_MAX_LINE = 78  # a text line sent as it is (RFC 5322 §2.1.1)
_QP_LINE = 76  # a quoted-printable line (RFC 2045 §6.7)
_WORD_LINE = 76  # a header line holding an encoded word (RFC 2047 §2)
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')  # a name holding one is quoted (RFC 5322 §3.2.3)
_ESCAPED = re.compile(r'[\\"]')


def _head(env: Envelope, subject: str, now: datetime) -> list[tuple[str, str]]:
    """From to Precedence, written out and folded (CRLF + space), for both writers alike.
    `env` and `subject` have been through `_clean`."""
    head = [("From", _mailboxes([(env.program_name, env.program_address)], len("From: ")))]
    if env.to:
        head.append(("To", _mailboxes(env.to, len("To: "))))
    if env.cc:
        head.append(("Cc", _mailboxes(env.cc, len("Cc: "))))
    if env.reply_to:
        reply_to = [("", a) for a in env.reply_to.split(", ")]
        head.append(("Reply-To", _mailboxes(reply_to, len("Reply-To: "))))
    head += [
        ("Subject", _unstructured(subject, len("Subject: "))),
        ("Date", _date(now, now.utcoffset())),
        ("Message-ID", f"<{env.message_id}>"),
    ]
    if env.in_reply_to:
        head += [("In-Reply-To", f"<{env.in_reply_to}>"), ("References", f"<{env.in_reply_to}>")]
    head += [
        ("Auto-Submitted", "auto-generated"),
        ("X-Auto-Response-Suppress", "All"),
        ("X-Loop", env.program_address),
    ]
    if env.key:
        head.append(("X-Mailbot-Key", _unstructured(env.key, len("X-Mailbot-Key: "))))
    if env.unsubscribe:
        # mailto only: RFC 8058 one-click needs an HTTPS endpoint, which mailbot does not run.
        head += [
            ("List-Unsubscribe", f"<mailto:{env.unsubscribe}?subject=WITHDRAW>"),
            ("Precedence", "bulk"),
        ]
    return head


@functools.lru_cache(maxsize=8)  # one `now` for a whole delivery pass
def _date(now: datetime, _offset: timedelta | None) -> str:
    """`now` as a Date header; keyed on the offset too, as one instant in two zones is equal."""
    return format_datetime(now)


def _room(width: int) -> int:
    """Bytes of text a 'B' encoded word of at most `width` characters holds."""
    return (width - len("=?utf-8?b??=")) // 4 * 3


def _encoded_words(text: str, used: int) -> str:
    """RFC 2047 'B' encoded words, split between characters so that no line holding one is
    longer than 76 characters: the first word starts `used` characters into its line, the
    others on continuation lines of their own. The folding whitespace between them is not
    part of the text."""
    data = text.encode("utf-8")
    words: list[bytes] = []
    start, room = 0, _room(_WORD_LINE - used)
    # Each word as many whole characters as its room holds (at least one): cut the UTF-8
    # bytes at the room, then back to the start of the character cut in two.
    while len(data) - start > room and start < len(data):
        cut = start + max(room, 0)
        while cut > start and data[cut] & 0xC0 == 0x80:
            cut -= 1
        if cut == start:  # not even one character fits: the first alone
            cut += 1
            while cut < len(data) and data[cut] & 0xC0 == 0x80:
                cut += 1
        words.append(data[start:cut])
        start, room = cut, _room(_WORD_LINE - 1)
    if start < len(data) or not words:
        words.append(data[start:])
    return "\r\n ".join(
        f"=?utf-8?b?{binascii.b2a_base64(w, newline=False).decode('ascii')}?=" for w in words
    )


def _mailbox(name: str, addr: str, used: int) -> str:
    """One mailbox starting `used` characters into its line: an ASCII name that fits is
    written as it is (quoted when it needs to be), any other as encoded words; the address
    goes on a line of its own when it would make the last line too long (with a comma)."""
    if not name:
        return addr
    if name.isascii():
        quoted = '"' + _ESCAPED.sub(r"\\\g<0>", name) + '"' if _SPECIALS.search(name) else name
        if used + len(quoted) + len(f" <{addr}>,") <= _MAX_LINE:
            return f"{quoted} <{addr}>"
    words = _encoded_words(name, used)
    last = words.rsplit("\r\n", 1)
    width = (used if len(last) == 1 else 0) + len(last[-1]) + len(f" <{addr}>,")
    sep = " " if width <= _WORD_LINE else "\r\n "
    return f"{words}{sep}<{addr}>"


def _mailboxes(pairs: Iterable[tuple[str, str]], used: int) -> str:
    """Mailboxes one a line, the first `used` characters into the header's first line. In a
    header with an address too long for a line of its own, no names: the `email` package
    refolds such a header, and Python 3.11's folding of names can move a comma into or out of
    an encoded word (a recipient lost or added: tests/unit/test_header_injection.py)."""
    pairs = list(pairs)
    if any(len(f" <{a}>,") > _MAX_LINE for _, a in pairs):
        pairs = [("", a) for _, a in pairs]
    return ",\r\n ".join(_mailbox(n, a, used if i == 0 else 1) for i, (n, a) in enumerate(pairs))


@functools.lru_cache(maxsize=512)  # a template's subject, the same for every row that uses it
def _unstructured(value: str, used: int) -> str:
    """`value` (one line, single spaces) folded at its spaces within 78 characters, or as
    encoded words when it is not ASCII or has a word too long for a line."""
    if not value.isascii():
        return _encoded_words(value, used)
    lines = [""]
    room = _MAX_LINE - used
    for word in value.split(" "):
        if lines[-1] and len(lines[-1]) + 1 + len(word) > room:
            lines.append(word)
            room = _MAX_LINE - 1  # after the folding space
        else:
            lines[-1] = f"{lines[-1]} {word}" if lines[-1] else word
    if len(lines[0]) > _MAX_LINE - used or any(len(x) > _MAX_LINE - 1 for x in lines[1:]):
        return _encoded_words(value, used)
    return "\r\n ".join(lines)


# --------------------------------------------------------------------------- the two writers


def _email_message(
    env: Envelope, subject: str, text: str, html: str | None, now: datetime
) -> EmailMessage:
    """The `email` package's message. Its header block is `_head`'s, stored as written
    (`set_raw`, lines within 78 characters so the package does not fold them again): the
    package never re-reads a value built from user text to write it anew, which would decode
    an encoded word in it, or let Python 3.11's folding move a comma between names."""
    msg = EmailMessage()
    for name, value in _head(env, subject, now):
        msg.set_raw(name, value)
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    for filename, mime, data, cid in env.attachments:
        maintype, _, subtype = mime.partition("/")
        if cid and html:
            html_part = msg.get_body(("html",))
            assert html_part is not None
            raw = data if isinstance(data, bytes) else data.encode()
            html_part.add_related(
                raw,
                maintype=maintype,
                subtype=subtype,
                cid=f"<{cid}>",
                filename=filename,
                disposition="inline",
            )
        elif isinstance(data, str) and maintype == "text":
            msg.add_attachment(data, subtype=subtype, filename=filename)
        else:
            raw = data if isinstance(data, bytes) else data.encode()
            msg.add_attachment(raw, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def _direct(env: Envelope) -> bool:
    """What the direct writer handles: no attachments, ASCII addresses and key."""
    if env.attachments:
        return False
    addresses = [env.program_address, *(a for _, a in env.to), *(a for _, a in env.cc)]
    addresses += [env.reply_to, env.unsubscribe, env.message_id, env.in_reply_to, env.key]
    return all(a.isascii() for a in addresses)


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


def _part(subtype: str, text: str) -> str:
    """One text part: its header lines, a blank line, the encoded body (ending in CRLF)."""
    cte, body = _body(text)
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {cte}\r\n\r\n{body}"
    )


def _boundary(message_id: str, parts: list[str]) -> str:
    """A multipart boundary that no line of the parts starts with (RFC 2046 §5.1.1): derived
    from the Message-ID, so the same row writes the same bytes. Quoted-printable and base64
    bodies cannot hold "=_"; a 7bit one could, and then a suffix is tried."""
    base = "=_mb" + hashlib.sha256(message_id.encode()).hexdigest()[:28]
    boundary, n = base, 0
    while any(f"\r\n--{boundary}" in f"\r\n{p}" for p in parts):
        n += 1
        boundary = f"{base}.{n}"
    return boundary


def _wire(env: Envelope, subject: str, text: str, html: str | None, now: datetime) -> bytes:
    """The direct writer: `_head`, then one text/plain part, or text/plain and text/html as
    multipart/alternative (as `set_content` + `add_alternative` make it)."""
    head = [*_head(env, subject, now), ("MIME-Version", "1.0")]
    if not html:
        lines = "".join(f"{k}: {v}\r\n" for k, v in head)
        return (lines + _part("plain", text)).encode("ascii")
    parts = [_part("plain", text), _part("html", html)]
    boundary = _boundary(env.message_id, parts)
    head.append(("Content-Type", f'multipart/alternative;\r\n boundary="{boundary}"'))
    lines = "".join(f"{k}: {v}\r\n" for k, v in head)
    body = "".join(f"\r\n--{boundary}\r\n{p}" for p in parts) + f"\r\n--{boundary}--\r\n"
    return (lines + body).encode("ascii")
