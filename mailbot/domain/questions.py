"""A participant's question for a person: which of their words to keep, and whether it cannot
wait for the weekly digest.

Decides:
- `own_words`: the lines the person wrote in this message — quoted text, the attribution line
  above it and the signature are not theirs — trimmed and capped (`MAX_QUESTION_CHARS`);
- `is_urgent`: the words say someone may be harmed or treated badly, or ask for haste
  (English, French, Spanish; accents and case ignored): such a question is mailed to the
  coordinators at once instead of waiting for the digest.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import re

from mailbot.domain.textutil import fold, own_lines

MAX_QUESTION_CHARS = 2000
MAX_SUBJECT_CHARS = 300

# Word stems (folded) that make a question urgent; matched at the start of a word, so
# "harass" finds "harassed" and "harassment". Kept short: a false alarm costs one early mail.
URGENT_STEMS = (
    # en
    "urgent",
    "emergency",
    "harass",
    "abuse",
    "abusive",
    "threat",
    "unsafe",
    "bully",
    "inappropriate",
    "stalk",
    "assault",
    "discriminat",
    "complaint",
    # fr
    "urgence",
    "harcel",
    "abus",
    "menace",
    "inapproprie",
    "plainte",
    "agress",
    # es
    "urgente",
    "acoso",
    "acosa",
    "abuso",
    "amenaz",
    "inapropiad",
    "queja",
    "agresi",
    "discrimina",
)
_WORD_RE = re.compile(r"[a-z]+")


def own_words(text: str, limit: int = MAX_QUESTION_CHARS) -> str:
    """The person's own lines of `text`, up to quoted text or the signature; at most `limit`
    characters (cut at a word, with "…")."""
    kept = own_lines(text, skip_quoted=False, outlook_headers=False)
    words = "\n".join(line.rstrip() for line in kept).strip()
    words = re.sub(r"\n{3,}", "\n\n", words)
    if len(words) <= limit:
        return words
    cut = words[: limit - 1].rsplit(" ", 1)[0] if " " in words[: limit - 1] else words[: limit - 1]
    return cut.rstrip() + "…"


def is_urgent(subject: str, text: str) -> bool:
    """True when the subject or the person's words contain an urgent word (`URGENT_STEMS`)."""
    for word in _WORD_RE.findall(fold(f"{subject} {text}")):
        if word.startswith(URGENT_STEMS):
            return True
    return False
