"""Multilingual vocabularies: form labels, sectors, career stages, languages, countries, zones.

Decides what a word written by an applicant in English, French or Spanish means in mailbot's
canonical terms: a `Field` for a form label, a `Sector` / `CareerStage` enum, a language code
(en/fr/es), an ISO 3166 alpha-2 country code, an IANA time zone name — or None when it does not
know. Comparisons are case-, accent- and punctuation-insensitive (see `key`).

The country and time-zone indexes are built once, on first use (pycountry's names and its fr/es
gettext catalogues; `zoneinfo.available_timezones()`), and cached for the life of the process.

Time-zone choices (documented here because they are policy):
- "UTC+5" / "GMT-3" (whole hours) become the fixed-offset `Etc/GMT-5` / `Etc/GMT+3` (the Etc
  names have the sign inverted, per POSIX); "UTC", "GMT", "UTC+0" become "UTC".
- Offsets with minutes ("UTC+05:30") become the real zone whose *standard* offset it is
  (`_HALF_HOUR_ZONES`: +05:30 Asia/Kolkata, -03:30 America/St_Johns, ...); an offset with
  minutes that no zone uses as its standard offset is not recognised (None) so the applicant
  is asked, rather than being silently moved by half an hour.
- A few North-American and other abbreviations people write ("EST", "PST", "AEST") map to the
  real zone with daylight saving, not to the fixed-offset IANA legacy names.
- A bare city that is the last part of an IANA name ("Paris", "new york") is accepted, and so is
  a country with a main zone: named by the whole field, by name or common short form ("Time
  zone: France", "UK", "Ireland (GMT)": its zone keeps summer time) before any abbreviation,
  or named in one part only after every part ("EST/EDT", "Eastern Time (EST)", "Toronto, EST")
  was tried as a zone. Never by an ISO code: "EST" (Estonia's alpha-3) and "ET" (Ethiopia's
  code) are US Eastern time, "EE" is not read.

Must not: do I/O or read the clock (the one-off, lazy loading of pycountry's data files and of
the tz database's list of names is the accepted exception).
"""

from __future__ import annotations

import functools
import gettext
import re
import zoneinfo

import pycountry

from mailbot.domain.country_zones import COUNTRY_MAIN_ZONE
from mailbot.domain.model import LANGUAGES, CareerStage, Field, Sector
from mailbot.domain.textutil import fold

_NON_ALNUM_RE = re.compile(r"[^a-z0-9]+")
_PARENS_RE = re.compile(r"\([^)]*\)|\[[^\]]*\]")


def key(text: str) -> str:
    """Comparison key: folded, dots dropped ("U.S.A." -> "usa"), other punctuation -> one space."""
    return _NON_ALNUM_RE.sub(" ", fold(text).replace(".", "")).strip()


# --------------------------------------------------------------------------- form labels

