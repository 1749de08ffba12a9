"""User text → header values that cannot add a header line or a recipient.

The one place every outgoing header value taken from user data is made: display names,
subjects, file names and keys (`one_line`), addresses (`addr_spec`) and message ids (`msg_id`).

`one_line` decodes RFC 2047 encoded words first and strips line breaks and controls from
the result, because the `email` package decodes an encoded word it is handed as a header
value, and would write the CR LF inside it as a new header line. Whatever still looks like
an encoded word after that is broken with a zero-width space, so no writer or reader decodes
it again. Addresses and message ids are not repaired: a value not of the strict shape is
dropped ("").

Must not: do I/O.
"""

from __future__ import annotations

import binascii
import re
import unicodedata
from collections.abc import Iterator

# Bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069): they can make a
# name display as other text. Other format characters stay: ZWNJ and ZWJ are spelling
# (Persian علی‌رضا, many Indic scripts).
_BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
# Controls (C0 and C1: NUL, CR, LF, TAB, NEL ...), line and paragraph separators (U+2028,
# U+2029), lone surrogates (unwritable).
_DROPPED = frozenset({"Cc", "Zl", "Zp", "Cs"})
# An RFC 2047 encoded word, loosely (as the `email` package reads one): charset, B or Q,
# then printable ASCII without '?' or space. Each part stops at the first '?', so a scan
# is linear.
_ENCODED_WORD = re.compile(r"=\?([\x21-\x3e\x40-\x7e]{1,64})\?([bBqQ])\?([\x21-\x3e\x40-\x7e]*)\?=")
_UNBREAKABLE = "=\u200b?"  # "=?" with a zero-width space inside: no encoded word starts here

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]"  # RFC 5322 atext, RFC 6532 UTF-8
_LETTER = r"[A-Za-z0-9\u0080-\U0010ffff]"
_LABEL = rf"{_LETTER}(?:[A-Za-z0-9\-\u0080-\U0010ffff]{{0,61}}{_LETTER})?"  # a host name label
# addr-spec with a dot-atom local part and a host name: no quoted local part, no comment,
# no address literal, nothing a reader could take for two addresses or a display name.
_ADDR_SPEC = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*@{_LABEL}(?:\.{_LABEL})*")
_ID_TEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+"  # printable ASCII without specials or space
# msg-id without its angle brackets: id-left "@" (id-right | an IPv4 or IPv6 literal).
_MSG_ID = re.compile(rf"{_ID_TEXT}@(?:{_ID_TEXT}|\[[A-Fa-f0-9.:]+\])")
MAX_ADDRESS = 254  # octets: RFC 5321 §4.5.3.1.3 (path), less the angle brackets
MAX_LOCAL_PART = 64  # octets: RFC 5321 §4.5.3.1.1
MAX_MSG_ID = 250  # keeps "References: <id>" far below 998 octets


def one_line(text: str, limit: int = 200) -> str:
    """User-supplied text safe for a header: encoded words decoded, then no CR/LF, no
    control or line-separator character, no bidi override, runs of white space made one
    space, no "=?" left, bounded to `limit` characters."""
    if "=?" in text:
        text = decode_encoded_words(text)
    if not text.isprintable():
        text = "".join(
            " " if ch in _BIDI_CONTROLS or unicodedata.category(ch) in _DROPPED else ch
            for ch in text
        )
    text = " ".join(text.split())
    if "=?" in text:
        text = text.replace("=?", _UNBREAKABLE)
    return text[:limit]


def addr_spec(value: str) -> str:
    """`value` when it is a plain addr-spec (`local@host`, dot-atom local part, no "=?"),
    else ""."""
    if len(value) > MAX_ADDRESS or "=?" in value or not _ADDR_SPEC.fullmatch(value):
        return ""
    # UTF-8 (RFC 6532): no control, format or space character; the limits are in octets
    if not value.isascii() and (not value.isprintable() or len(value.encode()) > MAX_ADDRESS):
        return ""
    return value if len(value.rpartition("@")[0].encode()) <= MAX_LOCAL_PART else ""


def msg_id(value: str) -> str:
    """`value` (an id without <>) when it has the strict msg-id shape `left@right` in
    printable ASCII without space, specials or "=?", else ""."""
    if len(value) > MAX_MSG_ID or "=?" in value or not _MSG_ID.fullmatch(value):
        return ""
    return value


def decode_encoded_words(text: str) -> str:
    """`text` with its RFC 2047 encoded words decoded, as a lenient reader would: wherever
    they stand, white space between two of them dropped, bytes of adjacent words in one
    charset decoded together (a character may be split between words), an unknown charset
    read as UTF-8, bad bytes replaced. A word that cannot be decoded stays as it is."""
    out: list[str] = []
    pending: list[bytes] = []  # bytes of adjacent words in one charset, not yet decoded
    charset = ""
    end = 0
    for start, stop, word_charset, data in _words(text):
        gap = text[end:start]
        adjacent = bool(pending) and not gap.strip()  # white space between two words is not text
        if pending and not (adjacent and word_charset == charset):
            out.append(_decode(b"".join(pending), charset))
            pending = []
        if not adjacent:
            out.append(gap)
        pending.append(data)
        charset, end = word_charset, stop
    if pending:
        out.append(_decode(b"".join(pending), charset))
    out.append(text[end:])
    return "".join(out)


def _words(text: str) -> Iterator[tuple[int, int, str, bytes]]:
    """(start, end, charset, bytes) of each encoded word of `text` that decodes."""
    for m in _ENCODED_WORD.finditer(text):
        charset, encoding, payload = m.groups()
        try:
            if encoding in "bB":
                data = binascii.a2b_base64(payload + "=" * (-len(payload) % 4))
            else:
                data = binascii.a2b_qp(payload.encode("ascii"), header=True)
        except (binascii.Error, ValueError):
            continue
        yield m.start(), m.end(), charset.partition("*")[0].lower(), data


def _decode(data: bytes, charset: str) -> str:
    try:
        return data.decode(charset, "replace")
    except (LookupError, UnicodeError, ValueError, TypeError):  # unknown or not a text codec
        return data.decode("utf-8", "replace")
