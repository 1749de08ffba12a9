"""Raw bytes → the stdlib's tree of MIME parts, with what the parser may build capped.

Decides how far a message's structure is read. The stdlib feed parser reads the message's
own header block (at most `TOP_HEADER_LINES` lines, the first and the last half; a line
longer than `HEADER_LINE_CHARS` kept as its head and tail: no reader reads more of a value).
A body that is neither multipart nor message/* is then set as it stands, cut at
`PARSE_LINES` lines or `PARSE_BODY_CHARS` characters, without the parser (it costs ~1 µs a
line only to join them again). Any other body is fed to the parser 4 kB at a time, and no
more once it has built `PARSE_PARTS` parts, `PARSE_FIELDS` header fields or read
`PARSE_LINES` lines or `PARSE_BODY_CHARS` characters after the header block (it costs
microseconds per line, part and field: 10 MB of short lines took 7 s, and each line is
checked against the boundary of every open multipart; parse time was most of the fuzz
benchmark's p99, hence caps no real mail reaches before its text parts), and is given at
most `PART_FIELDS` lines of a part's header block (it parses a block all at once); a
multipart or message part nested `MAX_DEPTH` deep is kept as an opaque leaf (1,000 levels
raised RecursionError); a delivery-status part is kept as text, read by `mail.dsn` with
its own caps (the parser made a message of every blank-line-separated block); the structural
headers the stdlib reads itself (Content-Type and friends) are cut at `STRUCTURE_HEADER_CHARS`
(its parameter parser is quadratic).

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.feedparser import FeedParser
from email.message import EmailMessage, Message
from email.policy import EmailPolicy, Policy
from typing import TYPE_CHECKING, Any, cast

from mailbot.mail.decode import FOLD, unsurrogate

MAX_DEPTH = 10  # multipart / message nesting followed (a bounce of a forward: ~6)
MAX_PARTS = 500  # MIME parts looked at before giving up on the rest
PARSE_PARTS = 200  # parts the parser may build (~35 µs each; a real mail has a few)
PARSE_FIELDS = 1_000  # header fields the parser may read, all parts together (~8 µs each)
# Lines the parser may read (~0.8 µs each, ~380 kB of base64: the text parts come first); a
# line inside n nested parts counts (8 + n) / 8: it is checked against every open boundary.
PARSE_LINES = 5_000
PARSE_BODY_CHARS = 400_000  # ~20 ns each; as much base64 as PARSE_LINES lines hold
PART_FIELDS = 600  # header fields kept of one part (the rest: a defect of the message)
TOP_HEADER_LINES = 600  # lines of the message's own header block: the first and last half
# Characters kept of a longer line of it (RFC 5322 allows 998): the first ones, as many as are
# decoded of a value (`decode.unfold`), and the last (a threading header's newest ids:
# `addresses.parse_ids` reads its first 2,000 characters and its last 60,000).
HEADER_LINE_HEAD = 16_000
HEADER_LINE_TAIL = 64_000
HEADER_LINE_CHARS = HEADER_LINE_HEAD + 1 + HEADER_LINE_TAIL
STRUCTURE_HEADER_CHARS = 1_000
_CHUNK = 4_096  # the caps are checked between chunks: a chunk may hold hundreds of parts
DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})


class _RawHeaderPolicy(EmailPolicy):
    """`policy.default`, except that fetching a header returns the unfolded raw string, cut.

    mailbot decodes every header itself; the header registry's parse of each Content-Type the
    feed parser and `get_content_type` look at was most of the parse time.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        text = value if isinstance(value, str) else str(value)
        return FOLD.sub("", text[: STRUCTURE_HEADER_CHARS * 2])[:STRUCTURE_HEADER_CHARS]


_POLICY = _RawHeaderPolicy()


class _Budget:
    """What one parse has built so far."""

    __slots__ = ("depth", "dropped", "fields", "parts")

    def __init__(self) -> None:
        self.parts = 0
        self.fields = 0
        self.dropped = 0  # fields beyond PART_FIELDS of a part
        self.depth = 0  # of the deepest part so far


class Part(EmailMessage):
    """A message or part that knows its depth and counts what the parser builds.

    `get_content_type` is what the *parser* sees (too deep: an opaque leaf; delivery-status:
    text); `declared_type` is what the part says it is."""

    def __init__(self, policy: Any = None, budget: _Budget | None = None) -> None:
        super().__init__(policy=_POLICY if policy is None else policy)
        self.depth = 0
        self.budget = budget
        if budget is not None:
            budget.parts += 1

    def attach(self, payload: Any) -> None:
        if isinstance(payload, Part):
            payload.depth = self.depth + 1
            if self.budget is not None:
                self.budget.depth = max(self.budget.depth, payload.depth)
        super().attach(payload)

    def set_raw(self, name: str, value: Any) -> None:
        if self.budget is not None:
            self.budget.fields += 1
        if len(self) < PART_FIELDS:  # Message.get() reads every field of a part, each call
            super().set_raw(name, value)
        elif self.budget is not None:
            self.budget.dropped += 1

    def declared_type(self) -> str:
        return super().get_content_type()

    def get_content_type(self) -> str:
        ctype = super().get_content_type()
        if ctype in DSN_TYPES:
            return "text/plain"
        if self.depth >= MAX_DEPTH and ctype.startswith(("multipart/", "message/")):
            return "application/octet-stream"
        return ctype