LABELS: dict[str, dict[Field, tuple[str, ...]]] = {
    "en": {
        Field.NAME: ("name", "full name", "your name", "first and last name"),
        Field.EMAIL: ("email", "e-mail", "email address", "e-mail address", "mail"),
        Field.COUNTRY: ("country", "country of residence", "country where you work"),
        Field.TIMEZONE: ("time zone", "timezone", "time-zone", "tz"),
        Field.LANGUAGE: ("language", "preferred language"),
        Field.INSTITUTION: (
            "institution",
            "organisation",
            "organization",
            "employer",
            "workplace",
            "institution/organisation",
            "institution/organization",
        ),
        Field.SECTOR: ("sector", "library sector"),
        Field.CAREER_STAGE: ("career stage", "career-stage", "stage"),
        Field.INTERESTS: ("interests", "interest", "professional interests", "topics"),
        Field.PARTNER_SECTOR: (
            "partner sector",
            "partner's sector",
            "preferred partner sector",
            "partner sector preference",
        ),
        Field.PARTNER_CAREER_STAGE: (
            "partner career stage",
            "partner's career stage",
            "preferred partner career stage",
            "partner stage",
            "partner's stage",
        ),
        Field.PARTNER_INTERESTS: (
            "partner interests",
            "partner's interests",
            "preferred partner interests",
        ),
        Field.ABOUT: ("about me", "about", "about yourself", "a bit about me", "bio"),
    },
    "fr": {
        Field.NAME: ("nom", "nom complet", "prénom et nom", "nom et prénom"),
        Field.EMAIL: ("courriel", "adresse électronique", "adresse courriel", "e-mail", "email"),
        Field.COUNTRY: ("pays", "pays de résidence"),
        Field.TIMEZONE: ("fuseau horaire", "fuseau"),
        Field.LANGUAGE: ("langue", "langue préférée"),
        Field.INSTITUTION: (
            "établissement",
            "etablissement",
            "institution",
            "organisme",
            "organisation",
            "employeur",
        ),
        Field.SECTOR: ("secteur",),
        Field.CAREER_STAGE: (
            "étape de carrière",
            "stade de carrière",
            "étape",
            "niveau de carrière",
        ),
        Field.INTERESTS: ("intérêts", "centres d'intérêt", "centres d'intérêts", "thèmes"),
        Field.PARTNER_SECTOR: ("secteur du partenaire", "secteur de la partenaire"),
        Field.PARTNER_CAREER_STAGE: (
            "étape de carrière du partenaire",
            "étape de carrière de la partenaire",
            "étape du partenaire",
        ),
        Field.PARTNER_INTERESTS: ("intérêts du partenaire", "intérêts de la partenaire"),
        Field.ABOUT: ("à propos de moi", "à propos", "présentation", "quelques mots sur moi"),
    },
    "es": {
        Field.NAME: ("nombre", "nombre completo", "nombre y apellidos", "nombre y apellido"),
        Field.EMAIL: ("correo", "correo electrónico", "email", "e-mail"),
        Field.COUNTRY: ("país", "país de residencia"),
        Field.TIMEZONE: ("zona horaria", "huso horario"),
        Field.LANGUAGE: ("idioma", "lengua", "idioma preferido"),
        Field.INSTITUTION: ("institución", "organización", "centro de trabajo", "empleador"),
        Field.SECTOR: ("sector",),
        Field.CAREER_STAGE: ("etapa profesional", "etapa de carrera", "etapa"),
        Field.INTERESTS: ("intereses", "temas de interés"),
        Field.PARTNER_SECTOR: (
            "sector de la pareja",
            "sector del compañero",
            "sector de la compañera",
        ),
        Field.PARTNER_CAREER_STAGE: (
            "etapa profesional de la pareja",
            "etapa de la pareja",
            "etapa profesional del compañero",
        ),
        Field.PARTNER_INTERESTS: (
            "intereses de la pareja",
            "intereses del compañero",
            "intereses de la compañera",
        ),
        Field.ABOUT: ("sobre mí", "acerca de mí", "presentación"),
    },
}

# Words around a label that do not change its meaning: "Your name", "Mes intérêts",
# "Time zone (optional)", "Nombre (obligatorio)".
_LABEL_LEADING = frozenset(
    [
        "your",
        "my",
        "votre",
        "vos",
        "ton",
        "tes",
        "mon",
        "ma",
        "mes",
        "tu",
        "tus",
        "su",
        "sus",
        "mi",
        "mis",
    ]
)
_LABEL_TRAILING = frozenset(
    [
        "optional",
        "required",
        "facultatif",
        "facultative",
        "optionnel",
        "obligatoire",
        "opcional",
        "obligatorio",
    ]
)


def _build_label_index() -> dict[str, tuple[Field, frozenset[str]]]:
    index: dict[str, tuple[Field, set[str]]] = {}
    for lang, fields in LABELS.items():
        for fld, spellings in fields.items():
            for spelling in spellings:
                k = key(spelling)
                if k in index and index[k][0] is not fld:
                    raise ValueError(f"label {spelling!r} means both {index[k][0]} and {fld}")
                index.setdefault(k, (fld, set()))[1].add(lang)
    return {k: (fld, frozenset(langs)) for k, (fld, langs) in index.items()}


LABEL_INDEX: dict[str, tuple[Field, frozenset[str]]] = _build_label_index()
_MAX_LABEL_LEN = 60


def lookup_label(text: str) -> tuple[Field, frozenset[str]] | None:
    """(field, languages whose form uses this label) for a label as written, or None."""
    if len(text) > _MAX_LABEL_LEN:
        return None
    k = key(_PARENS_RE.sub(" ", text))
    hit = LABEL_INDEX.get(k)
    if hit is not None:
        return hit
    words = k.split()
    while words and words[0] in _LABEL_LEADING:
        words = words[1:]
    while words and words[-1] in _LABEL_TRAILING:
        words = words[:-1]
    return LABEL_INDEX.get(" ".join(words))


