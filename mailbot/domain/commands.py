"""Commands: which one-line instruction (if any) a mail to the program gives, and its arguments.

Decides whether a Subject (after reply/forward prefixes and [tags]) or else the first line the
writer typed in the body is a command — HELP, STATUS, PAUSE 2 weeks, DELETE MY DATA, the
coordinators' REMATCH <pair> ... — in English, French or Spanish, case- and accent-insensitive.

Rules (each is a scenario in tests/unit/test_commands.py):
- The command word(s) must be the first word(s) of the line: "I will pause my work" is not a
  command. Trailing punctuation and a few extra words are tolerated: at most
  `_MAX_EXTRA_WORDS` words of any kind, or any number of polite/filler words ("please",
  "merci", "from the program"), so "STATUS please" works and "Help needed with my partner who
  has not replied since May" does not.
- YES / NO (OUI / NON, SÍ / NO) count only as the whole line.
- PAUSE takes an optional duration ("2 weeks", "10 jours", "3 semanas", "2w", "1 month",
  "five days", "a week"); a bare number is days; none means 14 days; anything over 90 days is
  capped at 90. "PAUSE until 15 March" / "jusqu'au 15 mars" / "hasta el 15 de marzo" (a month
  alone means its 1st) counts the days from the message's date to the next such date; an
  "until" without a date that can be read is not a command, never a silent 14-day pause.
- EXPORT MY DATA / EXPORTER MES DONNÉES / EXPORTAR MIS DATOS (or the verb alone) asks for
  what is held about the sender; EXPORT <address> is the coordinators' form (args "address").
- Coordinator forms: REMATCH/CLOSE/LIAISE/NOTE <pair> [text], PAUSE <address> [n days],
  APPROVE/REDO [text], ANSWER <question id> [text] (args "item", "text"). A pair id is a
  token containing a digit ("12", "#12", "p12"), optionally after the word "pair"; CLOSE,
  LIAISE, NOTE and ANSWER without one are not commands. Free text goes to args["text"] with its
  original case. (A coordinator's reply of many lines: `domain.coordinator_reply`.)
- "Résumé" (with an accent: a CV or a summary) is not RESUME.
- "CONTINUE on our own" (pairs going on independently) is deliberately *not* CONTINUE (which
  means "join the next round"), so a pair saying goodbye is not re-enrolled by accident.
- In the body, the first non-empty line is read, skipping at most one greeting line ("Hi,",
  "Bonjour Marie,"), and never past quoted text, an attribution line or the signature; only
  the body's first `MAX_BODY_SCAN` characters are looked at (hostile input is normal input:
  a 500 kB body costs what its start costs); a line longer than `_MAX_LINE` is a command only
  when its start is one that takes a text (ANSWER, NOTE, LIAISE, …), whose text then runs on.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from mailbot.domain.model import Command, CommandName
from mailbot.domain.textutil import (
    fold,
    is_attribution,
    is_quoted,
    is_signature_separator,
    lines_of,
    strip_tags,
)

DEFAULT_PAUSE_DAYS = 14
MAX_PAUSE_DAYS = 90
_MAX_EXTRA_WORDS = 3
_MAX_LINE = 500
MAX_TEXT = 10_000  # characters of a command's free text kept from one long line
MAX_BODY_SCAN = 20_000  # characters of a body read for its first line

# Matched at a position (no "^", no slicing), never with "\s*" twice in a row: "re" + 10,000
# spaces was split between them every way (quadratic).
_PREFIX_RE = re.compile(
    r"\s*(?:"
    r"(?:re|aw|sv|fwd?|tr|rv|wg|antw|vs|enc|rif)\s*(?:(?:\[\d+\]|\(\d+\)|\^\d+)\s*)?[:：]"
    r"|r[ée]f\s*[.:](?:\s*:)?"
    r"|\[[^\]]*\]"
    r")\s*",
    re.IGNORECASE,
)

_PHRASES: dict[CommandName, tuple[str, ...]] = {
    CommandName.HELP: ("help", "aide", "ayuda", "aidez moi"),
    CommandName.STATUS: ("status", "statut", "estado", "etat"),
    CommandName.WITHDRAW: (
        "withdraw",
        "unsubscribe",
        "retirer",
        "se retirer",
        "me retirer",
        "retirarse",
        "retirarme",
        "baja",
        "darse de baja",
        "darme de baja",
        "dar de baja",
    ),
    CommandName.PAUSE: ("pause", "pausa", "mettre en pause"),
    CommandName.RESUME: ("resume", "unpause", "reprendre", "reanudar"),
    CommandName.REMATCH: (
        "rematch",
        "new partner",
        "nouveau partenaire",
        "nouvelle partenaire",
        "nueva pareja",
        "nuevo companero",
        "nueva companera",
    ),
    CommandName.CONTINUE: (
        "continue",
        "continuer",
        "continuar",
        "join next round",
        "next round",
        "prochaine session",
        "siguiente ronda",
    ),
    CommandName.DELETE_MY_DATA: (
        "delete my data",
        "supprimer mes donnees",
        "borrar mis datos",
        "eliminar mis datos",
    ),
    CommandName.EXPORT_MY_DATA: (
        "export my data",
        "export",
        "exporter mes donnees",
        "exporter",
        "exportar mis datos",
        "exportar",
    ),
    CommandName.IN_TOUCH: (
        "in touch",
        "we're in touch",
        "we are in touch",
        "en contact",
        "nous sommes en contact",
        "on est en contact",
        "en contacto",
        "estamos en contacto",
    ),
    CommandName.SILENT: (
        "silent",
        "my partner is silent",
        "silencieux",
        "silencieuse",
        "mon partenaire est silencieux",
        "ma partenaire est silencieuse",
        "sin respuesta",
        "mi pareja no responde",
    ),
    CommandName.YES: ("yes", "oui", "si"),
    CommandName.NO: ("no", "non"),
    CommandName.APPROVE: ("approve", "approuver", "aprobar"),
    CommandName.REDO: ("redo", "refaire", "rehacer"),
    CommandName.LIAISE: ("liaise",),
    CommandName.CLOSE: ("close", "fermer", "cerrar"),
    CommandName.NOTE: ("note", "nota"),
    CommandName.ANSWER: ("answer",),
    CommandName.CLEAR_BOUNCE: ("clear bounce",),
}

_WHOLE_LINE_ONLY = frozenset({CommandName.YES, CommandName.NO})
_FREE_TEXT = frozenset({CommandName.APPROVE, CommandName.REDO})
_NEEDS_PAIR = frozenset({CommandName.LIAISE, CommandName.CLOSE, CommandName.NOTE})

_FILLER = frozenset(
    [
        "please",
        "pls",
        "plz",
        "thanks",
        "thank",
        "you",
        "thx",
        "merci",
        "svp",
        "stp",
        "sil",
        "vous",
        "te",
        "plait",
        "por",
        "favor",
        "gracias",
        "me",
        "my",
        "i",
        "from",
        "the",
        "a",
        "this",
        "program",
        "programme",
        "programa",
        "iln",
        "round",
        "session",
        "ronde",
        "ronda",
        "participation",
        "participacion",
        "application",
        "candidature",
        "solicitud",
        "now",
        "asap",
        "immediately",
        "maintenant",
        "immediatement",
        "ahora",
        "ya",
        "moi",
        "mon",
        "ma",
        "mes",
        "du",
        "de",
        "la",
        "le",
        "les",
        "el",
        "mi",
        "mis",
        "del",
        "again",
        "too",
        "also",
        "aussi",
        "tambien",
        "ok",
        "okay",
    ]
)
# "CONTINUE on our own" / "continuer seuls" / "continuar por nuestra cuenta": going on without
# the program, which CONTINUE (join the next round) must not be mistaken for.
_ON_OUR_OWN = frozenset(
    ["on", "our", "independently", "together", "seuls", "seules", "ensemble", "solos", "juntos"]
)

_GREETING_RE = re.compile(
    r"^\s*(hi|hello|hey|dear|good (morning|afternoon|evening)|bonjour|bonsoir|salut|cher|chere"
    r"|hola|buenos dias|buenas tardes|buenas|estimado|estimada|querido|querida)\b[^.!?]{0,40}"
    r"[,!.:]?\s*$"
)
_EDGE_PUNCT = ".,;:!?¡¿()[]{}<>\"'*_-–—«»“”…"
_PAIR_RE = re.compile(r"^#?([A-Za-z0-9][A-Za-z0-9_-]*)$")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{6,}$")
_PAIR_WORDS = frozenset(["pair", "paire", "pareja", "binome"])
_DURATION_RE = re.compile(r"^(\d{1,4})([a-z]*)$")
_NUMBER_WORDS = {
    word: n
    for words in (
        ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
        ("un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix"),
        ("uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez"),
    )
    for n, word in enumerate(words, start=1)
} | {"une": 1, "una": 1}
# "a week", "for a month": one, but only in front of a unit ("PAUSE a bit" is no duration).
_ARTICLES = frozenset(["a", "an"])
_UNITS = {
    **dict.fromkeys(["", "d", "day", "days", "j", "jour", "jours", "dia", "dias"], 1),
    **dict.fromkeys(["w", "wk", "wks", "week", "weeks", "sem", "semaine", "semaines"], 7),
    **dict.fromkeys(["semana", "semanas"], 7),
    **dict.fromkeys(["m", "month", "months", "mois", "mes", "meses"], 30),
}
_DURATION_LEAD = frozenset(["for", "pendant", "durant", "por", "durante"])
# "until 15 March", "jusqu'au 15 mars", "hasta el 15 de marzo", "until September".
_UNTIL = frozenset(["until", "till", "til", "jusqua", "jusquau", "jusque", "hasta"])
_DATE_FILLER = frozenset(["the", "of", "on", "le", "au", "el", "de", "del"])
_DAY_RE = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|er|e|o)?$")
_MONTH_NAMES = (
    ("january jan janvier enero", 1),
    ("february feb fevrier febrero", 2),
    ("march mar mars marzo", 3),
    ("april apr avril abril", 4),
    ("may mai mayo", 5),
    ("june jun juin junio", 6),
    ("july jul juillet julio", 7),
    ("august aug aout agosto", 8),
    ("september sep sept septembre septiembre setiembre", 9),
    ("october oct octobre octubre", 10),
    ("november nov novembre noviembre", 11),
    ("december dec decembre diciembre", 12),
)
_MONTHS = {name: month for names, month in _MONTH_NAMES for name in names.split()}


def _norm(token: str) -> str:
    """A token as compared: folded, edge punctuation and inner apostrophes dropped."""
    return fold(token).strip(_EDGE_PUNCT).replace("'", "")


def _phrase_index() -> list[tuple[tuple[str, ...], CommandName]]:
    pairs = [
        (tuple(_norm(w) for w in phrase.split()), name)
        for name, phrases in _PHRASES.items()
        for phrase in phrases
    ]
    return sorted(pairs, key=lambda p: -len(p[0]))


_PHRASE_INDEX = _phrase_index()


def strip_subject_prefixes(subject: str) -> str:
    """`subject` without any number of Re:/AW:/SV:/Fwd:/TR:/RV:/Réf./[tag] prefixes."""
    text = subject.strip()
    pos = 0
    while m := _PREFIX_RE.match(text, pos):
        if m.end() == pos:
            break
        pos = m.end()
    return text[pos:].strip()


def _extras_ok(words: list[str]) -> bool:
    return len(words) <= _MAX_EXTRA_WORDS or all(w in _FILLER for w in words)


def _duration(words: list[str]) -> tuple[int | None, int]:
    """(days or None, how many words were used) from the start of `words`."""
    i = 1 if words and words[0] in _DURATION_LEAD else 0
    if i >= len(words):
        return None, 0
    m = _DURATION_RE.match(words[i])
    if m:
        number, unit = int(m.group(1)), m.group(2)
    elif words[i] in _NUMBER_WORDS:
        number, unit = _NUMBER_WORDS[words[i]], ""
    elif words[i] in _ARTICLES and i + 1 < len(words) and words[i + 1] and words[i + 1] in _UNITS:
        number, unit = 1, ""
    else:
        return None, 0
    used = i + 1
    if not unit and used < len(words) and words[used] in _UNITS and words[used]:
        unit = words[used]
        used += 1
    if unit not in _UNITS:
        return None, 0
    return max(1, min(number * _UNITS[unit], MAX_PAUSE_DAYS)), used


def days_to(until: date, today: date) -> int:
    """Days of a pause from `today` to `until`, at least 1 and at most MAX_PAUSE_DAYS."""
    return max(1, min((until - today).days, MAX_PAUSE_DAYS))


def _until_date(words: list[str], today: date | None) -> tuple[date | None, int]:
    """(the date at the start of `words`, the next one after `today`; words used); None when
    no month is named, the date does not exist, or there is no `today` to count from."""
    day: int | None = None
    month: int | None = None
    used = 0
    for i, word in enumerate(words):
        if word in _DATE_FILLER:
            continue
        if month is None and word in _MONTHS:
            month = _MONTHS[word]
        elif day is None and (m := _DAY_RE.match(word)):
            day = int(m.group(1))
        else:
            break
        used = i + 1
    if month is None or today is None:
        return None, used
    try:
        target = date(today.year, month, day or 1)
        if target <= today:
            target = target.replace(year=today.year + 1)
    except ValueError:
        return None, used
    return target, used


def _pair(tokens: list[str], words: list[str]) -> tuple[str | None, int]:
    """(pair id, words used) when the arguments start with a pair id such as "12" or "#p12"."""
    i = 1 if words and words[0] in _PAIR_WORDS else 0
    if i < len(tokens):
        m = _PAIR_RE.match(tokens[i].strip(_EDGE_PUNCT))
        if m and any(ch.isdigit() for ch in m.group(1)):
            return m.group(1), i + 1
    return None, 0


def _read_line(line: str, source: str, today: date | None) -> Command | None:
    line = line.strip()
    if not line:
        return None
    if len(line) > _MAX_LINE:
        return _read_long_line(line, source, today)
    tokens: list[str] = []
    words: list[str] = []
    for token in line.split():
        if word := _norm(token):
            tokens.append(token)
            words.append(word)
    for phrase, name in _PHRASE_INDEX:
        if tuple(words[: len(phrase)]) == phrase:
            if name is CommandName.RESUME and "é" in tokens[0].lower():
                return None  # "Résumé" (a CV, a summary) is not RESUME
            rest_tokens, rest = tokens[len(phrase) :], words[len(phrase) :]
            args = _arguments(name, rest_tokens, rest, today)
            if args is None:
                return None
            if isinstance(args.get("text"), str):  # as written: " : ", " ?" are kept
                skip = len(tokens) - len(str(args["text"]).split())
                args["text"] = _rest_after(line, skip) or args["text"]
            return Command(name=name, args=args, source=source, text=line)
    return None


def _read_long_line(line: str, source: str, today: date | None) -> Command | None:
    """A line past `_MAX_LINE` is a command only when its start is one that takes a text
    ("ANSWER 12 <a paragraph on one line>"): the rest of the line goes on with that text, up
    to `MAX_TEXT` characters. Only the start is read as words, so the cost stays linear."""
    head = line[:_MAX_LINE]
    cut = head.rfind(" ")
    command = _read_line(head[:cut], source, today) if cut > 0 else None
    if command is None or not isinstance(command.args.get("text"), str):
        return None
    text = (str(command.args["text"]) + line[cut:])[:MAX_TEXT]
    return Command(
        name=command.name, args={**command.args, "text": text}, source=source, text=line[:MAX_TEXT]
    )


def _rest_after(line: str, n: int) -> str:
    """`line` after its first `n` tokens that are words (punctuation alone is not counted),
    without the punctuation that stood between them and the rest."""
    seen = 0
    for m in re.finditer(r"\S+", line):
        if seen == n:
            if _norm(m.group()):
                return line[m.start() :].strip()
            continue  # "ANSWER 12 : text": the lone ":" goes
        if _norm(m.group()):
            seen += 1
    return ""


def _text(tokens: list[str]) -> dict[str, object]:
    text = " ".join(tokens).strip()
    return {"text": text} if text else {}


def _arguments(
    name: CommandName, tokens: list[str], words: list[str], today: date | None
) -> dict[str, object] | None:
    """The command's arguments, or None when the rest of the line means it is not a command."""
    if name in _WHOLE_LINE_ONLY:
        return {} if not words else None
    if name in _FREE_TEXT:
        return _text(tokens)
    if name is CommandName.ANSWER:  # ANSWER <question id> [text]; no id: not a command
        item, used = _pair(tokens, words)
        return None if item is None else {"item": item, **_text(tokens[used:])}
    if name in _NEEDS_PAIR or name is CommandName.REMATCH:
        pair, used = _pair(tokens, words)
        if pair is None:
            if name in _NEEDS_PAIR:
                return None
            return {} if _extras_ok(words) else None
        return {"pair": pair, **_text(tokens[used:])}
    if name is CommandName.PAUSE:
        args: dict[str, object] = {}
        if tokens and "@" in tokens[0]:
            args["address"] = tokens[0].strip(_EDGE_PUNCT).lower()
            tokens, words = tokens[1:], words[1:]
        if words and words[0] in _UNTIL:
            until, used = _until_date(words[1:], today)
            if until is None or today is None:
                return None  # "until I'm back", "until 15/03": never a silent 14-day pause
            # The date is what they asked for; days as counted from the message's own date
            # (the flow counts again from when it acts: a mail may be handled days later).
            args["days"] = days_to(until, today)
            args["until"] = until.isoformat()
            return args if _extras_ok(words[1 + used :]) else None
        days, used = _duration(words)
        args["days"] = DEFAULT_PAUSE_DAYS if days is None else days
        return args if _extras_ok(words[used:]) else None
    if name is CommandName.DELETE_MY_DATA:
        token = tokens[0].strip(_EDGE_PUNCT) if tokens else ""
        if token and words[0] not in _FILLER and _TOKEN_RE.match(token):
            return {"token": token} if _extras_ok(words[1:]) else None
        return {} if _extras_ok(words) else None
    if name is CommandName.CLEAR_BOUNCE:  # CLEAR BOUNCE <address>; no address: not a command
        if not tokens or "@" not in tokens[0]:
            return None
        address = tokens[0].strip(_EDGE_PUNCT).lower()
        return {"address": address} if _extras_ok(words[1:]) else None
    if name is CommandName.EXPORT_MY_DATA and tokens and "@" in tokens[0]:
        # EXPORT <address>: a coordinator's form (a participant's is refused: domain.answers)
        address = tokens[0].strip(_EDGE_PUNCT).lower()
        return {"address": address} if _extras_ok(words[1:]) else None
    if name is CommandName.CONTINUE and words and words[0] in _ON_OUR_OWN:
        return None
    return {} if _extras_ok(words) else None