def parse_bytes(data: bytes, defects: list[str]) -> Message:
    """Raw bytes → the root `Part`; a cut is named in `defects`.

    The parser reads the message's header block as far as it takes lines for header lines
    (to a blank line, or to the first line that is no header line: the body starts there
    then). A body that is neither multipart nor message/* is set as it stands, cut at
    `PARSE_LINES` lines or `PARSE_BODY_CHARS` characters: the parser only joins its lines
    again (~1 µs a line); any other body is fed to the parser within the caps."""
    budget = _Budget()
    made: list[Part] = []

    def factory(policy: Any = None) -> Part:
        part = Part(policy, budget)
        if not made:
            made.append(part)  # the root (once the one FeedParser tries is cleared)
        return part

    parser = _Parser(budget, factory, policy=cast("Policy[Part]", _POLICY))
    budget.parts = 0  # FeedParser tried the factory once
    made.clear()
    raw = _cut_header_block(data, defects)
    head = _HEAD_LINES.match(raw)
    body_start = _LINE.match(raw, head.end() if head else 0).end()  # type: ignore[union-attr]
    size = len(raw)
    if raw[body_start - 1 : body_start] == b"\r" and body_start < size:
        body_start += 1  # a bare CR ends the line only once the parser sees what follows
    # Nothing past the body cap is read: decoded, 8-bit bytes become surrogates, one a byte.
    text = raw[: body_start + PARSE_BODY_CHARS + _CHUNK].decode("ascii", "surrogateescape")
    feed = _Feed(parser, budget, defects, body_start, size)
    if feed.run(text, 0, body_start) and body_start < size:
        root = made[0] if made else None
        if root is not None and root.get_content_maintype() not in ("multipart", "message"):
            parser.close()
            body = _cut_body(text[body_start:], size - body_start, defects)
            root.set_payload(raw_payload(root) + body)
            return _checked(root, budget, defects)
        feed.run(text, body_start, len(text))
    return _checked(parser.close(), budget, defects)


if TYPE_CHECKING:
    _FeedParser = FeedParser[Part]
else:  # not subscriptable at run time
    _FeedParser = FeedParser


class _Parser(_FeedParser):
    """The stdlib feed parser, given at most PART_FIELDS lines of a part's header block: it
    parses a block's lines all at once when the block ends (~8 µs a field), so the caps
    checked between chunks could come a few thousand fields late."""

    def __init__(self, budget: _Budget, factory: Any, policy: Policy[Part]) -> None:
        super().__init__(factory, policy=policy)
        self.budget = budget

    def _parse_headers(self, lines: list[str]) -> None:
        if len(lines) > PART_FIELDS:
            self.budget.dropped += len(lines) - PART_FIELDS
            lines = lines[:PART_FIELDS]
        super()._parse_headers(lines)  # type: ignore[misc]


def _checked(root: Message, budget: _Budget, defects: list[str]) -> Message:
    if budget.dropped:
        defects.append(f"a part with more than {PART_FIELDS} header fields; the rest ignored")
    return root


class _Feed:
    """Feeds the parser `_CHUNK` characters at a time and stops it at the caps."""

    def __init__(
        self, parser: FeedParser[Part], budget: _Budget, defects: list[str], body: int, size: int
    ) -> None:
        self.parser, self.budget, self.defects = parser, budget, defects
        self.body, self.size = body, size
        self.lines = 0  # in eighths: see PARSE_LINES

    def run(self, text: str, start: int, stop: int) -> bool:
        """Feed text[start:stop]; False when a cap stopped it (a defect says which)."""
        budget = self.budget
        for at in range(start, stop, _CHUNK):
            end = min(at + _CHUNK, stop)
            chunk = text[at:end]
            self.parser.feed(chunk)
            self.lines += _count_lines(chunk) * (8 + budget.depth)
            why = (
                f"{PARSE_PARTS} parts"
                if budget.parts > PARSE_PARTS
                else f"{PARSE_FIELDS} header fields"
                if budget.fields > PARSE_FIELDS
                else f"{PARSE_LINES} lines"
                if self.lines > PARSE_LINES * 8
                else f"{PARSE_BODY_CHARS} characters of body"
                if end - self.body > PARSE_BODY_CHARS
                else ""
            )
            if why and end < self.size:
                self.defects.append(f"more than {why}: the rest of the message is not read")
                return False
        return True