# --------------------------------------------------------------------------- values

# Values meaning "I left this blank" (the key of "-", "—", "...", "?" is "").
_PLACEHOLDER_KEYS = frozenset({"", "n a", "na", "nil", "tbd", "tbc", "xx", "xxx"})
_BRACKETED_RE = re.compile(r"^\s*(\[.*\]|<.*>|\(.*\)|\{.*\})\s*$", re.DOTALL)
_MAX_BRACKETED_LEN = 60  # "(I have worked in ...)" as a whole About text is not a placeholder

# Values meaning "no wish" for the optional partner fields.
_NO_WISH = frozenset(
    key(w)
    for w in (
        "any",
        "anything",
        "anyone",
        "either",
        "all",
        "none",
        "no",
        "no preference",
        "no preferences",
        "doesn't matter",
        "does not matter",
        "don't mind",
        "no matter",
        "any sector",
        "any stage",
        "peu importe",
        "indifférent",
        "indifférente",
        "n'importe",
        "n'importe lequel",
        "n'importe laquelle",
        "n'importe quel",
        "aucune",
        "aucun",
        "aucune préférence",
        "pas de préférence",
        "sans préférence",
        "tous",
        "toutes",
        "cualquiera",
        "cualquier",
        "indiferente",
        "da igual",
        "me da igual",
        "igual",
        "no importa",
        "sin preferencia",
        "ninguna",
        "ninguno",
        "todos",
        "todas",
    )
)


_MAX_NO_WISH_LEN = 60


def is_placeholder(value: str) -> bool:
    """True when a value is really empty: blank, "-", "N/A", "[your name]", "(none)"."""
    if len(value) > _MAX_BRACKETED_LEN:
        return False
    if key(value) in _PLACEHOLDER_KEYS:
        return True
    return len(value) <= _MAX_BRACKETED_LEN and bool(_BRACKETED_RE.match(value))


def is_no_wish(value: str) -> bool:
    """True for "any", "peu importe", "cualquiera", "-", "none" ... (and for blanks)."""
    return is_placeholder(value) or (len(value) <= _MAX_NO_WISH_LEN and key(value) in _NO_WISH)


_SECTOR_WORDS: dict[Sector, tuple[str, ...]] = {
    Sector.ACADEMIC: (
        "academic",
        "academia",
        "university",
        "universities",
        "college",
        "higher education",
        "tertiary",
        "research",
        "universitaire",
        "académique",
        "université",
        "enseignement supérieur",
        "universitaria",
        "universitario",
        "académica",
        "académico",
        "universidad",
        "educación superior",
    ),
    Sector.PUBLIC: (
        "public",
        "municipal",
        "community",
        "publique",
        "municipale",
        "médiathèque",  # alone: the French public (municipal) media library
        "pública",
        "público",
        "popular",
    ),
    Sector.SCHOOL: (
        "school",
        "schools",
        "k-12",
        "teacher librarian",
        "scolaire",
        "école",
        "cdi",
        "escolar",
        "escuela",
        "colegio",
    ),
    Sector.SPECIAL: (
        "special",
        "specialist",
        "specialised",
        "specialized",
        "corporate",
        "law",
        "legal",
        "medical",
        "health",
        "hospital",
        "spécialisée",
        "spécialisé",
        "spéciale",
        "especial",
        "especializada",
        "especializado",
    ),
    Sector.GOVERNMENT: (
        "government",
        "governmental",
        "national",
        "parliamentary",
        "gouvernement",
        "gouvernementale",
        "gouvernemental",
        "nationale",
        "gobierno",
        "gubernamental",
        "nacional",
    ),
    Sector.ARCHIVES: (
        "archives",
        "archive",
        "archival",
        "archivist",
        "archivos",
        "archivo",
        "archivística",
        "archivístico",
    ),
    Sector.MUSEUM: (
        "museum",
        "museums",
        "gallery",
        "galleries",
        "musée",
        "musées",
        "museo",
        "museos",
    ),
    Sector.STUDENT: (
        "student",
        "students",
        "library school",
        "étudiant",
        "étudiante",
        "étudiants",
        "estudiante",
        "estudiantes",
    ),
    Sector.OTHER: ("other", "others", "autre", "autres", "otro", "otra", "otros"),
}
_SECTOR_FILLER = frozenset(
    [
        "library",
        "libraries",
        "librarian",
        "librarianship",
        "sector",
        "secteur",
        "bibliotheque",
        "bibliotheques",
        "biblioteca",
        "bibliotecas",
        "bibliothecaire",
        "bibliotecario",
        "bibliotecaria",
        "mediatheque",  # "médiathèque municipale", "médiathèque universitaire"
        "mediatheques",
        "de",
        "du",
        "des",
        "d",
        "la",
        "le",
        "les",
        "l",
        "el",
        "los",
        "las",
    ]
)

