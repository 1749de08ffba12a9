"""Raw bytes → `Inbound`: decides what of an inbound message mailbot may look at.

Parses with the stdlib `email` package (`policy.default` for structure) but decodes headers,
addresses and text itself so that no input can make it raise: malformed MIME, unknown
charsets, broken base64 or quoted-printable, binary junk and missing headers are recorded in
`Inbound.defects` instead. Attachments are never decoded; only the first text part (or the
first HTML part, converted to text, when there is no text part or it is blank), a
delivery-status part and the returned headers of a bounce are read.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import binascii
import codecs
import hashlib
import html as html_lib
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from mailbot.domain.model import Inbound

MAX_HTML = 200_000  # characters of raw HTML kept (and converted)
MAX_TEXT = 500_000  # characters of text kept
MAX_PARTS = 500  # MIME parts looked at before giving up on the rest
MAX_DEPTH = 20  # multipart nesting followed


class _RawHeaderPolicy(EmailPolicy):
    """`policy.default`, except that fetching a header returns the unfolded raw string.

    mailbot decodes every header itself (below); the header registry's parse of each
    Content-Type the feed parser and `get_content_type` look at was most of the parse time.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:  # type: ignore[override]
        return _FOLD.sub("", value) if isinstance(value, str) else str(value)


_PARSER = BytesParser(policy=_RawHeaderPolicy())  # policy.default plus the override above
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_WS_BETWEEN_EW = re.compile(r"(\?=)\s+(=\?)")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_ANGLE_ID = re.compile(r"<([^<>\s]+)>")
_ADDR_FALLBACK = re.compile(r"[^\s<>\"'(),;:\[\]]+@[^\s<>\"'(),;:\[\]]+")
_TYPE_PREFIX = re.compile(r"^\s*[a-z0-9][a-z0-9._-]*\s*;\s*", re.IGNORECASE)
_BLANK_LINE_RE = re.compile(r"\r?\n[ \t]*\r?\n")
_DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_ADDRESS_TYPE_FIELDS = frozenset({"final-recipient", "original-recipient"})
_TYPED_FIELDS = _ADDRESS_TYPE_FIELDS | {"diagnostic-code", "remote-mta", "reporting-mta"}


# --------------------------------------------------------------------------- decoding


def decode_bytes(data: bytes, charset: str | None, defects: list[str] | None = None) -> str:
    """Bytes → str with `charset`; unknown or wrong charsets fall back to utf-8, then latin-1."""
    cs = (charset or "").strip().strip("\"'").lower()
    if cs:
        cs = cs.split("*", 1)[0]  # RFC 2231 language suffix
        try:
            codecs.lookup(cs)
        except (LookupError, ValueError):
            if defects is not None:
                defects.append(f"unknown charset {cs[:40]!r}")
            cs = ""
    if cs:
        try:
            return data.decode(cs)
        except (UnicodeDecodeError, LookupError, ValueError):
            if defects is not None:
                defects.append(f"text is not valid {cs[:40]}")
        except Exception:  # a codec with surprises of its own
            if defects is not None:
                defects.append(f"codec {cs[:40]} failed")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    if text.count("\ufffd") * 100 <= len(text):
        return text
    return data.decode("latin-1")