def _count_lines(text: str) -> int:
    # the parser ends a line at CR, LF or CRLF: a run of bare CRs is lines too
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _cut_body(body: str, size: int, defects: list[str]) -> str:
    """A leaf body (of `size` characters; `body` may stop past the cap) as the parser would
    have kept it, within PARSE_BODY_CHARS and PARSE_LINES."""
    cut = body[:PARSE_BODY_CHARS]
    why = f"{PARSE_BODY_CHARS} characters of body"
    if _count_lines(cut) > PARSE_LINES:
        lines = _FIRST_LINES.match(cut)
        cut = cut[: lines.end()] if lines else cut
        why = f"{PARSE_LINES} lines"
    if len(cut) < size:
        defects.append(f"more than {why}: the rest of the message is not read")
    return cut


# What the feed parser takes for a header line (email.feedparser.headerRE), line by line: the
# first line that is not one (blank or not) ends the header block. On the raw bytes: one a
# character once decoded (a byte over 127 is no header-name character either way).
_HEAD_LINES = re.compile(rb"(?:(?:From |[\041-\071\073-\176]*:|[\t ])[^\r\n]*(?:\r\n|\r|\n))*")
_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)?")
_FIRST_LINES = re.compile(rf"(?:[^\r\n]*(?:\r\n|\r|\n)){{{PARSE_LINES}}}")


_HEADER_END = re.compile(rb"\n\r?\n")


def _cut_header_block(text: bytes, defects: list[str]) -> bytes:
    """The message with at most TOP_HEADER_LINES lines of its own header block (to the first
    blank line): the first half (our server's trace and authentication fields) and the last
    (the sender's own); a line longer than HEADER_LINE_CHARS as its head and tail. Lines are
    found one `find` at a time, so a block of megabytes is not split and copied whole."""
    m = _HEADER_END.search(text)
    end = m.start() + 1 if m else len(text)
    count = text.count(b"\n", 0, end)
    if count <= TOP_HEADER_LINES and end <= HEADER_LINE_CHARS:
        return text  # no line of it can be too long
    if count > TOP_HEADER_LINES:
        half = TOP_HEADER_LINES // 2
        defects.append(f"more than {TOP_HEADER_LINES} header lines; the middle ones ignored")
        spans = _first_lines(text, end, half) + _last_lines(text, end, half + 1)
    else:
        spans = _first_lines(text, end, count + 1)
    lines: list[bytes] = []
    for start, stop in spans:
        if stop - start > HEADER_LINE_CHARS:
            lines.append(
                text[start : start + HEADER_LINE_HEAD] + b" " + text[stop - HEADER_LINE_TAIL : stop]
            )
        else:
            lines.append(text[start:stop])
    if any(stop - start > HEADER_LINE_CHARS for start, stop in spans):
        defects.append(f"a header line longer than {HEADER_LINE_CHARS} characters; cut")
    return b"\n".join(lines) + text[end:]


def _first_lines(text: bytes, end: int, n: int) -> list[tuple[int, int]]:
    """(start, stop) of the first `n` lines of text[:end] (the last may run to `end`)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for _ in range(n):
        newline = text.find(b"\n", pos, end)
        if newline < 0:
            spans.append((pos, end))
            break
        spans.append((pos, newline))
        pos = newline + 1
    return spans


def _last_lines(text: bytes, end: int, n: int) -> list[tuple[int, int]]:
    """(start, stop) of the last `n` lines of text[:end], which has more than `n` of them."""
    spans: list[tuple[int, int]] = []
    stop = end
    for _ in range(n):
        newline = text.rfind(b"\n", 0, stop)
        spans.append((newline + 1, stop))
        stop = newline
    return spans[::-1]


def content_type(part: Message) -> str:
    """The type a part declares, lower-case ("text/plain" when it cannot be read)."""
    try:
        if isinstance(part, Part):
            return part.declared_type().lower()
        return part.get_content_type().lower()
    except Exception:
        return "text/plain"


def walk(msg: Message, defects: list[str]) -> Iterator[tuple[Message, str, bool]]:
    """(part, content type, inside an attached message) for every part, depth first."""
    stack: list[tuple[Message, int, bool]] = [(msg, 0, False)]
    seen = 0
    while stack:
        part, depth, attached = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            defects.append(f"more than {MAX_PARTS} MIME parts; the rest ignored")
            return
        ctype = content_type(part)
        yield part, ctype, attached
        if depth >= MAX_DEPTH:
            if ctype.startswith(("multipart/", "message/")) and ctype not in DSN_TYPES:
                defects.append("MIME nesting too deep; inner parts ignored")
            continue
        if not part.is_multipart():  # never get_payload() of a leaf: it decodes the charset
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            inner = attached or ctype.startswith("message/")
            for sub in reversed(payload):
                if isinstance(sub, Message):
                    stack.append((sub, depth + 1, inner))


def raw_payload(part: Message) -> str:
    """The undecoded body of a leaf part (8-bit bytes as surrogates), never raising."""
    if part.is_multipart():
        return ""
    payload: object = getattr(part, "_payload", "")  # get_payload() may decode and raise
    return payload if isinstance(payload, str) else ""


def header_name(name: object) -> str:
    return unsurrogate(str(name)).strip().lower()