_STAGE_WORDS: dict[CareerStage, tuple[str, ...]] = {
    CareerStage.STUDENT: (
        "student",
        "studying",
        "étudiant",
        "étudiante",
        "estudiante",
        "library school student",
    ),
    CareerStage.NEW_PROFESSIONAL: (
        "new professional",
        "new professionals",
        "new",
        "early career",
        "early",
        "newly qualified",
        "recent graduate",
        "emerging professional",
        "new librarian",
        "junior",
        "nouveau professionnel",
        "nouvelle professionnelle",
        "nouveau",
        "nouvelle",
        "jeune professionnel",
        "jeune professionnelle",
        "début de carrière",
        "en début de carrière",
        "recién titulado",
        "recién titulada",
        "nuevo profesional",
        "nueva profesional",
        "inicio de carrera",
        "principiante",
        "joven profesional",
    ),
    CareerStage.MID_CAREER: (
        "mid-career",
        "midcareer",
        "mid",
        "middle",
        "mid-level",
        "intermediate",
        "mi-carrière",
        "milieu de carrière",
        "intermédiaire",
        "mitad de carrera",
        "a mitad de carrera",
        "media carrera",
        "intermedio",
        "intermedia",
    ),
    CareerStage.SENIOR: (
        "senior",
        "sénior",
        "experienced",
        "late career",
        "veteran",
        "cadre supérieur",
        "cadre supérieure",
        "cadre",
        "expérimenté",
        "expérimentée",
        "fin de carrière",
        "experimentado",
        "experimentada",
        "final de carrera",
    ),
}
_STAGE_FILLER = frozenset(
    [
        "stage",
        "level",
        "etape",
        "etapa",
        "niveau",
        "nivel",
        "librarian",
        "bibliothecaire",
        "bibliotecario",
        "bibliotecaria",
        "professional",  # "senior professional", "early-career professional"
        "professionnel",
        "professionnelle",
        "profesional",
    ]
)

_LANGUAGE_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("en", "eng", "english", "anglais", "inglés"),
    "fr": ("fr", "fra", "fre", "french", "français", "francés", "francais"),
    "es": ("es", "esp", "spa", "spanish", "español", "espagnol", "castellano", "castillan"),
}


