"""The end-of-round survey: what a reply says (satisfaction, most valuable thing, next step).

Must not: do I/O or read the clock.

The survey mail asks three things, in English, French or Spanish:
    Satisfaction (1-5):            Satisfaction (1-5) :              Satisfacción (1-5):
    The most valuable thing:       Le plus précieux :                Lo más valioso:
    Your choice (1, 2 or 3):       Votre choix (1, 2 ou 3) :         Su opción (1, 2 o 3):
      1 a new partner next round     1 un nouveau partenaire           1 una nueva pareja
      2 continue independently       2 continuer de façon             2 continuar por nuestra
        with my partner                indépendante avec mon            cuenta con mi pareja
                                       partenaire
      3 stop                         3 arrêter                         3 dejarlo

How a reply is read (`parse_survey_answer`), leniently:
- Case, accents and spacing do not matter; a leading "1." / "-" / "*" before a label is ignored;
  the separator may be ":", "：", "=", " - " or nothing ("Satisfaction 4", "opción 1").
- Satisfaction: a label (satisfaction, satisfacción, satisfait, rating, note, nota, puntuación,
  calificación, score) followed by 1-5 as a digit or word ("four", "quatre", "cuatro"), optionally
  "/5", "out of 5", "sur 5", "de 5". Anywhere without a label, "N/5" is a rating too.
- Choice: a label (choice, choix, option, opción, elección, decision) followed by 1-3 or by words
  naming exactly one option ("new partner", "on our own", "stop", "nueva pareja", "arrêter", …).
  Without a label, "option 2" / "choix 2" / "opción 2" count. A bare "continue" is *not* read:
  in commands CONTINUE means the next round, in the survey it could mean option 2.
- Most valuable thing: the text after its label, plus the following lines up to a blank line or
  the next label. Its original case and accents are kept.
- Quoted lines (">") are ignored, but an answer typed on the line right after a quoted label
  ("> Satisfaction (1-5):" then "4") belongs to that label, as after a label of one's own
  with nothing after its colon ("Satisfaction:" then "4"). Reading stops at a signature separator
  ("-- ") or an "Original message" / "Forwarded message" separator.
- A reply that is only a number ("1") is *not* read: it could be a satisfaction of 1 or the
  choice of a new partner, and guessing wrong either misreports the round or re-enrols someone.
  The caller answers such mail with the survey's help text instead.
Returns None when nothing was read.

Hostile input is normal input: every scan is linear, and a reply is read only as far as a
survey answer can reach — its first `MAX_SCAN_CHARS` characters, `MAX_LINES` lines, each line's
first `MAX_LINE_CHARS` characters (the "most valuable" text is cut at 2000 anyway), and a label
only in a line's first `_LABEL_SCAN` characters.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from mailbot.domain.textutil import (
    fold,
    is_attribution,
    is_quoted,
    is_signature_separator,
    lines_of,
    strip_tags,
)

MAX_SCAN_CHARS = 16_000  # of a reply's text read (the survey mail itself is ~2 kB)
MAX_LINES = 200  # a line costs up to ~10 µs (it is folded, accents and all, and matched)
MAX_LINE_CHARS = 2_000
_LABEL_SCAN = 200  # characters of a line a label and its separator may take (labels: <= 60)


class Choice(enum.IntEnum):
    NEW_PARTNER = 1  # a new partner next round
    CONTINUE_INDEPENDENTLY = 2  # continue on our own, outside the program
    STOP = 3


@dataclass(frozen=True)
class SurveyAnswer:
    satisfaction: int | None  # 1..5
    valuable: str  # "" when not given
    choice: Choice | None


_SAT_LABELS = (
    "satisfaction",
    "satisfaccion",
    "satisfait",
    "satisfaite",
    "satisfied",
    "rating",
    "note",
    "nota",
    "puntuacion",
    "calificacion",
    "score",
)
_CHOICE_LABELS = ("choice", "choix", "option", "opcion", "eleccion", "decision", "choose")
_VALUABLE_LABELS = (
    "most valuable",
    "valuable",
    "plus precieux",
    "plus precieuse",
    "plus utile",
    "plus apprecie",
    "mas valioso",
    "mas valiosa",
    "mas util",
)
_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "uno": 1,
    "una": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
}
_CHOICE_WORDS: dict[Choice, tuple[str, ...]] = {
    Choice.NEW_PARTNER: (
        "new partner",
        "nouveau partenaire",
        "nouvelle partenaire",
        "nouveau binome",
        "nueva pareja",
        "nuevo companero",
        "nueva companera",
        "next round",
        "prochaine session",
        "siguiente ronda",
        "proxima ronda",
    ),
    Choice.CONTINUE_INDEPENDENTLY: (
        "independently",
        "on our own",
        "with my partner",
        "independamment",
        "independante",
        "avec mon partenaire",
        "avec ma partenaire",
        "por nuestra cuenta",
        "independiente",
        "con mi pareja",
        "con mi companer",
    ),
    Choice.STOP: ("stop", "arreter", "arrete", "parar", "dejarlo", "dejar", "terminar"),
}

_BULLET_RE = re.compile(r"^\s*(?:\d[.)]|[-*•·])\s+")
# A separator starts where a run of spaces starts (the lookbehind): trying it at every space
# of a long run was quadratic.
_SEPARATOR_RE = re.compile(r"(?<!\s)\s*[:：=]\s*|(?<!\s)\s+[-–—]\s+")
# Innermost brackets: "[^)]*" rescanned the rest of a line from every unclosed "(".
_PAREN_RE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_RATING_RE = re.compile(
    r"^\s*(?:([1-5])|(" + "|".join(_NUMBER_WORDS) + r"))\b"
    r"(?:\s*(?:/|sur|de|out of|of)\s*5\b)?"
)
_CHOICE_NUM_RE = re.compile(r"^\s*(?:n[o°º]\.?\s*|#\s*)?([1-3])\b(?!\s*/)")
_LOOSE_RATING_RE = re.compile(r"(?<![\d/])([1-5])\s*/\s*5\b")
_LOOSE_CHOICE_RE = re.compile(
    r"^\s*(?:my |mon |ma |mi |votre |su |your )?(?:choice|choix|option|opcion|eleccion)\s*"
    r"(?:n[o°º]\.?\s*|#\s*)?([1-3])\b"
)
_WORD_RE = re.compile(r"[a-z]+")
_BREAK_RE = re.compile(r"^\s*-{2,}\s*(?:original|forward|message|mensaje)", re.IGNORECASE)


def _label_of(head: str) -> str | None:
    """ "satisfaction" | "choice" | "valuable" for a folded label text, else None."""
    head = _PAREN_RE.sub(" ", head)
    words = set(_WORD_RE.findall(head))
    if len(head) > 60:
        return None
    if any(label in head for label in _VALUABLE_LABELS):
        return "valuable"
    if words & set(_SAT_LABELS):
        return "satisfaction"
    if words & set(_CHOICE_LABELS):
        return "choice"
    return None


def _rating(value: str) -> int | None:
    m = _RATING_RE.match(value)
    if not m:
        return None
    return int(m.group(1)) if m.group(1) else _NUMBER_WORDS[m.group(2)]


def _choice(value: str) -> Choice | None:
    value = _PAREN_RE.sub(" ", value)
    m = _CHOICE_NUM_RE.match(value)
    if m:
        return Choice(int(m.group(1)))
    word = value.strip(" .!,;")
    if _NUMBER_WORDS.get(word, 9) <= 3:  # only the whole value: "tres" may be French "très"
        return Choice(_NUMBER_WORDS[word])
    found = {c for c, phrases in _CHOICE_WORDS.items() if any(p in value for p in phrases)}
    if len(found) == 1:
        return found.pop()
    return None


def _split(line: str) -> tuple[str | None, str]:
    """(label, value as typed) when the line starts with a label, else (None, line)."""
    body = _BULLET_RE.sub("", line, count=1)
    head = body[:_LABEL_SCAN]
    masked = _PAREN_RE.sub(lambda p: " " * len(p.group()), head)  # "(1 = poor, 5 = great):"
    m = _SEPARATOR_RE.search(masked)
    if m and m.start() > 0:
        label = _label_of(fold(body[: m.start()]))
        if label:
            return label, body[m.end() :].strip()
    if not fold(head).startswith(_SAT_LABELS + _CHOICE_LABELS):
        return None, line  # the whole line is folded only below a label (~0.2 µs a character)
    folded = fold(body)
    for label_kind, labels in (("satisfaction", _SAT_LABELS), ("choice", _CHOICE_LABELS)):
        for label in labels:
            if folded.startswith(label + " "):
                rest = _PAREN_RE.sub(" ", folded[len(label) :])
                ok = _rating(rest) if label_kind == "satisfaction" else _choice(rest)
                if ok is not None:
                    return label_kind, rest.strip()
    return None, line


def _own_lines(text: str) -> list[tuple[str, bool]]:
    """(line, quoted) for each line worth reading, up to a signature or original-message break."""
    out: list[tuple[str, bool]] = []
    for raw in lines_of(text[:MAX_SCAN_CHARS]):
        raw = raw[:MAX_LINE_CHARS]
        if len(out) >= MAX_LINES or is_signature_separator(raw) or _BREAK_RE.match(raw):
            break
        if is_quoted(raw):
            out.append((strip_tags(raw.lstrip().lstrip(">").strip()), True))
            continue
        if is_attribution(raw):
            continue
        out.append((strip_tags(raw).strip(), False))
    return out


def parse_survey_answer(text: str) -> SurveyAnswer | None:
    """What a survey reply says, or None when nothing could be read (rules above)."""
    satisfaction: int | None = None
    choice: Choice | None = None
    valuable: list[str] = []
    collecting = False  # inside the "most valuable" answer
    pending: str | None = None  # label of the line just above, still unanswered
    for line, quoted in _own_lines(text):
        if quoted:
            label, value = _split(line)
            pending = label if label and not value else None
            collecting = False
            continue
        if not line:
            collecting = False
            pending = None
            continue
        label, value = _split(line)
        if label is None and pending is not None:
            label, value = pending, line
        pending = None
        if label in ("satisfaction", "choice") and not value:
            pending, collecting = label, False  # answered on the line below
            continue
        if label == "satisfaction":
            collecting = False
            satisfaction = satisfaction or _rating(fold(value))
        elif label == "choice":
            collecting = False
            choice = choice or _choice(fold(value))
        elif label == "valuable":
            collecting = not valuable
            if value and collecting:
                valuable.append(value)
        elif collecting:
            valuable.append(line)
        else:
            folded = fold(line)
            if satisfaction is None and (m := _LOOSE_RATING_RE.search(folded)):
                satisfaction = int(m.group(1))
            if choice is None and (m := _LOOSE_CHOICE_RE.match(folded)):
                choice = Choice(int(m.group(1)))
    text_value = " ".join(" ".join(valuable).split())[:2000]
    if satisfaction is None and choice is None and not text_value:
        return None
    return SurveyAnswer(satisfaction, text_value, choice)


def survey_summary(answers: Sequence[SurveyAnswer], invited: int) -> dict[str, object]:
    """Aggregates for the coordinators: one answer per respondent (the caller keeps the latest).

    Keys: invited, responses, response_rate (responses / invited, 0.0 when none invited),
    satisfaction_answers, satisfaction_mean (None when none), satisfied_share (4 or 5, of those
    who rated), satisfaction_distribution {1..5: n}, choices {new_partner, continue_independently,
    stop, none: n}, valuable (the free texts, in the order given).
    """
    ratings = [a.satisfaction for a in answers if a.satisfaction is not None]
    distribution = {n: 0 for n in range(1, 6)}
    for r in ratings:
        distribution[r] += 1
    choices = {c.name.lower(): 0 for c in Choice} | {"none": 0}
    for a in answers:
        choices[a.choice.name.lower() if a.choice is not None else "none"] += 1
    return {
        "invited": invited,
        "responses": len(answers),
        "response_rate": len(answers) / invited if invited > 0 else 0.0,
        "satisfaction_answers": len(ratings),
        "satisfaction_mean": sum(ratings) / len(ratings) if ratings else None,
        "satisfied_share": sum(1 for r in ratings if r >= 4) / len(ratings) if ratings else None,
        "satisfaction_distribution": distribution,
        "choices": choices,
        "valuable": [a.valuable for a in answers if a.valuable],
    }
