"""A plain header block → the `Inbound` that `mail.parse.parse_message` gives for it, read
without the `email` package's MIME tree (about a fifth of its cost).

Decides only which header blocks are plain enough to read this way: ASCII, at most
`MAX_BYTES` bytes and `MAX_FIELDS` lines, one kind of line ending, every line a field
(`Name: value`, name of printable characters) or its continuation, ended by a blank line with
nothing after it, and no Content-Type but a plain `text/plain` with token or quoted
parameters. Anything else is None, and the caller parses it with `parse_message` — so this
reader never has to be right about a hard case, only about the easy one (a unit test holds
both readers equal on the fixtures and on generated blocks). Values are decoded by the same
functions as `parse_message`'s (`mail.decode`, `mail.addresses`); the one scan over the
block is linear and capped.

Partner mail is read as header blocks only (`flows.intake_fetch`): this is its parser.
`read_plain_message` reads a whole message the same way when, besides a plain header block,
it names no transfer encoding but 7bit or 8bit and no disposition, and its body is short:
the body is then its text, decoded as `parse_message` decodes a text part. Forms, commands
and out-of-office replies are mostly such messages.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re

from mailbot.domain.model import Inbound
from mailbot.mail.addresses import parse_addresses, parse_ids
from mailbot.mail.decode import decode_bytes, decode_header_value
from mailbot.mail.mime import PARSE_LINES, STRUCTURE_HEADER_CHARS
from mailbot.mail.parse import MAX_TEXT, envelope_fields

MAX_BYTES = 32_768  # of a header block read here; a longer one goes to parse_message
MAX_FIELDS = 200  # lines of a header block read here (the email parser's caps are far above)
MAX_BODY_BYTES = 65_536  # of a body read by `read_plain_message`; a longer one: parse_message
_PLAIN_ENCODINGS = frozenset({"7bit", "8bit"})  # the body is its bytes, as they stand

# A field's first line as the email package's feed parser accepts it: a name of printable
# characters but ':' (no space), then the colon.
_FIELD = re.compile(r"[\x21-\x39\x3b-\x7e]+:")
_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`{|}~-]+"
_NAME = r"[A-Za-z0-9_.-]+"  # a parameter name; no RFC 2231 `*` (the email parser decodes it)
_PLAIN_TEXT_TYPE = re.compile(
    rf"[ \t]*text/plain[ \t]*((?:;[ \t]*{_NAME}[ \t]*=[ \t]*(?:{_TOKEN}|\"[^\"\\\r\n]*\")[ \t]*)*)"
    r";?[ \t]*",
    re.IGNORECASE,
)
_PARAM = re.compile(rf";[ \t]*({_NAME})[ \t]*=[ \t]*({_TOKEN}|\"[^\"\\\r\n]*\")")


def read_header_block(head: bytes, size: int | None = None) -> Inbound | None:
    """`head` as `parse_message(head)` reads it, or None when it is not plain (see above).
    `size`: what `Inbound.size` says (the whole message's; the block's when None)."""
    if len(head) > MAX_BYTES or not head.isascii():
        return None
    text = head.decode("ascii")
    eol = "\r\n" if "\r" in text else "\n"
    crlf = text.count("\r\n")
    if eol == "\r\n" and not text.count("\r") == text.count("\n") == crlf:
        return None  # bare CRs, or both kinds of line ending: the email parser's job
    if eol == "\n" and "\r" in text:
        return None
    end = text.find(eol + eol)
    if end < 0 or text[end + 2 * len(eol) :].strip() or text.count(eol, 0, end) >= MAX_FIELDS:
        return None
    fields: list[tuple[str, list[str]]] = []
    for line in text[:end].split(eol):
        if line[:1] in (" ", "\t"):
            if not fields:
                return None
            fields[-1][1].append(line + eol)
            continue
        m = _FIELD.match(line)
        if m is None or line.startswith("From "):
            return None
        fields.append((line[: m.end() - 1], [line[m.end() :].lstrip(" \t") + eol]))
    if not fields:
        return None
    return _inbound(fields, head, len(head) if size is None else size)


def read_plain_message(raw: bytes) -> Inbound | None:
    """`raw` as `parse_message(raw)` reads it, or None when it is not plain (see above)."""
    crlf, lf = raw.find(b"\r\n\r\n"), raw.find(b"\n\n")
    if lf >= 0 and (crlf < 0 or lf < crlf):
        end = lf + 2
    elif crlf >= 0:
        end = crlf + 4
    else:
        return None
    body = raw[end:]
    if len(body) > MAX_BODY_BYTES or body.count(b"\n") >= PARSE_LINES:
        return None
    msg = read_header_block(raw[:end])
    if msg is None or "content-disposition" in msg.headers:
        return None
    encoding = msg.headers.get("content-transfer-encoding")
    if encoding is not None and (
        len(encoding) > 1 or encoding[0].strip().lower() not in _PLAIN_ENCODINGS
    ):
        return None
    defects = list(msg.defects)
    content_type = msg.headers.get("content-type")
    charset = _text_plain_charset(content_type[0] if content_type else None)
    text = decode_bytes(body, charset or None, defects)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")[:MAX_TEXT]
    return dataclasses.replace(
        msg,
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        text=text,
        defects=tuple(dict.fromkeys(defects)),
    )


def _inbound(fields: list[tuple[str, list[str]]], head: bytes, size: int) -> Inbound | None:
    headers: dict[str, list[str]] = {}
    raw_values: dict[str, list[str]] = {}
    for name, pieces in fields:
        value = "".join(pieces).rstrip("\r\n")  # the feed parser's raw value
        key = name.lower()
        raw_values.setdefault(key, []).append(value)
        headers.setdefault(key, []).append(decode_header_value(value))
    defects: list[str] = []
    charset = _text_plain_charset(raw_values.get("content-type", [None])[0])
    if charset is None:
        return None
    from_name, from_addr, mids, date, return_path = envelope_fields(raw_values, headers, defects)
    decode_bytes(b"", charset or None, defects)  # an unknown charset is a defect there too

    def addrs(name: str) -> tuple[str, ...]:
        return tuple(a for _, a in parse_addresses(raw_values.get(name, ())))

    return Inbound(
        message_id=mids[0] if mids else "",
        raw_sha256=hashlib.sha256(head).hexdigest(),
        size=size,
        from_addr=from_addr,
        from_name=from_name,
        to=addrs("to"),
        cc=addrs("cc"),
        delivered_to=addrs("delivered-to"),
        return_path=return_path,
        subject=headers.get("subject", [""])[0],
        date=date,
        in_reply_to=parse_ids(raw_values.get("in-reply-to", ())),
        references=parse_ids(raw_values.get("references", ())),
        headers={k: tuple(v) for k, v in headers.items()},
        content_type="text/plain",
        text="",
        defects=tuple(dict.fromkeys(defects)),
    )


def _text_plain_charset(value: str | None) -> str | None:
    """The charset parameter of a plain `text/plain` Content-Type ("" when none, or no
    Content-Type at all); None for any other type, or parameters not plainly written."""
    if value is None:
        return ""
    if len(value) > STRUCTURE_HEADER_CHARS:  # the email package reads it cut
        return None
    m = _PLAIN_TEXT_TYPE.fullmatch(value)
    if m is None:
        return None
    charset = ""
    for name, val in _PARAM.findall(m.group(1)):
        if name.lower() == "charset" and not charset:
            charset = val.strip('"')
    return charset


__all__ = ["MAX_BYTES", "MAX_FIELDS", "read_header_block", "read_plain_message"]