def _word_table(words: dict[str, tuple[str, ...]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, spellings in words.items():
        for spelling in spellings:
            k = key(spelling)
            if table.get(k, canonical) != canonical:
                raise ValueError(f"{spelling!r} means both {table[k]} and {canonical}")
            table[k] = canonical
    return table


_SECTOR_TABLE = _word_table({s.value: w for s, w in _SECTOR_WORDS.items()})
_STAGE_TABLE = _word_table({s.value: w for s, w in _STAGE_WORDS.items()})
_LANGUAGE_TABLE = _word_table(_LANGUAGE_WORDS)
assert set(_LANGUAGE_TABLE.values()) == set(LANGUAGES)

# "academic / public", "academic or public", "public, school": when every part is known the
# first one is taken (the model holds one value).
_ALTERNATIVES_RE = re.compile(r"\s*(?:[,;/&+|]|\b(?:and|or|et|ou|y|o)\b)\s*", re.IGNORECASE)


def _lookup(value: str, table: dict[str, str], filler: frozenset[str]) -> str | None:
    for candidate in (value, _PARENS_RE.sub(" ", value)):
        k = key(candidate)
        if not k:
            continue
        if k in table:
            return table[k]
        trimmed = " ".join(w for w in k.split() if w not in filler)
        if trimmed in table:
            return table[trimmed]
    parts = [p for p in _ALTERNATIVES_RE.split(_PARENS_RE.sub(" ", value)) if p and p.strip()]
    if len(parts) > 1:
        found = [_lookup(p, table, filler) for p in parts]
        if all(found):
            return found[0]
    return None


def parse_sector(value: str) -> Sector | None:
    """The sector meant by `value` ("bibliothèque universitaire" -> ACADEMIC), or None."""
    hit = _lookup(value, _SECTOR_TABLE, _SECTOR_FILLER)
    return Sector(hit) if hit else None


def parse_career_stage(value: str) -> CareerStage | None:
    """The career stage meant by `value` ("mi-carrière" -> MID_CAREER), or None."""
    hit = _lookup(value, _STAGE_TABLE, _STAGE_FILLER)
    return CareerStage(hit) if hit else None


def parse_language(value: str) -> str | None:
    """ "en" | "fr" | "es" for a language code or name in any of the three, or None."""
    return _lookup(value, _LANGUAGE_TABLE, frozenset())


# --------------------------------------------------------------------------- countries

# Countries ISO 3166-1 has not (yet) assigned a code, with the user-assigned code the EU,
# CLDR and most mail systems use, and their name (the same in English, French and Spanish).
EXTRA_COUNTRIES: dict[str, str] = {"XK": "Kosovo"}

# Spellings pycountry does not carry (or carries ambiguously), in the three languages.
COUNTRY_ALIASES: dict[str, str] = {
    "kosovo": "XK",
    "kosova": "XK",
    "kosove": "XK",
    "republic of kosovo": "XK",
    "xk": "XK",
    "xkx": "XK",
    "usa": "US",
    "us": "US",
    "u s": "US",
    "u s a": "US",
    "united states of america": "US",
    "the united states": "US",
    "estados unidos": "US",
    "eeuu": "US",
    "ee uu": "US",
    "etats unis": "US",
    "uk": "GB",
    "u k": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "gran bretana": "GB",
    "inglaterra": "GB",
    "escocia": "GB",
    "gales": "GB",
    "grande bretagne": "GB",
    "angleterre": "GB",
    "ecosse": "GB",
    "pays de galles": "GB",
    "irlande du nord": "GB",
    "irlanda del norte": "GB",
    "korea": "KR",
    "south korea": "KR",
    "republic of korea": "KR",
    "coree": "KR",
    "corea": "KR",
    "north korea": "KP",
    "vietnam": "VN",
    "viet nam": "VN",
    "russia": "RU",
    "russie": "RU",
    "rusia": "RU",
    "iran": "IR",
    "syria": "SY",
    "bolivia": "BO",
    "tanzania": "TZ",
    "czech republic": "CZ",
    "ivory coast": "CI",
    "cote d ivoire": "CI",
    "costa de marfil": "CI",
    "cote divoire": "CI",
    "holland": "NL",
    "hollande": "NL",
    "holanda": "NL",
    "the netherlands": "NL",
    "deutschland": "DE",
    "espana": "ES",
    "brasil": "BR",
    "turkey": "TR",
    "turquia": "TR",
    "dr congo": "CD",
    "drc": "CD",
    "rdc": "CD",
    "rd congo": "CD",
    "democratic republic of the congo": "CD",
    "democratic republic of congo": "CD",
    "congo kinshasa": "CD",
    "congo brazzaville": "CG",
    "republic of the congo": "CG",
    "burma": "MM",
    "birmanie": "MM",
    "birmania": "MM",
    "cape verde": "CV",
    "east timor": "TL",
    "timor oriental": "TL",
    "uae": "AE",
    "emirates": "AE",
    "emirats arabes unis": "AE",
    "emiratos arabes unidos": "AE",
    "ksa": "SA",
    "swaziland": "SZ",
    "macedonia": "MK",
    "vatican": "VA",
    "vatican city": "VA",
    "vaticano": "VA",
    "palestine": "PS",
    "palestina": "PS",
    "moldova": "MD",
    "taiwan": "TW",
    "aotearoa": "NZ",
    "phillipines": "PH",
    "filipinas": "PH",
    "micronesia": "FM",
    "laos": "LA",
    "bosnia": "BA",
    "bosnie": "BA",
}
_COUNTRY_ARTICLES = frozenset(["the", "la", "le", "les", "l", "el", "los", "las", "republic", "of"])
_COUNTRY_SPLIT_RE = re.compile(r"\s*[,/|()\-–—]\s*")


@functools.cache
def _country_index() -> dict[str, str]:
    """key -> alpha-2: aliases > ISO codes > full names > derived short forms (if unambiguous)."""
    names: dict[str, str] = {}
    derived: dict[str, set[str]] = {}
    catalogues = [
        gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang], fallback=True)
        for lang in ("fr", "es")
    ]
    for country in pycountry.countries:
        code = country.alpha_2
        english = [
            getattr(country, attr, None) for attr in ("name", "official_name", "common_name")
        ]
        spellings = [n for n in english if n]
        spellings += [cat.gettext(n) for cat in catalogues for n in english if n]
        for spelling in spellings:
            names.setdefault(key(spelling), code)
            short = []
            if "," in spelling:
                short.append(spelling.split(",", 1)[0])
            if "(" in spelling:
                short.append(_PARENS_RE.sub(" ", spelling))
                short.extend(re.findall(r"\(([^)]*)\)", spelling))
            for s in short:
                derived.setdefault(key(s), set()).add(code)
    index = {k: next(iter(codes)) for k, codes in derived.items() if len(codes) == 1 and k}
    index.update(names)
    for country in pycountry.countries:
        index[country.alpha_2.lower()] = country.alpha_2
        index[country.alpha_3.lower()] = country.alpha_2
    index.update(COUNTRY_ALIASES)
    return index


