"""Small text helpers for reading mail bodies: accent folding, quotes, signatures, HTML leftovers.

Decides which lines of a body are the writer's own words (not quoted, not an attribution, not
a signature: `own_lines`, shared by intents, questions and contact) and how two spellings
compare ("Bibliothèque" == "bibliotheque"). `own_lines` reads at most `MAX_OWN_CHARS`
characters of a body unless its caller asks for fewer: hostile input is normal input.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Sequence

_SPACES_RE = re.compile(r"\s+")
# An HTML tag such as <b>, </strong>, <br/>, <span class="x">; "<alice@example.org>" is not one.
_TAG_RE = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")
_BREAK_RE = re.compile(r"<br\s*/?>|</(?:p|div|tr|li|h[1-6])\s*>", re.IGNORECASE)
_CELL_RE = re.compile(r"</t[dh]>\s*<t[dh](?:\s[^<>]*)?>", re.IGNORECASE)
_ENTITY_RE = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_QUOTE_RE = re.compile(r"^\s*>")
# "On Mon, 3 Jun 2024, Bob <b@x> wrote:", "Le 3 juin 2024 à 10:00, Bob a écrit :",
# "El lun, 3 jun 2024, Bob escribió:", Outlook's "-----Original Message-----" and
# "---------- Forwarded message ---------" separators.
_ATTRIBUTION_RES = (
    re.compile(r"^\s*on\b.*\bwrote\s*:?\s*$", re.IGNORECASE),
    re.compile(r"^\s*le\b.*\ba\s+[ée]crit\s*:?\s*$", re.IGNORECASE),
    re.compile(r"^\s*el\b.*\bescribi[óo]\s*:?\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*(original message|message d'origine|mensaje original)", re.I),
    re.compile(r"^\s*-{2,}\s*(forwarded message|message transf[ée]r[ée]|mensaje reenviado)", re.I),
)
# One match a line, not five (every reader of a body asks this of each line).
_ATTRIBUTION_RE = re.compile("|".join(f"(?:{rx.pattern})" for rx in _ATTRIBUTION_RES), re.I)
# Outlook writes no "wrote:" line: it quotes the whole mail under a header block, after a rule
# of underscores or not ("From: …" then "Sent: …", "De : …" / "Envoyé : …", "De: …" / "Enviado: …").
_OUTLOOK_RULE_RE = re.compile(r"^\s*_{10,}\s*$")
_HEADER_FROM_RE = re.compile(r"^\s*\**(from|de|von)\s*:", re.IGNORECASE)
_HEADER_DATE_RE = re.compile(r"^\s*\**(sent|date|envoy[ée]|enviado|fecha|gesendet)\s*:", re.I)
MAX_OWN_CHARS = 100_000  # of a body read for the writer's own lines
_QUOTES = ("’", "‘", "ʼ", "`", "´")  # each folds to "'"
_ASTRAL_RE = re.compile("[\U00010000-\U0010ffff]")


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced form of `text` for comparisons."""
    if text.isascii():  # the common case, ~10x faster than decomposing
        return _SPACES_RE.sub(" ", text.replace("`", "'").lower()).strip()
    for quote in _QUOTES:  # str.replace is a C pass; translate() was ~75 ns a character
        if quote in text:
            text = text.replace(quote, "'")
    decomposed = unicodedata.normalize("NFKD", text)
    if _ASTRAL_RE.search(decomposed):
        stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    else:  # the marks of the BMP as one regex class (a bitmap): ~5x the generator's speed
        stripped = _bmp_marks().sub("", decomposed)
    return _SPACES_RE.sub(" ", stripped.casefold()).strip()


@functools.cache
def _bmp_marks() -> re.Pattern[str]:
    """Every BMP character `unicodedata.combining` calls a mark, as one class (built once)."""
    marks = "".join(chr(cp) for cp in range(0x10000) if unicodedata.combining(chr(cp)))
    return re.compile(f"[{re.escape(marks)}]+")


def collapse_spaces(text: str) -> str:
    """`text` with every run of whitespace turned into one space, trimmed."""
    return _SPACES_RE.sub(" ", text).strip()


def strip_tags(line: str) -> str:
    """`line` without HTML tags (table cells become tabs) and with entities decoded."""
    if "<" in line:
        line = _TAG_RE.sub("", _CELL_RE.sub("\t", line))
    if "&" in line and _ENTITY_RE.search(line):
        line = html.unescape(line)
    return line.replace("\xa0", " ")


def is_quoted(line: str) -> bool:
    """True for a quoted line (`> ...`), whatever the depth."""
    return bool(_QUOTE_RE.match(line))


def is_attribution(line: str) -> bool:
    """True for the line a mail client writes above quoted text ("On ... wrote:")."""
    if len(line) > 300:
        return False
    return bool(_ATTRIBUTION_RE.match(line))


def starts_quoted_mail(lines: Sequence[str], i: int) -> bool:
    """True when `lines[i]` begins the mail being answered: an attribution ("On ... wrote:",
    "-----Original Message-----") or Outlook's header block (a rule of underscores above
    "From:", or a "From:" line directly followed by "Sent:", in any of the three languages)."""
    line = strip_tags(lines[i])
    if is_attribution(line):
        return True
    rule = _OUTLOOK_RULE_RE.match(line)
    if not rule and not _HEADER_FROM_RE.match(line):
        return False  # the next lines matter only below a rule or a "From:"
    following = [strip_tags(x) for x in lines[i + 1 : i + 3] if x.strip()]
    if not following:
        return False
    if rule:
        return bool(_HEADER_FROM_RE.match(following[0]))
    return bool(_HEADER_DATE_RE.match(following[0]))


def is_signature_separator(line: str) -> bool:
    """True for the conventional signature separator line `-- ` (trailing space often lost)."""
    return line.rstrip() == "--"


def lines_of(text: str) -> list[str]:
    """The lines of `text`, whatever its line endings; HTML line breaks (<br>, </p>) count too."""
    if "<" in text:
        text = _BREAK_RE.sub("\n", text)
    return text.splitlines()


def own_lines(
    text: str,
    *,
    skip_quoted: bool,
    outlook_headers: bool,
    max_chars: int = MAX_OWN_CHARS,
    max_lines: int | None = None,
) -> list[str]:
    """The lines the writer typed in `text`, HTML tags stripped, not trimmed: up to the
    signature separator and the mail being answered.

    `skip_quoted`: a quoted line (`> ...`) is left out and reading goes on (inline answers),
    else it ends the writer's text. `outlook_headers`: Outlook's header block ("From:" then
    "Sent:", a rule of underscores) ends it too (`starts_quoted_mail`), else only an
    attribution line ("On ... wrote:"). Reads the first `max_chars` characters and, when
    given, `max_lines` lines of `text`."""
    lines = lines_of(text[:max_chars])
    out: list[str] = []
    for i in range(len(lines) if max_lines is None else min(len(lines), max_lines)):
        raw = lines[i]
        if is_signature_separator(raw):
            break
        if is_quoted(raw):
            if skip_quoted:
                continue
            break
        if starts_quoted_mail(lines, i) if outlook_headers else is_attribution(raw):
            break
        out.append(strip_tags(raw))
    return out
