"""Raw address and message-id header values → addresses and ids, linear in their size.

Decides who sent a message: the addr-spec of the one mailbox of the one From header, as the
stdlib's strict RFC 5322 parser (`email._header_value_parser`, which `email.headerregistry`
uses) reads it, never text from a display name or a comment; anything else (no From, two, a
group, two mailboxes, an invalid mailbox) is no sender. `email.utils.getaddresses(strict=True)`
would do too, but Python 3.11 before 3.11.10 lacks `strict`, and the parse tree says *why* a
From is refused. Recipient lists (To, Cc, Delivered-To, Return-Path) are read leniently: they
only route mail to signed addresses of ours, and a careless server's junk should not hide them;
a value longer than `MAX_PARSED_CHARS` is read by its address-shaped tokens alone (the stdlib
parser costs ~13 µs an address: "a@" 8,000 times in a Cc took 50 ms).

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email import _header_value_parser as rfc5322
from email.errors import NonASCIILocalPartDefect, ObsoleteHeaderDefect
from email.utils import getaddresses

from mailbot.mail.decode import (
    decode_header_value,
    decode_words,
    one_line,
    printable,
    unfold,
    unsurrogate,
)

MAX_FROM_CHARS = 2_000  # a longer From is no sender (the strict parser is quadratic in places)
MAX_ADDRESS_CHARS = 16_000  # of one recipient header read (its values joined)
MAX_ADDRESS_FIELDS = 10  # values of one recipient header read (RFC 5322 allows one)
MAX_PARSED_CHARS = 2_000  # of one recipient value given to getaddresses (~50 recipients)
MAX_IDS = 500  # ids kept of one threading header: the first and the last ones
_FROM_DEFECTS_OK = (ObsoleteHeaderDefect, NonASCIILocalPartDefect)  # obs-phrase "J. Doe"; EAI

_ANGLE_ID = re.compile(r"<([^<>\s]+)>")
_ADDR_TOKEN = re.compile(r"[^\s<>\"'(),;:\[\]]+")
_ENCODED_RUN = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?]*\?=(?:\s+=\?[^?\s]+\?[bBqQ]\?[^?]*\?=)*")
_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")

# The everyday shapes of an address (`a@b.c`, `Name <a@b.c>`, `"Name" <a@b.c>`), for which
# the result of `getaddresses` is known without running it (a property test checks this).
_PLAIN_ADDR = r"[A-Za-z0-9_%+=-]+(?:\.[A-Za-z0-9_%+=-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_PLAIN_MAILBOX = re.compile(
    rf'[ \t]*(?:(?P<bare>{_PLAIN_ADDR})|(?:"(?P<quoted>[A-Za-z0-9 ,.\'()-]*)"'
    rf"|(?P<name>[A-Za-z0-9]+(?: [A-Za-z0-9]+)*))?[ \t]*<(?P<addr>{_PLAIN_ADDR})>)[ \t]*"
)


def plain_addresses(value: str) -> list[tuple[str, str]] | None:
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


# --------------------------------------------------------------------------- the sender


def parse_sender(values: list[str], defects: list[str]) -> tuple[str, str]:
    """The raw From header values → (display name, lower-case addr-spec), or ("", "")."""
    if len(values) != 1:
        defects.append("no From header" if not values else f"{len(values)} From headers")
        return "", ""
    value = unfold(values[0])
    if len(value) > MAX_FROM_CHARS:
        defects.append(f"From longer than {MAX_FROM_CHARS} characters")
        return "", ""
    plain = plain_addresses(value)
    if plain is not None and len(plain) == 1:
        return plain[0]
    why, name, addr = _strict_mailbox(value)
    if why:
        defects.append(f"unreadable From: {why}")
        return "", ""
    return " ".join(printable(name).split()), addr


def _strict_mailbox(value: str) -> tuple[str, str, str]:
    """(why not, display name, addr-spec) of `value` read as exactly one RFC 5322 mailbox."""
    try:
        parsed, rest = rfc5322.get_address_list(value)
    except Exception as exc:  # HeaderParseError, RecursionError on nested comments, ...
        return f"{type(exc).__name__}", "", ""
    if rest.strip():
        return "text after the address list", "", ""
    addresses = parsed.addresses
    if not addresses:
        return "no mailbox", "", ""
    if len(addresses) > 1:
        return f"{len(addresses)} addresses", "", ""
    address = addresses[0]
    if any(isinstance(t, rfc5322.Group) for t in address) or len(address.all_mailboxes) != 1:
        return "a group", "", ""
    box = address.all_mailboxes[0]
    # The parser calls a mailbox invalid for a defect anywhere in it, its display name too
    # (an encoded word in quotes: '"=?iso-2022-jp?B?...?=" <MAILER-DAEMON@x.example>').
    if not box.domain or not box.local_part:
        return "not a valid mailbox", "", ""
    if any(not isinstance(d, _FROM_DEFECTS_OK) for d in _defects_outside_name(parsed, box)):
        return "not a valid mailbox", "", ""
    addr = str(box.addr_spec).lower()
    if _CONTROL.search(addr) and not addr.startswith('"'):
        return "controls or spaces in the address", "", ""
    # "addr (Name)", the old style: the comment is the only name there is.
    name = box.display_name or " ".join(str(c) for c in parsed.comments).strip().strip('"')
    return "", str(name or ""), addr


def _defects_outside_name(parsed: rfc5322.AddressList, box: rfc5322.Mailbox) -> list[object]:
    """The parse defects of everything but the display name (whose broken encoded words or
    controls are the name's problem, cleaned by the caller, not the address's)."""
    found: list[object] = [*parsed.defects, *box.defects]
    for address in parsed:
        found.extend(getattr(address, "defects", ()))
    for token in box:
        if not isinstance(token, rfc5322.TokenList):
            continue
        if token.token_type != "name-addr":
            found.extend(token.all_defects)
            continue
        for sub in token:
            if isinstance(sub, rfc5322.TokenList) and sub.token_type != "display-name":
                found.extend(sub.all_defects)
    return found


# --------------------------------------------------------------------------- recipients


def parse_addresses(values: Iterable[str]) -> list[tuple[str, str]]:
    """Raw address header values → [(display name, lower-case addr-spec)], skipping junk.

    Lenient (see the module docstring); reads at most MAX_ADDRESS_CHARS of them."""
    out: list[tuple[str, str]] = []
    budget = MAX_ADDRESS_CHARS
    for count, raw in enumerate(values):
        if budget <= 0 or count >= MAX_ADDRESS_FIELDS:
            break
        unfolded = unfold(raw)[:budget]
        budget -= len(unfolded)
        plain = plain_addresses(unfolded)
        if plain is not None:
            out.extend(plain)
        elif len(unfolded) > MAX_PARSED_CHARS:
            out.extend(_address_tokens(unfolded))
        else:
            out.extend(parsed_addresses(unfolded))
    return out


def parsed_addresses(unfolded: str) -> list[tuple[str, str]]:
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
    return out if found else _address_tokens(unfolded)  # else the parser gave up


def _address_tokens(unfolded: str) -> list[tuple[str, str]]:
    """Anything shaped like an address: a token with a character before and after an @."""
    return [
        ("", token.strip(".").lower())
        for token in _ADDR_TOKEN.findall(decode_header_value(unfolded))
        if "@" in token[1:-1]
    ]


def _quote_encoded_words(value: str) -> str:
    """Decode encoded-words in an address header into quoted strings, so that a comma or
    an angle bracket they hide cannot split or shift the address list."""
    out: list[str] = []
    pos = 0
    inside_quotes = False  # after an odd number of quotes of the original text
    for m in _ENCODED_RUN.finditer(value):
        before = value[pos : m.start()]
        out.append(before)
        inside_quotes ^= before.replace('\\"', "").count('"') % 2 == 1
        decoded = one_line(decode_words(m.group(0)))
        decoded = decoded.replace("\\", "\\\\").replace('"', '\\"')
        out.append(decoded if inside_quotes else f'"{decoded}"')
        pos = m.end()
    out.append(value[pos:])
    return "".join(out)


# --------------------------------------------------------------------------- message ids


def parse_ids(values: Iterable[str]) -> tuple[str, ...]:
    """Message-ID style header values → ids without <>, in order, de-duplicated.

    Keeps the first and the last ones when there are more than MAX_IDS (a thread's root and
    the messages just answered)."""
    ids: dict[str, None] = {}
    for raw in values:
        for text in _ends(unsurrogate(raw)):
            found = _ANGLE_ID.findall(text) or [t for t in text.split() if "@" in t]
            for mid in found:
                mid = mid.strip().strip("<>,")
                if mid:
                    ids[mid] = None
    out = tuple(ids)
    if len(out) > MAX_IDS:
        out = (out[0], *out[len(out) - MAX_IDS + 1 :])
    return out


_ID_HEAD, _ID_TAIL = 2_000, 120 * MAX_IDS  # characters read of a very long threading header


def _ends(text: str) -> tuple[str, ...]:
    """A long value as its head and tail, each without the id the cut went through."""
    if len(text) <= _ID_HEAD + _ID_TAIL:
        return (text,)
    head, tail = text[:_ID_HEAD], text[-_ID_TAIL:]
    head = head[: max(head.rfind(">") + 1, head.rfind(" "))]
    tail = tail[max(tail.find("<"), tail.find(" ") + 1) :]
    return head, tail
