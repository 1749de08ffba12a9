"""Application forms: a mail body in, the applicant's fields or every problem with them out.

Decides which lines of a body are form fields (label + value, in English, French or Spanish),
what language the form is in, what each value means in canonical terms, and what the applicant
must fix. It never signs up anyone but the sender: an "Email:" line in the form is ignored.

Reading rules (see tests/unit/test_forms.py for each as a scenario):
- A field line is `label<sep>value` where sep is ":" (also " :"), a table-cell "|" or a tab,
  the label possibly bulleted (-, *, •, "1."), in markdown bold or in HTML tags.
- Quoted lines (`>`) and mail-client attribution lines are ignored; reading stops at the
  `-- ` signature separator, and at the start of the mail being answered (an attribution,
  "-----Original Message-----" or Outlook's "From:"/"Sent:" header block) when form lines were
  found above it. Without any above, the form may have been filled in inside the quoted mail
  (Outlook quotes without ">"), so reading goes on below.
- "About me" takes every following line up to the next label (or quote, attribution, signature,
  or a closing line such as "Best wishes," / "Thank you!" / "Cordialement," / "Muchas gracias,",
  or a mail app's footer such as "Sent from Outlook" / "Enviado desde mi iPhone").
  Any other value continues onto the next line only when its line looks hard-wrapped (the line
  was at least `_WRAP_WIDTH` characters long and the next line is neither blank nor a label).
  Interests may also be given as a bulleted list under their label, one item a line.
- A placeholder left on the label's line ("About me: (optional, a few lines)", "-") is dropped
  when the value goes on below it.
- When a label appears twice, the first non-blank value wins.
- Interests are split on "," and ";"; " and " / " et " / " y " split only the last item of a
  list that already has a comma ("a, b and c"), because a lone "rare books and manuscripts" is
  one interest. At most `MAX_INTERESTS` items of at most `MAX_INTEREST_LEN` characters:
  more is a `too_long` problem, never a silent cut; a value longer than `MAX_INTERESTS_CHARS`
  is one without being split.
- Problems come in the form's field order (`Field` order), one per field at most.
- Hostile input is normal input: only a body's first `MAX_SCAN_CHARS` characters and
  `MAX_SCAN_LINES` lines are read (a form is ~30 lines; the rest is room for a long quoted
  mail above a form filled in inside it), and a value from a closed list (country, sector,
  career stage, time zone, language) longer than `MAX_CHOICE_LEN` is an `unknown_value`
  without being looked up.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from email_validator import EmailNotValidError, validate_email

from mailbot.domain import vocab
from mailbot.domain.model import (
    LANGUAGES,
    ApplicationFields,
    ApplicationResult,
    Field,
    Problem,
)
from mailbot.domain.textutil import (
    collapse_spaces,
    fold,
    is_quoted,
    is_signature_separator,
    lines_of,
    starts_quoted_mail,
    strip_tags,
)

MAX_NAME_LEN = 200
MAX_INSTITUTION_LEN = 300
_T = TypeVar("_T")
MAX_ABOUT_LEN = 2000
MAX_INTERESTS = 10
MAX_INTEREST_LEN = 60
MAX_INTERESTS_CHARS = 2_000  # ten items of 60 with their separators fit three times over
_WRAP_WIDTH = 60
_MIN_LABELS = 3
MAX_SCAN_CHARS = 50_000  # of a body read for a form
MAX_SCAN_LINES = 400  # ~12 µs each when every line is a field line
MAX_CHOICE_LEN = 200  # of a closed-list value looked up: no country or sector name is longer

_SEP_RE = re.compile(r"[:：|\t]")
_LABEL_EDGE = " \t*_-•·▪◦‣+#"
_BULLET_RE = re.compile(r"^\s*(?:[-*•·▪◦‣+]|\d{1,2}[.)])\s+")
_LIST_FIELDS = frozenset({Field.INTERESTS, Field.PARTNER_INTERESTS})
_NUMBERING_RE = re.compile(r"^\s*\d{1,2}[.)]\s*")
_INTEREST_SPLIT_RE = re.compile(r"[,;]")
# Starts only where a run of spaces starts: tried at every space of a run, it was quadratic.
_AND_RE = re.compile(r"(?<!\s)\s+(?:and|et|y)\s+", re.IGNORECASE)


@dataclass
class _Entry:
    field: Field
    languages: frozenset[str]
    # dataclasses.field: the attribute `field` above hides the bare name in this class body
    lines: list[str] = dataclasses.field(default_factory=list)

    @property
    def value(self) -> str:
        lines = self.lines
        if len(lines) > 1 and vocab.is_placeholder(lines[0]):
            # The form's own hint, "About me: (optional, a few lines)", then the writer's lines.
            lines = lines[1:]
        if self.field is Field.ABOUT:
            return "\n".join(lines).strip()
        # Wrapped lines join with a space; bulleted list items stay one a line.
        groups = (collapse_spaces(g) for g in " ".join(lines).split("\n"))
        return "\n".join(g for g in groups if g)


def _label_line(line: str) -> tuple[Field, frozenset[str], str] | None:
    """(field, label languages, value) when `line` is a form field line, else None."""
    text = strip_tags(line).lstrip(" \t|")
    m = _SEP_RE.search(text)
    if m is None or m.start() == 0 or m.start() > 80:
        return None
    label_part = text[: m.start()]
    label = _NUMBERING_RE.sub("", label_part.strip(_LABEL_EDGE)).strip(_LABEL_EDGE)
    if not label:
        return None
    hit = vocab.lookup_label(label)
    if hit is None:
        return None
    value = text[m.end() :]
    if "*" in label_part or "_" in label_part:
        value = value.strip(" \t*_")  # the closing half of "**Name:** Alice", "**Alice**"
    value = value.strip()
    if m.group() == "|" or value.endswith("|"):
        value = value.rstrip("| \t")
    return hit[0], hit[1], value


# A closing line that ends a letter (and so "About me"), in the three languages, and the
# footers mail apps add ("Sent from my iPhone", "Sent from Outlook", "Get Outlook for iOS").
_SIGN_OFF_RE = re.compile(
    r"^\s*(best( wishes| regards)?|all the best|kind regards|regards|many thanks|"
    r"thanks( again| so much| a lot| in advance)?|thank you( (so|very) much| again| in advance)?|"
    r"cheers|warm(est)? regards|yours( sincerely| truly)?|sincerely|cordialement|amicalement|"
    r"bien (à vous|cordialement)|merci( beaucoup| d['’]avance| par avance)?|salutations|"
    r"saludos( cordiales)?|atentamente|un( cordial)? saludo|(muchas )?gracias( de antemano)?)"
    r"[\s,.!]*$|"
    r"^\s*(sent|envoyé|enviado) (from|de|desde)\b|^\s*(get|obtener|téléchargez) outlook\b",
    re.IGNORECASE,
)


def _scan(text: str) -> list[_Entry]:
    """Every field line of the writer's own text, in order, with continuation lines joined."""
    entries: list[_Entry] = []
    current: _Entry | None = None
    previous_len = 0
    lines = lines_of(text[:MAX_SCAN_CHARS])[:MAX_SCAN_LINES]
    for i, raw in enumerate(lines):
        if not raw.strip():  # what the branches below do with a blank line, without the regexes
            if current is not None and current.field is Field.ABOUT:
                current.lines.append("")
            else:
                current = None
            continue
        if is_signature_separator(raw):
            break
        if starts_quoted_mail(lines, i):
            if entries:
                break  # the writer's form is above; below is our mail they answer
            current = None
            continue
        if is_quoted(raw):
            current = None
            continue
        hit = _label_line(raw)
        if hit is not None:
            current = _Entry(hit[0], hit[1], [hit[2]])
            entries.append(current)
            previous_len = len(raw.rstrip())
            continue
        if current is None:
            continue
        line = strip_tags(raw).rstrip()
        if current.field is Field.ABOUT:
            if _SIGN_OFF_RE.match(line):
                break  # "Best wishes," / "Sent from my iPhone": the letter ends, the form too
            current.lines.append(line)
        elif current.field in _LIST_FIELDS and (item := _BULLET_RE.match(line)):
            current.lines.append("\n" + line[item.end() :])  # one bullet, one item
            previous_len = 0
        elif line.strip() and previous_len >= _WRAP_WIDTH:
            current.lines.append(line.strip())
            previous_len = len(line)
        else:
            current = None
    return entries


