"""Reads the plain text of a bounce report by its structure: where addresses are, which of
them an SMTP transcript or a quoted delivery-status block says failed, and where the report
ends and the copy of the returned message begins.

Every scan here is linear in its input and looks at no more than `MAX_SCAN` characters (and
`MAX_LINES` lines: a line costs ~0.5 µs a scan, and a report is ~50 lines; and `MAX_ATS` "@"
signs, ~1 µs each: a report names a few addresses, its returned headers a few hundred): an
address is found from its `@` outwards, with the local part and the domain bounded by the
RFC 5321 lengths, never by a regex that may restart at every character of a long run.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

MAX_SCAN = 32_000  # characters of a report (or header) read: the report, the copy's headers
MAX_LINES = 1_000  # lines of a report read by the line scans (four scans: ~6 µs a line)
MAX_ATS = 1_000  # "@" signs looked at by one address scan
MAX_LOCAL = 64  # RFC 5321 4.5.3.1.1
MAX_DOMAIN = 255  # RFC 5321 4.5.3.1.2

_LOCAL_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~.-"
)
_DOMAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")

# What may stand right before an address that is not a recipient (lower-case, ":" and "<"
# stripped): the sender of an SMTP transaction, a returned header, a Message-ID.
_NOT_RECIPIENT_BEFORE = (
    "from",
    "sender",
    "return-path",
    "reply-to",
    "errors-to",
    "message-id",
    "message id",
    "in-reply-to",
    "references",
    "helo",
    "ehlo",
    "contact",
    "contact us at",
    "write to",
)

# "RCPT TO:<a@b>" in a transcript, the reply to it, and Sendmail's "550 <a@b>... reason".
_RCPT = re.compile(r"rcpt to:?[ \t]*<?([^\s<>]{1,320})", re.IGNORECASE)
# One run of blanks before the code, not two in a row: "[ \t|]*" then "[ \t]*" split every
# run of spaces both ways (quadratic in the run).
_REPLY_CODE = re.compile(
    r"^[ \t|]*(?:(?:<<<|>>>|received >>>|in:|out:)[ \t]*)?([2345])\d\d[ -]", re.IGNORECASE
)
_SENDMAIL_LINE = re.compile(
    r"^[ \t]*([45])\d\d[ -](?:[45]\.\d{1,3}\.\d{1,3}[ \t]+)?<?([^\s<>]{1,320}?)>?\.\.\."
)

# Header names whose lines, two in a row, start the quoted copy of the returned message.
_HEADER_NAMES = frozenset(
    {
        "received",
        "return-path",
        "from",
        "to",
        "cc",
        "date",
        "subject",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "sender",
        "reply-to",
        "delivered-to",
        "x-mailer",
        "user-agent",
        "dkim-signature",
        "authentication-results",
        "x-originating-ip",
        "in-reply-to",
        "references",
        # fr, es, de, and Exchange's "Sent:"
        "de",
        "à",
        "a",
        "para",
        "an",
        "von",
        "sent",
        "envoyé",
        "enviado",
        "fecha",
        "objet",
        "asunto",
        "betreff",
    }
)
_HEADER_LINE = re.compile(r"[ \t>]*([A-Za-zÀ-ÿ][A-Za-zÀ-ÿ0-9-]{0,40})[ \t]*:")

# Fields of an RFC 3464 delivery-status block quoted as text (a DSN whose MIME structure was
# lost, or pasted into the report).
_DSN_FIELD = re.compile(
    r"^[ \t]*(final-recipient|original-recipient|x-actual-recipient|action|status"
    r"|diagnostic-code)[ \t]*:[ \t]*(.{0,400})",
    re.IGNORECASE,
)


def _valid_domain(domain: str) -> bool:
    labels = domain.split(".")
    return len(labels) >= 2 and all(labels) and not domain.startswith("-")


def addresses(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, lower-case address) of every address-shaped span, left to right."""
    text = text[:MAX_SCAN]
    n = len(text)
    pos = 0
    floor = 0  # an address never starts inside the previous one
    for _ in range(MAX_ATS):
        at = text.find("@", pos)
        if at < 0:
            return
        i = at
        limit = max(floor, at - MAX_LOCAL)
        while i > limit and text[i - 1] in _LOCAL_CHARS:
            i -= 1
        j = at + 1
        stop = min(n, at + 1 + MAX_DOMAIN)
        while j < stop and text[j] in _DOMAIN_CHARS:
            j += 1
        while i < at and text[i] == ".":
            i += 1
        while j > at + 1 and text[j - 1] in ".-":
            j -= 1
        local, domain = text[i:at], text[at + 1 : j]
        if local and _valid_domain(domain):
            yield i, j, f"{local}@{domain}".lower()
            floor = j
            pos = j
        else:
            pos = at + 1


