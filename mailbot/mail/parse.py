"""Raw bytes → `Inbound`: decides what of an inbound message mailbot may look at.

Parses the structure with the stdlib `email` package, capped (`mail.mime`), but decodes
headers, addresses and text itself (`mail.decode`, `mail.addresses`, `mail.html_text`) so
that no input can make it raise or stall: malformed MIME, unknown charsets, broken base64 or
quoted-printable, binary junk, missing headers and absurd sizes are recorded in
`Inbound.defects` instead, and a part that cannot be decoded spoils only itself. Attachments
are never decoded; only the first text part (or the first HTML part, converted to text, when
there is no text part or it is blank), a delivery-status part and the returned headers of a
bounce are read. Sizes are capped where the cost is: `MAX_HTML_TEXT` characters and
`MAX_HTML_TAGS` tags of HTML are converted (~2 µs a tag; a client's head and styles are one
skip), `MAX_TEXT` kept, and the structure is read within `mail.mime`'s caps.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime

from mailbot.domain.model import Inbound
from mailbot.mail.addresses import parse_addresses, parse_ids, parse_sender
from mailbot.mail.decode import decode_bytes, decode_header_value, read_header_block
from mailbot.mail.html_text import html_to_text
from mailbot.mail.mime import DSN_TYPES, header_name, parse_bytes, raw_payload, walk

MAX_HTML = 200_000  # characters of raw HTML kept
MAX_HTML_TEXT = 64_000  # of them converted to text when there is no text part
MAX_HTML_TAGS = 1_500  # tags converted (a long reply's quoted thread lies beyond)
MAX_TEXT = 500_000  # characters of text kept
MAX_HEADER_FIELDS = 600  # header fields of the message decoded (~5 µs each); the rest ignored
MAX_DSN_CHARS = 100_000  # of a delivery-status part read
MAX_DSN_BLOCKS = 100  # field blocks of a delivery-status part read

_TYPE_PREFIX = re.compile(r"^\s*[a-z0-9][a-z0-9._-]*\s*;\s*", re.IGNORECASE)
_BLANK_LINE_RE = re.compile(r"\r?\n[ \t]*\r?\n")
_ADDRESS_TYPE_FIELDS = frozenset({"final-recipient", "original-recipient"})
_TYPED_FIELDS = _ADDRESS_TYPE_FIELDS | {"diagnostic-code", "remote-mta", "reporting-mta"}
_DSN_FIELDS = _TYPED_FIELDS | {  # RFC 3464 §2.2, §2.3: a block with none of them is not one
    "dsn-gateway",
    "received-from-mta",
    "arrival-date",
    "original-envelope-id",
    "action",
    "status",
    "last-attempt-date",
    "final-log-id",
    "will-retry-until",
}


def envelope_fields(
    raw_values: Mapping[str, Sequence[str]],
    headers: Mapping[str, Sequence[str]],
    defects: list[str],
) -> tuple[str, str, tuple[str, ...], datetime | None, str]:
    """(From name, From address, Message-IDs, Date, Return-Path) of a header block, each read
    strictly; what is missing or unreadable is added to `defects`. One reading for the whole
    parse and the partner-mail header reader (`mail.header_block`)."""
    from_name, from_addr = parse_sender(list(raw_values.get("from", ())), defects)
    if not from_addr:
        defects.append("missing or unreadable From")
    mids = parse_ids(raw_values.get("message-id", ()))
    if not mids:
        defects.append("missing Message-ID")
    date_values = headers.get("date", ())
    date = parse_date(date_values[0]) if date_values else None
    if date_values and date is None:
        defects.append("unreadable Date")
    return_path = next((a for _, a in parse_addresses(raw_values.get("return-path", ()))), "")
    return from_name, from_addr, mids, date, return_path


def parse_date(value: str) -> datetime | None:
    """An RFC 5322 date → aware UTC datetime, or None when it cannot be read."""
    if not value:
        return None
    try:
        dt = parsedate_to_datetime(value[:200])
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.astimezone(UTC)
    except Exception:
        return None


def _headers_of(part: Message, defects: list[str] | None = None) -> dict[str, tuple[str, ...]]:
    headers: dict[str, list[str]] = {}
    for count, (name, value) in enumerate(part.raw_items()):
        if count >= MAX_HEADER_FIELDS:
            if defects is not None:
                defects.append(f"more than {MAX_HEADER_FIELDS} header fields; the rest ignored")
            break
        headers.setdefault(header_name(name), []).append(decode_header_value(value))
    return {k: tuple(v) for k, v in headers.items()}


def _raw_values(part: Message, name: str) -> list[str]:
    return [str(v) for k, v in part.raw_items() if str(k).lower() == name]


# --------------------------------------------------------------------------- parts


def _param(part: Message, name: str) -> str:
    try:
        value = part.get_param(name)
    except Exception:
        return ""
    if isinstance(value, tuple):  # RFC 2231 (charset, language, value)
        value = value[2]
    return str(value or "")


def _is_attachment(part: Message) -> bool:
    for value in _raw_values(part, "content-disposition"):
        if value.strip().lower().startswith("attachment"):
            return True
    return False


def _payload_bytes(part: Message, defects: list[str]) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:
        defects.append(f"undecodable body: {type(exc).__name__}")
        data = None
    if isinstance(data, bytes):
        return data
    return raw_payload(part).encode("ascii", errors="surrogateescape")


def _part_text(part: Message, defects: list[str]) -> str:
    return decode_bytes(_payload_bytes(part, defects), _param(part, "charset") or None, defects)


def _dsn_blocks(part: Message, defects: list[str]) -> list[dict[str, str]]:
    """A delivery-status part → its field blocks (first per-message, then per-recipient)."""
    text = _part_text(part, defects)
    if len(text) > MAX_DSN_CHARS:
        defects.append(f"delivery-status part longer than {MAX_DSN_CHARS}; the rest ignored")
    blocks: list[dict[str, str]] = []
    for piece in _BLANK_LINE_RE.split(text[:MAX_DSN_CHARS], maxsplit=MAX_DSN_BLOCKS * 2):
        fields = read_header_block(piece)
        if not fields.keys() & _DSN_FIELDS:  # e.g. stray headers a server put in the part
            continue
        block: dict[str, str] = {}
        for name, values in fields.items():
            value = values[0]
            if name in _TYPED_FIELDS:
                value = _TYPE_PREFIX.sub("", value, count=1)
            if name in _ADDRESS_TYPE_FIELDS:
                value = value.strip().strip("<>").strip().lower()
            block[name] = value
        blocks.append(block)
        if len(blocks) >= MAX_DSN_BLOCKS:
            break
    return blocks


def _returned_headers(part: Message, ctype: str, defects: list[str]) -> dict[str, tuple[str, ...]]:
    payload = part.get_payload() if part.is_multipart() else None
    if ctype.startswith("message/") and isinstance(payload, list) and payload:
        inner = payload[0]
        if isinstance(inner, Message):
            headers = _headers_of(inner)
            if headers:
                return headers
    return read_header_block(_part_text(part, defects))


# --------------------------------------------------------------------------- entry point


def parse_message(raw: bytes) -> Inbound:
    """Raw RFC 5322 bytes → `Inbound`. Never raises: problems go to `defects`."""
    try:
        data = bytes(raw)
    except Exception:
        data = b""
    digest = hashlib.sha256(data).hexdigest()
    try:
        return _parse(data, digest)
    except Exception as exc:  # the last net: a minimal record the flow can quarantine
        return _empty(data, digest, [f"unparseable message: {type(exc).__name__}: {exc}"[:300]])


def _empty(data: bytes, digest: str, defects: list[str]) -> Inbound:
    return Inbound(
        message_id="",
        raw_sha256=digest,
        size=len(data),
        from_addr="",
        from_name="",
        to=(),
        cc=(),
        delivered_to=(),
        return_path="",
        subject="",
        date=None,
        in_reply_to=(),
        references=(),
        headers={},
        content_type="",
        text="",
        defects=tuple(defects),
    )


def _parse(data: bytes, digest: str) -> Inbound:
    defects: list[str] = []
    msg = parse_bytes(data, defects)
    for defect in msg.defects:
        defects.append(type(defect).__name__)

    headers = _headers_of(msg, defects)
    if not headers:
        defects.append("no headers")
    raw_values: dict[str, list[str]] = {}  # _raw_values(msg, name) for every name at once
    for k, v in msg.raw_items():
        raw_values.setdefault(str(k).lower(), []).append(str(v))

    def addrs(name: str) -> list[tuple[str, str]]:
        return parse_addresses(raw_values.get(name, ()))

    from_name, from_addr, mids, date, return_path = envelope_fields(raw_values, headers, defects)

    content_type, text, html_raw, dsn_message, dsn, returned = _read_body(msg, defects)

    return Inbound(
        message_id=mids[0] if mids else "",
        raw_sha256=digest,
        size=len(data),
        from_addr=from_addr,
        from_name=from_name,
        to=tuple(a for _, a in addrs("to")),
        cc=tuple(a for _, a in addrs("cc")),
        delivered_to=tuple(a for _, a in addrs("delivered-to")),
        return_path=return_path,
        subject=headers.get("subject", ("",))[0],
        date=date,
        in_reply_to=parse_ids(raw_values.get("in-reply-to", ())),
        references=parse_ids(raw_values.get("references", ())),
        headers=headers,
        content_type=content_type,
        text=text,
        html=html_raw,
        dsn=dsn,
        dsn_message=dsn_message,
        returned_headers=returned,
        defects=tuple(dict.fromkeys(defects)),
    )


def _read_body(
    msg: Message, defects: list[str]
) -> tuple[str, str, str, dict[str, str], tuple[dict[str, str], ...], dict[str, tuple[str, ...]]]:
    """(top-level content type, text, raw html, DSN per-message fields, DSN per-recipient
    blocks, returned headers). Each part is read on its own: one that fails is a defect."""
    text_part: Message | None = None
    html_part: Message | None = None
    dsn_message: dict[str, str] = {}
    dsn: tuple[dict[str, str], ...] = ()
    returned: dict[str, tuple[str, ...]] = {}
    content_type = ""
    is_report = False

    for part, ctype, attached in walk(msg, defects):
        if part is msg:
            content_type = ctype
        else:
            for defect in part.defects:
                defects.append(type(defect).__name__)
        if attached:
            continue
        # Read in any multipart, not only multipart/report: some MTAs (McAfee, Trend Micro)
        # send the delivery-status part and the returned message in multipart/mixed.
        is_report = content_type.startswith("multipart/")
        try:
            if ctype == "text/plain" and text_part is None and not _is_attachment(part):
                text_part = part
            elif ctype == "text/html" and html_part is None and not _is_attachment(part):
                html_part = part
            elif is_report and ctype in DSN_TYPES and not dsn:
                blocks = _dsn_blocks(part, defects)
                if blocks:
                    dsn_message, dsn = blocks[0], tuple(blocks[1:])
                    if not dsn and any("final-recipient" in b or "action" in b for b in blocks):
                        dsn_message, dsn = {}, tuple(blocks)
            elif (
                is_report
                and ctype in ("message/rfc822", "text/rfc822-headers", "message/global")
                and not returned
            ):
                returned = _returned_headers(part, ctype, defects)
        except Exception as exc:  # this part only
            defects.append(f"unreadable {ctype} part: {type(exc).__name__}"[:200])

    if text_part is None and html_part is None and is_report and not msg.is_multipart():
        text_part = msg  # no boundary was found: the body is all there is (no-MIME DSNs)
    html_raw = _safe_text(html_part, defects)[:MAX_HTML]
    text = _safe_text(text_part, defects)
    if text_part is not None:
        defects.extend(type(d).__name__ for d in text_part.defects)  # found while decoding
    if not text.strip() and html_raw:
        # some clients send a blank text/plain alternative
        text = html_to_text(html_raw[:MAX_HTML_TEXT], max_tags=MAX_HTML_TAGS)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")[:MAX_TEXT]
    return content_type, text, html_raw, dsn_message, dsn, returned


def _safe_text(part: Message | None, defects: list[str]) -> str:
    if part is None:
        return ""
    try:
        return _part_text(part, defects)
    except Exception as exc:  # this part only: the headers and other parts still count
        defects.append(f"undecodable text part: {type(exc).__name__}"[:200])
        return ""