def _is_form(entries: list[_Entry]) -> bool:
    return len({e.field for e in entries}) >= _MIN_LABELS


def looks_like_application(text: str) -> bool:
    """True when at least 3 distinct form labels (any language) start unquoted lines."""
    return _is_form(_scan(text))


def read_application(
    text: str, *, from_addr: str, from_name: str = "", default_language: str = "en"
) -> ApplicationResult | None:
    """`parse_application` when the body `looks_like_application`, else None: one scan."""
    entries = _scan(text)
    if not _is_form(entries):
        return None
    return _application(entries, from_addr, from_name, default_language)


def _form_language(entries: list[_Entry], default_language: str) -> str:
    counts = dict.fromkeys(LANGUAGES, 0)
    for entry in entries:
        for lang in entry.languages:
            counts[lang] += 1
    best = max(counts.values())
    tied = [lang for lang in LANGUAGES if counts[lang] == best]
    return default_language if default_language in tied else tied[0]


def _pick(entries: list[_Entry]) -> dict[Field, str]:
    """Field -> value: the first non-blank value for each label, else the first (blank) one."""
    values: dict[Field, str] = {}
    for entry in entries:
        value = entry.value
        if entry.field not in values or (
            vocab.is_placeholder(values[entry.field]) and not vocab.is_placeholder(value)
        ):
            values[entry.field] = value
    return values