def parse_country(value: str, *, names_only: bool = False, whole: bool = False) -> str | None:
    """ISO alpha-2 for a country name (en/fr/es), code or common short form, or None.

    With `names_only`, 2- and 3-letter codes and abbreviations ("EE", "EST", "USA") are not
    read: no country's name is that short. With `whole`, only the whole value is read, not one
    of its parts ("Toronto, EST" names no country as a whole).
    """
    index = _country_index()
    min_len = 4 if names_only else 2
    k = key(value)
    if not k:
        return None
    if k in index and (len(k) >= min_len or not names_only):
        return index[k]
    words = k.split()
    while words and words[0] in _COUNTRY_ARTICLES:
        words = words[1:]
    rest = " ".join(words)
    if words and rest in index and (len(rest) >= min_len or not names_only):
        return index[rest]
    if whole:
        return None
    # "Lyon, France", "France (Paris)", "USA - New York": one part, and only one, is a country.
    found = {
        index[pk]
        for part in _COUNTRY_SPLIT_RE.split(value)
        if (pk := key(part)) and len(pk) >= min_len and pk in index
    }
    return found.pop() if len(found) == 1 else None


def country_main_zone(alpha2: str) -> str | None:
    """The IANA zone most people in that country live in, or None (e.g. Antarctica)."""
    return COUNTRY_MAIN_ZONE.get(alpha2.upper())


# --------------------------------------------------------------------------- time zones

_OFFSET_RE = re.compile(
    r"^(?:utc|gmt|z)?\s*(?P<sign>[+\-−])\s*(?P<h>\d{1,2})(?:\s*(?:[:h.]\s*)?(?P<m>\d{2}))?\s*h?$",
    re.IGNORECASE,
)
_ZERO_OFFSET = frozenset({"utc", "gmt", "z", "zulu", "utc 0", "gmt 0", "utc 00 00", "gmt 00 00"})
# Offsets with minutes -> the zone whose standard (non-DST) offset it is.
_HALF_HOUR_ZONES: dict[int, str] = {
    -(9 * 60 + 30): "Pacific/Marquesas",
    -(3 * 60 + 30): "America/St_Johns",
    3 * 60 + 30: "Asia/Tehran",
    4 * 60 + 30: "Asia/Kabul",
    5 * 60 + 30: "Asia/Kolkata",
    5 * 60 + 45: "Asia/Kathmandu",
    6 * 60 + 30: "Asia/Yangon",
    8 * 60 + 45: "Australia/Eucla",
    9 * 60 + 30: "Australia/Darwin",
    10 * 60 + 30: "Australia/Lord_Howe",
    12 * 60 + 45: "Pacific/Chatham",
}
_ZONE_ABBREVIATIONS: dict[str, str] = {
    "est": "America/New_York",
    "edt": "America/New_York",
    "eastern": "America/New_York",
    "eastern time": "America/New_York",
    "et": "America/New_York",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "central time": "America/Chicago",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "mountain time": "America/Denver",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "pacific time": "America/Los_Angeles",
    "bst": "Europe/London",
    "aest": "Australia/Sydney",
    "aedt": "Australia/Sydney",
    "cest": "Europe/Paris",
    "central european time": "Europe/Paris",
}
_ZONE_REGIONS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


