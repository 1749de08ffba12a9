"""Bytes and raw header values → text, whatever the charset or encoding claims.

Decides how inbound text is decoded: a declared charset when it works, else UTF-8, else
Latin-1 (never an exception); RFC 2047 encoded words decoded (the first `MAX_ENCODED_WORDS`
of a value); every decoded header value on one line, without line breaks of any kind (an
encoded word may hold CR LF). Every scan here is linear in its input.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import binascii
import codecs
import re

MAX_HEADER_CHARS = 8_000  # of one header value decoded; the rest is dropped
MAX_ENCODED_WORDS = 100  # decoded of one value (~5 µs each); the rest stay as written
MAX_BLOCK_LINES = 2_000  # lines of a header block read as text (DSN fields, returned headers)

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_WS_BETWEEN_EW = re.compile(r"(\?=)\s+(=\?)")
FOLD = re.compile(r"\r?\n(?=[ \t])")
# What ends a line for someone (str.splitlines, Unicode): none of it belongs in a header value.
_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")
# Every C0 and C1 control, DEL and the line separators: not in a name.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Codecs that are not text encodings or that fail in their own ways (`undefined` always raises).
_NOT_CHARSETS = frozenset({"undefined", "idna", "punycode", "unicode_escape", "raw_unicode_escape"})


def decode_bytes(data: bytes, charset: str | None, defects: list[str] | None = None) -> str:
    """Bytes → str with `charset`; unknown or wrong charsets fall back to utf-8, then latin-1."""
    cs = (charset or "").strip().strip("\"'").lower()
    if cs:
        cs = cs.split("*", 1)[0]  # RFC 2231 language suffix
        try:
            info = codecs.lookup(cs)
            if not info._is_text_encoding or info.name in _NOT_CHARSETS:
                raise LookupError(cs)
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


def unsurrogate(value: str) -> str:
    """Header strings from the bytes parser carry raw 8-bit bytes as surrogates."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        raw = value.encode("ascii", errors="surrogateescape")
        return decode_bytes(raw, None)


def unfold(value: str) -> str:
    """A raw header value on one line, with 8-bit bytes decoded, cut at MAX_HEADER_CHARS."""
    text = unsurrogate(FOLD.sub("", value[: MAX_HEADER_CHARS * 2]))
    return text.replace("\r", "").replace("\n", " ")[:MAX_HEADER_CHARS]


def one_line(text: str) -> str:
    """Decoded text with every line break (a run of them) made one space, NULs dropped.

    Other controls stay: ESC is how raw ISO-2022-JP text (Japanese bounces) is written."""
    return _LINE_BREAKS.sub(" ", text).replace("\x00", "")


def printable(text: str) -> str:
    """Text with every control (a run of them, tabs too) made one space: for names."""
    return _CONTROLS.sub(" ", text)


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


def decode_words(text: str) -> str:
    """RFC 2047 encoded words in `text` decoded (whitespace between two of them dropped), the
    first MAX_ENCODED_WORDS of them."""
    if "=?" not in text:
        return text
    text = _WS_BETWEEN_EW.sub(r"\1\2", text, count=MAX_ENCODED_WORDS - 1)

    def repl(m: re.Match[str]) -> str:
        decoded = _decode_word(m.group(1), m.group(2), m.group(3))
        return m.group(0) if decoded is None else decoded

    return _ENCODED_WORD.sub(repl, text, count=MAX_ENCODED_WORDS)


def decode_header_value(value: object) -> str:
    """A raw header value → text on one line, encoded words decoded."""
    text = value if isinstance(value, str) else str(value)
    if text.isascii() and text.isprintable() and "=?" not in text:
        return text[:MAX_HEADER_CHARS].strip()  # what the passes below make of it, in one
    return one_line(decode_words(unfold(text))).strip()


def read_header_block(text: str) -> dict[str, tuple[str, ...]]:
    """'Name: value' lines (with continuation lines) → lower-case name → decoded values.

    Reads at most MAX_BLOCK_LINES lines; a value is cut at MAX_HEADER_CHARS."""
    fields: dict[str, list[list[str]]] = {}
    name = ""
    sizes: dict[str, int] = {}
    for count, line in enumerate(text.splitlines()):
        if count >= MAX_BLOCK_LINES:
            break
        if not line.strip():
            if fields:
                break
            continue
        if line[0] in " \t" and name:
            if sizes[name] < MAX_HEADER_CHARS:  # pieces joined once at the end: linear
                piece = line.strip()
                fields[name][-1].append(piece)
                sizes[name] += len(piece) + 1
            continue
        key, colon, value = line.partition(":")
        if not colon or not key.strip() or " " in key.strip():
            name = ""
            continue
        name = key.strip().lower()
        fields.setdefault(name, []).append([value.strip()])
        sizes[name] = len(value)
    return {
        k: tuple(decode_header_value(" ".join(pieces)) for pieces in vs) for k, vs in fields.items()
    }