def first_address(text: str) -> tuple[int, int, str] | None:
    return next(addresses(text), None)


def names_sender(text: str, start: int) -> bool:
    """The address at `start` follows a word that makes it a sender or an id, not a recipient."""
    before = text[max(0, start - 16) : start].lower().rstrip(" \t<:\"'([")
    return before.endswith(_NOT_RECIPIENT_BEFORE)


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """(offset, line) of each line of `text`, capped at `MAX_SCAN` characters, `MAX_LINES` lines."""
    text = text[:MAX_SCAN]
    pos = 0
    n = len(text)
    for _ in range(MAX_LINES):
        if pos >= n:
            return
        nl = text.find("\n", pos)
        end = n if nl < 0 else nl
        yield pos, text[pos:end]
        pos = end + 1


def transcript_failures(text: str) -> list[str]:
    """Recipients an SMTP transcript shows refused: `RCPT TO:<a>` answered by a 4xx/5xx
    reply on one of the next lines, or Sendmail's `550 <a>... User unknown` lines."""
    found: list[str] = []
    pending = ""  # the address of the last RCPT TO not yet answered
    waited = 0
    for _offset, line in _lines(text):
        line = line[:1000]
        if m := _SENDMAIL_LINE.match(line):
            addr = first_address(m.group(2))
            if addr and addr[2] not in found:
                found.append(addr[2])
            continue
        if m := _RCPT.search(line):
            addr = first_address(m.group(1))
            pending, waited = (addr[2] if addr else ""), 0
            rest = line[m.end() :]
            if pending and (reply := re.search(r"(?<!\d)([2345])\d\d[ -]", rest)):
                if reply.group(1) in "45" and pending not in found:
                    found.append(pending)
                pending = ""
            continue
        if pending:
            if reply := _REPLY_CODE.match(line):
                if reply.group(1) in "45" and pending not in found:
                    found.append(pending)
                pending = ""
            else:
                waited += 1
                if waited > 3:
                    pending = ""
    return found


def dsn_blocks(text: str) -> list[dict[str, str]]:
    """Blocks of delivery-status fields quoted in plain text, one per recipient, with the
    address fields reduced to the address (`rfc822;` and angle brackets dropped)."""
    blocks: list[dict[str, str]] = []
    block: dict[str, str] = {}
    for _offset, line in _lines(text):
        m = _DSN_FIELD.match(line)
        if m is None:
            if not line.strip() and block:
                blocks.append(block)
                block = {}
            continue
        name, value = m.group(1).lower(), m.group(2).strip()
        if name in block:  # a new recipient's fields without a blank line between
            blocks.append(block)
            block = {}
        if name.endswith("recipient"):
            addr = first_address(value.partition(";")[2] or value)
            value = addr[2] if addr else ""
        block[name] = value
    if block:
        blocks.append(block)
    return [b for b in blocks if any(k.endswith("recipient") and v for k, v in b.items())]


def header_block_start(text: str, start: int = 0) -> int:
    """Offset of the first line at or after `start` that, with the next line, looks like the
    header block of a quoted message (two known header names in a row), or -1."""
    previous = -1
    for offset, line in _lines(text[start:]):
        m = _HEADER_LINE.match(line)
        if m and m.group(1).lower() in _HEADER_NAMES:
            if previous >= 0:
                return start + previous
            previous = offset
        elif line[:1] in (" ", "\t") and previous >= 0:
            continue  # a folded header line
        else:
            previous = -1
    return -1


def quoted_to(text: str) -> list[str]:
    """Addresses of the first `To:` line of a quoted header block in `text`."""
    for _offset, line in _lines(text[:20_000]):
        m = _HEADER_LINE.match(line)
        if m and m.group(1).lower() == "to":
            return [a for _s, _e, a in addresses(line[m.end() : m.end() + 2000])]
    return []