@functools.cache
def _zone_index() -> tuple[dict[str, str], dict[str, str]]:
    """(lower-case IANA name -> name, city key -> name), built from the tz database's list."""
    names = sorted(z for z in zoneinfo.available_timezones() if z not in _NOT_ZONES)
    exact = {z.lower(): z for z in names}
    cities: dict[str, str] = {}
    # Deeper names first, so "America/Argentina/Buenos_Aires" wins over the old link
    # "America/Buenos_Aires"; only the geographic regions, never "US/Eastern" or "Etc/...".
    for z in sorted(names, key=lambda n: (-n.count("/"), n)):
        if z.startswith(_ZONE_REGIONS):
            cities.setdefault(key(z.rsplit("/", 1)[1].replace("_", " ")), z)
    return exact, cities


def _offset_zone(sign: str, hours: int, minutes: int) -> str | None:
    total = (hours * 60 + minutes) * (-1 if sign in "-−" else 1)
    if total == 0:
        return "UTC"
    if minutes:
        return _HALF_HOUR_ZONES.get(total)
    if not -12 <= total // 60 <= 14:
        return None
    # POSIX-style Etc names invert the sign: UTC+5 is Etc/GMT-5.
    return f"Etc/GMT{'-' if total > 0 else '+'}{abs(total) // 60}"


def _zone_of(text: str) -> str | None:
    """The zone `text` names as a zone, abbreviation, offset or city (never as a country)."""
    exact, cities = _zone_index()
    k = key(text)
    if k in _ZONE_ABBREVIATIONS:
        return _ZONE_ABBREVIATIONS[k]
    compact = re.sub(r"\s*/\s*", "/", text)
    zone = exact.get(compact.lower()) or exact.get(compact.replace(" ", "_").lower())
    if zone:
        return zone
    m = _OFFSET_RE.match(text)
    if m:
        return _offset_zone(m["sign"], int(m["h"]), int(m["m"] or 0))
    if k in _ZERO_OFFSET:
        return "UTC"
    return cities.get(k)


def parse_timezone(value: str) -> str | None:
    """A valid IANA zone name for what the applicant wrote, or None (see module docstring)."""
    text = value.strip()
    if not text or len(text) > 100:
        return None
    bare = _PARENS_RE.sub(" ", text).strip()  # "Ireland (GMT)" -> "Ireland"; may be ""
    candidates = [text, bare, *re.findall(r"\(([^)]*)\)", text)]
    # "CET/CEST", "UTC+1, UTC+2 in summer": the first part that is a zone ("Region/City"
    # names are never split: a misspelt "America/Nowhere" must not become "America").
    region_name = text.lower().startswith(tuple(r.lower() for r in _ZONE_REGIONS))
    separators = r"\s*[,;]\s*" if region_name else r"\s*[,;/]\s*"
    parts = [p for p in re.split(separators, bare) if p.strip()]
    if len(parts) > 1:
        candidates += parts
    candidates = [c.strip() for c in candidates if c.strip()]
    zone = _zone_of(candidates[0])
    if zone:
        return zone
    # A country the whole text names, short forms too ("UK", "USA", "Ireland (GMT)"): its main
    # zone keeps the summer time that an abbreviation or offset beside it would lose.
    country = parse_country(bare, names_only=True, whole=True) if bare else None
    country = country or COUNTRY_ALIASES.get(key(bare))  # "UK", "USA"; not "EE"
    if country and country_main_zone(country):
        return country_main_zone(country)
    for candidate in candidates[1:]:
        zone = _zone_of(candidate)
        if zone:
            return zone
    # Only then a country, by its name: "EST" is Estonia's alpha-3 and "ET" Ethiopia's code,
    # but written as a time zone they are US Eastern time.
    for candidate in candidates:
        country = parse_country(candidate, names_only=True)
        if country and country_main_zone(country):
            return country_main_zone(country)
    return None