def split_interests(value: str) -> list[str]:
    """Interests as a clean list: split, trimmed, single-spaced, lower-case, de-duplicated.

    Each line of `value` (a bulleted item, or the whole value) is split on "," and ";", and
    the last item of a comma list on " and " / " et " / " y " ("a, b and c").
    """
    parts: list[str] = []
    for line in value.splitlines():
        items = _INTEREST_SPLIT_RE.split(line)
        if len(items) > 1:
            items = items[:-1] + _AND_RE.split(items[-1])
        parts.extend(items)
    seen: set[str] = set()
    interests: list[str] = []
    for part in parts:
        item = collapse_spaces(part).strip(" .-*\"'").lower()
        if not item or vocab.is_placeholder(item):
            continue
        k = fold(item)
        if k not in seen:
            seen.add(k)
            interests.append(item)
    return interests


def _interests(
    fld: Field, value: str, problems: list[Problem], *, required: bool
) -> tuple[str, ...]:
    if len(value) > MAX_INTERESTS_CHARS:
        problems.append(Problem(fld, "too_long", value[:MAX_INTERESTS_CHARS]))
        return ()
    items = [] if vocab.is_no_wish(value) else split_interests(value)
    if not items:
        if required:
            problems.append(Problem(fld, "missing"))
        return ()
    long_items = [i for i in items if len(i) > MAX_INTEREST_LEN]
    if long_items:
        problems.append(Problem(fld, "too_long", long_items[0]))
    elif len(items) > MAX_INTERESTS:
        problems.append(Problem(fld, "too_long", value))
    return tuple(items)


def _email(from_addr: str) -> str | None:
    """The sender's address as received, lower-cased, when it is a valid address.

    Not `validate_email(...).normalized`: that turns an IDN domain ("xn--mller-kva.de") into
    Unicode ("müller.de"), and people are looked up by the From address as received.
    """
    address = from_addr.strip().lower()
    try:
        validate_email(address, check_deliverability=False)
    except (EmailNotValidError, ValueError, TypeError):
        return None
    return address


def _looked_up(parse: Callable[[str], _T | None], value: str) -> _T | None:
    """`parse(value)`, or None for a value longer than any in a closed list."""
    return None if len(value) > MAX_CHOICE_LEN else parse(value)