def is_greeting(line: str) -> bool:
    """True for a greeting line such as "Hi," or "Bonjour Marie," (skipped before a command)."""
    return bool(_GREETING_RE.match(fold(line)))


def _first_body_line(text: str) -> str:
    greeting_skipped = False
    for raw in lines_of(text[:MAX_BODY_SCAN]):
        if not raw.strip():
            continue
        if is_quoted(raw) or is_attribution(raw) or is_signature_separator(raw):
            return ""
        line = strip_tags(raw).strip()
        if not line:
            continue
        if not greeting_skipped and is_greeting(line):
            greeting_skipped = True
            continue
        return line
    return ""


def parse_command(subject: str, text: str, *, today: date | None = None) -> Command | None:
    """The command in the Subject, else on the body's first line, else None.

    `today` (the message's date) is what "PAUSE until 15 March" counts from; without it such
    a PAUSE is not read.
    """
    command = _read_line(strip_subject_prefixes(subject), "subject", today)
    if command is not None:
        return command
    return _read_line(_first_body_line(text), "body", today)


@dataclass(frozen=True)
class PauseSpan:
    """How long a pause written in a sentence lasts: `days` (None when an "until" names no
    date that can be read — "until I'm back") and the date asked for, if one was."""

    days: int | None
    until: date | None = None