def _unsurrogate(value: str) -> str:
    """Header strings from the bytes parser carry raw 8-bit bytes as surrogates."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        raw = value.encode("ascii", errors="surrogateescape")
        return decode_bytes(raw, None)


def _decode_word(charset: str, encoding: str, payload: str) -> str | None:
    try:
        if encoding in "bB":
            data = payload.encode("ascii", errors="ignore")
            data += b"=" * (-len(data) % 4)
            raw = binascii.a2b_base64(data)
        else:
            raw = binascii.a2b_qp(payload.encode("ascii", errors="ignore"), header=True)
    except (binascii.Error, ValueError):
        return None
    return decode_bytes(raw, charset)


def _unfold(value: str) -> str:
    """A raw header value on one line, with 8-bit bytes decoded."""
    return _unsurrogate(_FOLD.sub("", value)).replace("\r", "").replace("\n", " ")


def decode_header_value(value: object) -> str:
    """A raw header value → unfolded text with RFC 2047 encoded-words decoded."""
    text = value if isinstance(value, str) else str(value)
    text = _unfold(text)
    if "=?" in text:
        text = _WS_BETWEEN_EW.sub(r"\1\2", text)

        def repl(m: re.Match[str]) -> str:
            decoded = _decode_word(m.group(1), m.group(2), m.group(3))
            return m.group(0) if decoded is None else decoded

        text = _ENCODED_WORD.sub(repl, text)
    return text.strip().replace("\x00", "")


_ENCODED_RUN = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?]*\?=(?:\s+=\?[^?\s]+\?[bBqQ]\?[^?]*\?=)*")


def _quote_encoded_words(value: str) -> str:
    """Decode encoded-words in an address header into quoted strings, so that a comma or
    an angle bracket they hide cannot split or shift the address list."""
    out: list[str] = []
    pos = 0
    for m in _ENCODED_RUN.finditer(value):
        before = value[pos : m.start()]
        out.append(before)
        decoded = decode_header_value(m.group(0)).replace("\\", "\\\\").replace('"', '\\"')
        inside_quotes = ("".join(out).replace('\\"', "").count('"')) % 2 == 1
        out.append(decoded if inside_quotes else f'"{decoded}"')
        pos = m.end()
    out.append(value[pos:])
    return "".join(out)


# The everyday shapes of an address (`a@b.c`, `Name <a@b.c>`, `"Name" <a@b.c>`), for which
# the result of `getaddresses` is known without running it (a property test checks this).
_PLAIN_ADDR = r"[A-Za-z0-9_%+=-]+(?:\.[A-Za-z0-9_%+=-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_PLAIN_MAILBOX = re.compile(
    rf'[ \t]*(?:(?P<bare>{_PLAIN_ADDR})|(?:"(?P<quoted>[A-Za-z0-9 ,.\'()-]*)"'
    rf"|(?P<name>[A-Za-z0-9]+(?: [A-Za-z0-9]+)*))?[ \t]*<(?P<addr>{_PLAIN_ADDR})>)[ \t]*"
)


def _plain_addresses(value: str) -> list[tuple[str, str]] | None:
    """`value` as [(name, addr)] when every mailbox in it has an everyday shape, else None."""
    if "=?" in value or "\\" in value:
        return None
    pieces = value.split(",") if '"' not in value else [value]
    out: list[tuple[str, str]] = []
    for piece in pieces:
        m = _PLAIN_MAILBOX.fullmatch(piece)
        if m is None:
            return None
        if m["bare"]:
            out.append(("", m["bare"].lower()))
        else:
            name = m["quoted"] if m["quoted"] is not None else (m["name"] or "")
            out.append((name.strip(), m["addr"].lower()))
    return out


def parse_addresses(values: Iterable[str]) -> list[tuple[str, str]]:
    """Raw address header values → [(display name, lower-case addr-spec)], skipping junk."""
    out: list[tuple[str, str]] = []
    for raw in values:
        unfolded = _unfold(raw)
        plain = _plain_addresses(unfolded)
        out.extend(plain if plain is not None else _parsed_addresses(unfolded))
    return out


def _parsed_addresses(unfolded: str) -> list[tuple[str, str]]:
    """Any address header value, through `getaddresses`, with a fallback for junk."""
    out: list[tuple[str, str]] = []
    if "=?" in unfolded:
        unfolded = _quote_encoded_words(unfolded)
    try:
        pairs = getaddresses([unfolded])
    except Exception:
        pairs = []
    found = False
    for name, addr in pairs:
        addr = addr.strip().strip("<>").lower()
        if "@" not in addr or " " in addr:
            continue
        found = True
        out.append((decode_header_value(name).strip().strip('"'), addr))
    if not found:  # the strict parser gave up: take anything shaped like an address
        for m in _ADDR_FALLBACK.finditer(decode_header_value(unfolded)):
            out.append(("", m.group(0).strip(".").lower()))
    return out


def parse_ids(values: Iterable[str]) -> tuple[str, ...]:
    """Message-ID style header values → ids without <>, in order, de-duplicated."""
    ids: list[str] = []
    for raw in values:
        text = _unsurrogate(raw)
        found = _ANGLE_ID.findall(text) or [t for t in text.split() if "@" in t]
        for mid in found:
            mid = mid.strip().strip("<>,")
            if mid and mid not in ids:
                ids.append(mid)
    return tuple(ids)


def parse_date(value: str) -> datetime | None:
    """An RFC 5322 date → aware UTC datetime, or None when it cannot be read."""
    if not value:
        return None
    try:
        dt = parsedate_to_datetime(value)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.astimezone(UTC)
    except Exception:
        return None


def read_header_block(text: str) -> dict[str, tuple[str, ...]]:
    """'Name: value' lines (with continuation lines) → lower-case name → decoded values."""
    fields: dict[str, list[str]] = {}
    name = ""
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        if line[0] in " \t" and name:
            fields[name][-1] += " " + line.strip()
            continue
        key, colon, value = line.partition(":")
        if not colon or not key.strip() or " " in key.strip():
            name = ""
            continue
        name = key.strip().lower()
        fields.setdefault(name, []).append(value.strip())
    return {k: tuple(decode_header_value(v) for v in vs) for k, vs in fields.items()}


def _headers_of(part: Message) -> dict[str, tuple[str, ...]]:
    headers: dict[str, list[str]] = {}
    for name, value in part.raw_items():
        key = _unsurrogate(str(name)).strip().lower()
        headers.setdefault(key, []).append(decode_header_value(value))
    return {k: tuple(v) for k, v in headers.items()}


def _raw_values(part: Message, name: str) -> list[str]:
    return [str(v) for k, v in part.raw_items() if str(k).lower() == name]


# --------------------------------------------------------------------------- html → text


class _HTMLToText(HTMLParser):
    _BLOCK = frozenset(
        {"p", "div", "tr", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote"}
    )
    _SKIP = frozenset({"style", "script", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.cells_in_row = 0
        self.cell_start = 0

    def _newline(self) -> None:
        for chunk in reversed(self.out):
            if chunk:
                if not chunk.endswith("\n"):
                    self.out.append("\n")
                return

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skip += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag == "tr":
            self._newline()
            self.cells_in_row = 0
        elif tag in ("td", "th"):
            if self.cells_in_row:
                # "Name:" | "Jane" reads as the form line "Name: Jane"; other cells as " | "
                last = "".join(self.out[self.cell_start :]).rstrip()
                self.out.append(" " if last.endswith(":") else " | ")
            self.cells_in_row += 1
            self.cell_start = len(self.out)
        elif tag in self._BLOCK:
            self._newline()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in ("p", "h1", "h2", "h3", "h4", "h5", "h6"):
            self._newline()
            self.out.append("\n")
        elif tag in self._BLOCK:
            self._newline()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(re.sub(r"[ \t\r\n\f]+", " ", data))


def html_to_text(markup: str) -> str:
    """A small HTML → text converter: block tags become newlines, table cells ' | '."""
    parser = _HTMLToText()
    try:
        parser.feed(markup)
        parser.close()
        text = "".join(parser.out)
    except Exception:
        text = html_lib.unescape(re.sub(r"<[^>]*>", " ", markup))
    lines = [line.strip() for line in text.replace("\xa0", " ").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


# --------------------------------------------------------------------------- structure


def _ctype(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "text/plain"


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


def _walk(msg: Message, defects: list[str]) -> Iterator[tuple[Message, str, bool]]:
    """(part, content type, inside an attached message) for every part, depth first."""
    stack: list[tuple[Message, int, bool]] = [(msg, 0, False)]
    seen = 0
    while stack:
        part, depth, attached = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            defects.append(f"more than {MAX_PARTS} MIME parts; the rest ignored")
            return
        ctype = _ctype(part)
        yield part, ctype, attached
        if depth >= MAX_DEPTH:
            defects.append("MIME nesting too deep; inner parts ignored")
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            inner = attached or ctype.startswith("message/")
            for sub in reversed(payload):
                if isinstance(sub, Message):
                    stack.append((sub, depth + 1, inner))


def _payload_bytes(part: Message, defects: list[str]) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:
        defects.append(f"undecodable body: {type(exc).__name__}")
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    if isinstance(payload, str):
        return payload.encode("ascii", errors="surrogateescape")
    return b""


def _part_text(part: Message, defects: list[str]) -> str:
    return decode_bytes(_payload_bytes(part, defects), _param(part, "charset") or None, defects)


def _dsn_text(part: Message, payload: object, defects: list[str]) -> str:
    """The text of a delivery-status part the feed parser could not split (e.g. base64)."""
    if not isinstance(payload, list):
        return _part_text(part, defects)
    body = "".join(
        b.get_payload() for b in payload if isinstance(b, Message) and b.is_multipart() is False
    )
    data = body.encode("ascii", errors="surrogateescape")
    cte = "".join(_raw_values(part, "content-transfer-encoding")).strip().lower()
    try:
        if cte == "base64":
            data = binascii.a2b_base64(b"".join(data.split()) + b"==")
        elif cte == "quoted-printable":
            data = binascii.a2b_qp(data)
    except (binascii.Error, ValueError):
        defects.append(f"undecodable delivery-status part ({cte})")
    return decode_bytes(data, _param(part, "charset") or None, defects)


def _dsn_blocks(part: Message, defects: list[str]) -> list[dict[str, str]]:
    """A delivery-status part → its field blocks (first per-message, then per-recipient)."""
    payload = part.get_payload()
    texts: list[str] = []
    if isinstance(payload, list):  # the feed parser splits the blocks into header sets
        for block in payload:
            if isinstance(block, Message):
                items = list(block.raw_items())
                texts.append("".join(f"{k}: {v}\n" for k, v in items))
                rest = None if block.is_multipart() or not items else block.get_payload(decode=True)
                if isinstance(rest, bytes) and rest.strip():
                    # message/global-delivery-status (RFC 6533, UTF-8) is read by the stdlib as
                    # one embedded message: the per-message block its headers, the rest its body.
                    texts.extend(_BLANK_LINE_RE.split(decode_bytes(rest, "utf-8", defects)))
    if not any(t.strip() for t in texts):
        texts = _BLANK_LINE_RE.split(_dsn_text(part, payload, defects))
    blocks: list[dict[str, str]] = []
    for text in texts:
        fields = read_header_block(text)
        if not fields:
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
    return blocks


def _returned_headers(part: Message, ctype: str, defects: list[str]) -> dict[str, tuple[str, ...]]:
    payload = part.get_payload()
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
    msg = _PARSER.parsebytes(data)
    for defect in msg.defects:
        defects.append(type(defect).__name__)

    headers = _headers_of(msg)
    if not headers:
        defects.append("no headers")
    raw_values: dict[str, list[str]] = {}  # _raw_values(msg, name) for every name at once
    for k, v in msg.raw_items():
        raw_values.setdefault(str(k).lower(), []).append(str(v))

    def addrs(name: str) -> list[tuple[str, str]]:
        return parse_addresses(raw_values.get(name, ()))

    from_pairs = addrs("from") or addrs("sender")
    if not from_pairs:
        defects.append("missing or unreadable From")
    from_name, from_addr = from_pairs[0] if from_pairs else ("", "")

    mids = parse_ids(raw_values.get("message-id", ()))
    if not mids:
        defects.append("missing Message-ID")

    date_values = headers.get("date", ())
    date = parse_date(date_values[0]) if date_values else None
    if date_values and date is None:
        defects.append("unreadable Date")

    return_path = ""
    for _, addr in addrs("return-path"):
        return_path = addr
        break

    content_type = _ctype(msg)
    text, html_raw, dsn_message, dsn, returned = _read_body(msg, content_type, defects)

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
    msg: Message, content_type: str, defects: list[str]
) -> tuple[str, str, dict[str, str], tuple[dict[str, str], ...], dict[str, tuple[str, ...]]]:
    text_part: Message | None = None
    html_part: Message | None = None
    dsn_message: dict[str, str] = {}
    dsn: tuple[dict[str, str], ...] = ()
    returned: dict[str, tuple[str, ...]] = {}
    # Read in any multipart, not only multipart/report: some MTAs (McAfee, Trend Micro) send
    # the delivery-status part and the returned message in multipart/mixed.
    is_report = content_type.startswith("multipart/")

    for part, ctype, attached in _walk(msg, defects):
        if part is not msg:
            for defect in part.defects:
                defects.append(type(defect).__name__)
        if attached:
            continue
        if ctype == "text/plain" and text_part is None and not _is_attachment(part):
            text_part = part
        elif ctype == "text/html" and html_part is None and not _is_attachment(part):
            html_part = part
        elif is_report and ctype in _DSN_TYPES and not dsn:
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

    if text_part is None and html_part is None and is_report and not msg.is_multipart():
        text_part = msg  # no boundary was found: the body is all there is (no-MIME DSNs)
    html_raw = ""
    if html_part is not None:
        html_raw = _part_text(html_part, defects)[:MAX_HTML]
    text = ""
    if text_part is not None:
        text = _part_text(text_part, defects)
        defects.extend(type(d).__name__ for d in text_part.defects)  # found while decoding
    if not text.strip() and html_raw:
        text = html_to_text(html_raw)  # some clients send a blank text/plain alternative
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")[:MAX_TEXT]
    return text, html_raw, dsn_message, dsn, returned