def parse_application(
    text: str, *, from_addr: str, from_name: str = "", default_language: str = "en"
) -> ApplicationResult:
    """Read an application form from a mail body; see the module docstring for the rules."""
    return _application(_scan(text), from_addr, from_name, default_language)


def _application(
    entries: list[_Entry], from_addr: str, from_name: str, default_language: str
) -> ApplicationResult:
    if default_language not in LANGUAGES:
        default_language = "en"
    form_language = _form_language(entries, default_language)
    values = _pick(entries)
    raw = {f.value: v for f, v in values.items() if f is not Field.EMAIL}
    problems: list[Problem] = []

    non_blank = {f: v for f, v in values.items() if not vocab.is_placeholder(v)}

    def given(fld: Field) -> str:
        return non_blank.get(fld, "")

    def choice(fld: Field, parse: Callable[[str], _T | None], *, wish: bool = False) -> _T | None:
        """A value from a closed list: missing (if required), no wish ("any"), or unknown."""
        value = values.get(fld, "") if wish else given(fld)
        if wish and vocab.is_no_wish(value):
            return None
        if not value:
            problems.append(Problem(fld, "missing"))
            return None
        parsed = _looked_up(parse, value)
        if parsed is None:
            problems.append(Problem(fld, "unknown_value", value))
        return parsed

    # Field order below is the form's order, so problems come out in form order.
    name = collapse_spaces(given(Field.NAME)) or collapse_spaces(from_name)
    if not name:
        problems.append(Problem(Field.NAME, "missing"))
    elif len(name) > MAX_NAME_LEN:
        problems.append(Problem(Field.NAME, "too_long", name))

    email = _email(from_addr)
    if email is None:
        problems.append(Problem(Field.EMAIL, "invalid", from_addr))

    country = choice(Field.COUNTRY, vocab.parse_country)

    timezone: str | None = None
    if given(Field.TIMEZONE):
        timezone = _looked_up(vocab.parse_timezone, given(Field.TIMEZONE))
        if timezone is None:
            problems.append(Problem(Field.TIMEZONE, "unknown_value", given(Field.TIMEZONE)))
    elif country:
        timezone = vocab.country_main_zone(country)

    language = form_language
    if given(Field.LANGUAGE):
        stated = _looked_up(vocab.parse_language, given(Field.LANGUAGE))
        if stated is None:
            problems.append(Problem(Field.LANGUAGE, "unknown_value", given(Field.LANGUAGE)))
        else:
            language = stated

    institution = collapse_spaces(given(Field.INSTITUTION))
    if not institution:
        problems.append(Problem(Field.INSTITUTION, "missing"))
    elif len(institution) > MAX_INSTITUTION_LEN:
        problems.append(Problem(Field.INSTITUTION, "too_long", institution))

    sector = choice(Field.SECTOR, vocab.parse_sector)
    stage = choice(Field.CAREER_STAGE, vocab.parse_career_stage)

    interests = _interests(Field.INTERESTS, given(Field.INTERESTS), problems, required=True)

    partner_sector = choice(Field.PARTNER_SECTOR, vocab.parse_sector, wish=True)
    partner_stage = choice(Field.PARTNER_CAREER_STAGE, vocab.parse_career_stage, wish=True)

    partner_interests = _interests(
        Field.PARTNER_INTERESTS,
        values.get(Field.PARTNER_INTERESTS, ""),
        problems,
        required=False,
    )

    about = given(Field.ABOUT)
    if len(about) > MAX_ABOUT_LEN:
        problems.append(Problem(Field.ABOUT, "too_long", about))

    if problems or not (email and country and sector and stage):
        return ApplicationResult(language=language, fields=None, problems=tuple(problems), raw=raw)
    return ApplicationResult(
        language=language,
        fields=ApplicationFields(
            name=name,
            email=email,
            country=country,
            timezone=timezone,
            language=language,
            institution=institution,
            sector=sector,
            career_stage=stage,
            interests=interests,
            partner_sector=partner_sector,
            partner_career_stage=partner_stage,
            partner_interests=partner_interests,
            about=about,
        ),
        raw=raw,
    )