_SPAN_ARTICLES = frozenset(["a", "an", "un", "une", "uno", "una", "one"])


def find_pause_span(text: str, today: date | None) -> PauseSpan | None:
    """The first "until <date>" or "<n> <unit>" in `text` ("please pause me for three weeks",
    "jusqu'au 15 mars", "hasta el 15 de marzo"), or None when it names neither. In a sentence
    a number counts only with its unit: "I have 2 kids" is no duration."""
    words = [w for w in (_norm(t) for t in text.split()[:_MAX_LINE]) if w]
    for i, word in enumerate(words):
        if word in _UNTIL:
            until, _used = _until_date(words[i + 1 :], today)
            if until is None or today is None:
                return PauseSpan(None)
            return PauseSpan(days_to(until, today), until)
        unit = words[i + 1] if i + 1 < len(words) else ""
        if not unit or unit not in _UNITS:
            continue
        if word in _SPAN_ARTICLES:
            number = 1
        elif word in _NUMBER_WORDS:
            number = _NUMBER_WORDS[word]
        elif word.isdigit() and len(word) <= 4:
            number = int(word)
        else:
            continue
        return PauseSpan(max(1, min(number * _UNITS[unit], MAX_PAUSE_DAYS)))
    return None


IRREVERSIBLE = frozenset({CommandName.WITHDRAW, CommandName.DELETE_MY_DATA})


def needs_confirmation(command: Command) -> bool:
    """An irreversible command read from a sentence: the person confirms it before it acts."""
    return command.sentence and command.name in IRREVERSIBLE
