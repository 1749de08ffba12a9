"""The demo's simulated people: who applies with what form, and who writes what on which day.

Decides, from a seed and a day only — never from the clock, the database or the mailbox:
- the applicants (`applicants`): ~40 people from many countries, forms in English, French and
  Spanish, some with partner wishes, a few whose first form has problems and who send a
  corrected one a couple of days later;
- each pair's behaviour for the round (`scripts_for`): regular talk, quiet then "IN TOUCH",
  one-sided, silent, an address that starts bouncing, a pause, a withdrawal, an out-of-office
  stretch, a pair that fades out;
- what happens on a round day (`day_actions`): partner mail with the pair's tracking address
  in Cc, commands to the program, delivery-status notifications, out-of-office replies;
- how a person answers the program's mail (`respond`): IN TOUCH to a quiet nudge, YES to the
  check-in, the three survey lines.

Days are counted from the round's start (day 0); application days are negative. The caller (
`mailbot.demo`) turns actions into RFC 5322 messages, writes them into the program's Maildir and
reads the program's answers from the `.eml` files it wrote.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

SEED = 2027

# (name, mailbox, form language, country as the person writes it, institution)
_PEOPLE: tuple[tuple[str, str, str, str, str], ...] = (
    ("Kofi Mensah", "kofi.mensah@ug.example.edu.gh", "en", "Ghana", "Balme Library"),
    ("Amélie Dubois", "amelie.dubois@bm-lyon.example.fr", "fr", "France", "Médiathèque de Lyon"),
    ("Lucía Fernández", "lucia@agn.example.mx", "es", "México", "Archivo General de la Nación"),
    ("Priya Raman", "priya.raman@example.in", "en", "India", "Chennai Museum"),
    ("Tom Baker", "tom.baker@leeds.example.uk", "en", "United Kingdom", "Leeds Central Library"),
    ("Aroha Ngata", "aroha@library.example.nz", "en", "New Zealand", "Wellington City Libraries"),
    ("Moussa Diop", "moussa.diop@ucad.example.sn", "fr", "Sénégal", "Bibliothèque de l'UCAD"),
    ("Camila Rojas", "camila.rojas@example.cl", "es", "Chile", "Biblioteca Nacional de Chile"),
    ("Hana Sato", "hana.sato@example.jp", "en", "Japan", "Osaka Prefectural Library"),
    ("Wanjiru Kamau", "wanjiru@knls.example.ke", "en", "Kenya", "Kenya National Library"),
    ("Lukas Becker", "lukas.becker@example.de", "en", "Germany", "Stadtbibliothek Köln"),
    ("Sofía Gómez", "sofia.gomez@example.co", "es", "Colombia", "Biblioteca Luis Ángel Arango"),
    ("Yasmine Alaoui", "yasmine@bnrm.example.ma", "fr", "Maroc", "Bibliothèque nationale"),
    ("Mateo Silva", "mateo.silva@example.uy", "es", "Uruguay", "Biblioteca de la Udelar"),
    ("Grace Okafor", "grace.okafor@unilag.example.ng", "en", "Nigeria", "University of Lagos"),
    ("Jonas Lindqvist", "jonas@example.se", "en", "Sweden", "Malmö stadsbibliotek"),
    ("Nadia Haddad", "nadia.haddad@example.lb", "fr", "Liban", "Bibliothèque de l'USJ"),
    ("Diego Torres", "diego.torres@example.pe", "es", "Perú", "Biblioteca Municipal de Lima"),
    ("Maria Santos", "maria.santos@example.ph", "en", "Philippines", "Ateneo de Manila Library"),
    ("Liam O'Brien", "liam.obrien@example.ie", "en", "Ireland", "Trinity College Library"),
    ("Élodie Martin", "elodie.martin@example.be", "fr", "Belgique", "KBR"),
    ("Valentina Cruz", "valentina.cruz@example.ar", "es", "Argentina", "Biblioteca del Congreso"),
    ("Siosaia Tonga", "siosaia@usp.example.fj", "en", "Fiji", "USP Library"),
    ("Nguyen Thi Lan", "lan.nguyen@example.vn", "en", "Vietnam", "National Library of Vietnam"),
    ("Awa Koné", "awa.kone@example.ci", "fr", "Côte d'Ivoire", "Bibliothèque nationale"),
    ("Andrés Morales", "andres.morales@example.ec", "es", "Ecuador", "Biblioteca Aurelio Espinosa"),
    ("Emily Chen", "emily.chen@example.sg", "en", "Singapore", "NLB Singapore"),
    ("Thabo Nkosi", "thabo.nkosi@example.za", "en", "South Africa", "UCT Libraries"),
    ("Claire Fontaine", "claire.fontaine@example.ch", "fr", "Suisse", "Bibliothèque de Genève"),
    ("Isabel Ruiz", "isabel.ruiz@example.es", "es", "España", "Biblioteca de Catalunya"),
    ("Sarah Miller", "sarah.miller@example.us", "en", "United States", "Denver Public Library"),
    ("Ahmed Hassan", "ahmed.hassan@example.eg", "en", "Egypt", "Bibliotheca Alexandrina"),
    ("Jean-Baptiste Noël", "jb.noel@example.ht", "fr", "Haïti", "Bibliothèque haïtienne"),
    ("Ana Paula Lima", "anapaula@example.br", "en", "Brazil", "Biblioteca Mário de Andrade"),
    ("Sanne de Vries", "sanne@example.nl", "en", "Netherlands", "KB Den Haag"),
    ("Rahel Tesfaye", "rahel@example.et", "en", "Ethiopia", "Addis Ababa University Library"),
    ("Olivia Brown", "olivia.brown@example.au", "en", "Australia", "State Library Victoria"),
    ("Marisol Pérez", "marisol.perez@example.gt", "es", "Guatemala", "Biblioteca Nacional"),
    ("Chloé Ngo", "chloe.ngo@example.ca", "fr", "Canada", "BAnQ"),
    ("Dewi Lestari", "dewi.lestari@example.id", "en", "Indonesia", "Perpustakaan Nasional"),
)

_SECTORS = {
    "en": ("academic", "public", "school", "special", "government", "archives", "museum"),
    "fr": ("universitaire", "public", "scolaire", "spécialisé", "archives", "musée"),
    "es": ("universitario", "público", "escolar", "especializado", "archivos", "museo"),
}
_STAGES = {
    "en": ("new professional", "mid-career", "senior", "student"),
    "fr": ("début de carrière", "mi-carrière", "sénior"),
    "es": ("inicio de carrera", "mitad de carrera", "sénior"),
}
_INTERESTS = {
    "en": (
        "research data",
        "open access",
        "digitisation",
        "makerspaces",
        "children's services",
        "information literacy",
        "rare books",
        "community outreach",
        "metadata",
        "copyright",
    ),
    "fr": (
        "médiation numérique",
        "jeunesse",
        "numérisation",
        "fonds anciens",
        "accès ouvert",
        "éducation aux médias",
    ),
    "es": (
        "preservación digital",
        "gestión documental",
        "alfabetización informacional",
        "bibliotecas escolares",
        "acceso abierto",
        "fomento de la lectura",
    ),
}
_LABELS = {
    "en": {
        "name": "Name",
        "country": "Country",
        "institution": "Institution",
        "sector": "Sector",
        "stage": "Career stage",
        "interests": "Interests",
        "partner_sector": "Partner sector",
        "partner_interests": "Partner interests",
        "about": "About me",
    },
    "fr": {
        "name": "Nom",
        "country": "Pays",
        "institution": "Établissement",
        "sector": "Secteur",
        "stage": "Étape de carrière",
        "interests": "Intérêts",
        "partner_sector": "Secteur du partenaire",
        "partner_interests": "Intérêts du partenaire",
        "about": "À propos de moi",
    },
    "es": {
        "name": "Nombre",
        "country": "País",
        "institution": "Institución",
        "sector": "Sector",
        "stage": "Etapa profesional",
        "interests": "Intereses",
        "partner_sector": "Sector de la pareja",
        "partner_interests": "Intereses de la pareja",
        "about": "Sobre mí",
    },
}
_GREETING = {"en": "Hello,", "fr": "Bonjour,", "es": "Hola:"}
_ABOUT = {
    "en": "I would like to learn how colleagues elsewhere work.",
    "fr": "J'aimerais découvrir comment travaillent des collègues ailleurs.",
    "es": "Me gustaría conocer cómo trabajan colegas de otros países.",
}
APPLY_FIRST_DAY = -28  # days before the round's start on which applications begin to arrive
APPLY_LAST_DAY = -11  # applications close a week and a half before the start
FIX_AFTER_DAYS = 2  # an applicant told what to fix sends the corrected form this much later


@dataclass(frozen=True)
class Applicant:
    name: str
    email: str
    language: str
    form: str  # the valid form's body
    day: int  # round day the (first) form is sent
    first_form: str | None = None  # a form with problems, sent first; the valid one follows
    wishes: bool = False  # the form states partner wishes


def _form(lang: str, fields: Sequence[tuple[str, str]], name: str) -> str:
    labels = _LABELS[lang]
    lines = [f"{labels[k]}: {v}" for k, v in fields]
    return f"{_GREETING[lang]}\n\n" + "\n".join(lines) + f"\n\n-- \n{name}\n"


def applicants(seed: int = SEED) -> list[Applicant]:
    """Every simulated applicant, in the order their first mail is sent."""
    rng = random.Random(seed)
    out: list[Applicant] = []
    for i, (name, email, lang, country, institution) in enumerate(_PEOPLE):
        interests = rng.sample(_INTERESTS[lang], 3)
        fields: list[tuple[str, str]] = [
            ("name", name),
            ("country", country),
            ("institution", institution),
            ("sector", rng.choice(_SECTORS[lang])),
            ("stage", rng.choice(_STAGES[lang])),
            ("interests", ", ".join(interests)),
        ]
        wishes = i % 4 == 1
        if wishes:
            fields.append(("partner_sector", rng.choice(_SECTORS[lang])))
            fields.append(("partner_interests", rng.choice(_INTERESTS[lang])))
        if i % 3 == 0:
            fields.append(("about", _ABOUT[lang]))
        first: str | None = None
        if i % 10 == 4:  # a few forms with problems, one per kind
            broken = list(fields)
            kind = (i // 10) % 4
            if kind == 0:  # no country at all
                broken = [f for f in broken if f[0] != "country"]
            elif kind == 1:  # a sector the program does not know
                broken = [(k, "bibliothèques" if k == "sector" else v) for k, v in broken]
            elif kind == 2:  # career stage and institution forgotten
                broken = [f for f in broken if f[0] not in ("stage", "institution")]
            else:  # a country that does not exist
                broken = [(k, "Atlantis" if k == "country" else v) for k, v in broken]
            first = _form(lang, broken, name)
        day = APPLY_FIRST_DAY + (i * (APPLY_LAST_DAY - APPLY_FIRST_DAY - FIX_AFTER_DAYS)) // len(
            _PEOPLE
        )
        out.append(Applicant(name, email, lang, _form(lang, fields, name), day, first, wishes))
    return out


class Script(enum.StrEnum):
    """How a pair behaves during the round."""

    REGULAR = "regular"  # both write every few days
    QUIET_THEN_IN_TOUCH = "quiet, then IN TOUCH"  # silent at first; answers the nudge; talks
    ONE_SIDED = "one-sided"  # the first member writes, the second never answers
    ONE_SIDED_RECOVERS = "one-sided, recovers"  # the silent one answers after the nudge
    SILENT = "silent"  # nobody writes: nudges, second nudges, then the coordinators
    BOUNCE = "bounce"  # the second member's address starts bouncing
    PAUSE = "pause"  # the first member pauses for two weeks
    WITHDRAW = "withdraw"  # the second member withdraws
    AWAY = "away"  # the first member is out of office for a while
    FADES = "fades"  # talks for half the round, then goes quiet


# Pair scripts in the order they are handed out; the rest of the pairs are REGULAR.
_SPECIAL = (
    Script.QUIET_THEN_IN_TOUCH,
    Script.ONE_SIDED,
    Script.SILENT,
    Script.BOUNCE,
    Script.PAUSE,
    Script.WITHDRAW,
    Script.AWAY,
    Script.FADES,
    Script.ONE_SIDED_RECOVERS,
)

# Round days on which the scripted events happen.
BOUNCE_DAYS = (24, 26, 28)  # three permanent failures on separate days
PAUSE_DAY = 30
PAUSE_DAYS = 14
WITHDRAW_DAY = 46
AWAY_FROM, AWAY_UNTIL = 42, 58
FADE_DAY = 66
QUIET_UNTIL = 20  # QUIET_THEN_IN_TOUCH pairs start talking again after their nudge


@dataclass(frozen=True)
class Member:
    email: str
    name: str
    language: str


@dataclass(frozen=True)
class SimPair:
    pair_id: int
    members: tuple[Member, ...]
    track: str  # the pair's tracking address, from the introduction's Cc


def scripts_for(pair_ids: Sequence[int], seed: int = SEED) -> dict[int, Script]:
    """One script per pair: each special behaviour once (as far as pairs go), the rest regular."""
    ids = sorted(pair_ids)
    random.Random(seed).shuffle(ids)
    return {p: (_SPECIAL[i] if i < len(_SPECIAL) else Script.REGULAR) for i, p in enumerate(ids)}


@dataclass(frozen=True)
class Talk:
    """Mail between partners with the tracking address in Cc."""

    sender: Member
    to: tuple[Member, ...]
    track: str
    subject: str
    body: str


@dataclass(frozen=True)
class ToProgram:
    """A mail from a participant to the program address (a command)."""

    sender: Member
    subject: str
    body: str
    auto_reply: bool = False  # an out-of-office reply (Auto-Submitted: auto-replied)


@dataclass(frozen=True)
class Bounce:
    """A delivery-status notification: mail to `address` failed permanently."""

    address: str
    n: int


Action = Talk | ToProgram | Bounce


@dataclass(frozen=True)
class Reply:
    """An answer to a mail the program sent, to that mail's Reply-To, `delay` days later."""

    body: str
    delay: int = 0


_TALK = {
    "en": "Thanks for your last message! Here is how we handle this at my library: ...",
    "fr": "Merci pour ton message ! Voici comment nous faisons dans ma bibliothèque : ...",
    "es": "¡Gracias por tu mensaje! Así lo hacemos en mi biblioteca: ...",
}


def _writes(pair: SimPair, who: int, day: int, seed: int) -> bool:
    """A regular writer: every `period` days from a per-person offset."""
    rng = random.Random(f"{seed}:{pair.pair_id}:{who}")
    period = rng.randint(5, 8)
    return day >= 1 and (day + rng.randint(0, period - 1)) % period == 0


def _talking(script: Script, who: int, day: int, round_days: int) -> bool:
    """Whether member `who` of a pair with this script talks at all on `day`."""
    if day < 1 or day >= round_days - 2:
        return False
    match script:
        case Script.REGULAR:
            return True
        case Script.QUIET_THEN_IN_TOUCH:
            return day > QUIET_UNTIL
        case Script.ONE_SIDED:
            return who == 0
        case Script.ONE_SIDED_RECOVERS:
            return who == 0 or day > 15
        case Script.SILENT:
            return False
        case Script.BOUNCE:
            return who == 0 or day < BOUNCE_DAYS[0] - 4
        case Script.PAUSE:
            return not (PAUSE_DAY <= day < PAUSE_DAY + PAUSE_DAYS)
        case Script.WITHDRAW:
            return day < WITHDRAW_DAY
        case Script.AWAY:
            return not (who == 0 and AWAY_FROM <= day < AWAY_UNTIL)
        case Script.FADES:
            return day < FADE_DAY
    return False


def day_actions(
    pairs: Sequence[SimPair],
    scripts: dict[int, Script],
    day: int,
    round_days: int,
    seed: int = SEED,
    start: date | None = None,
) -> list[Action]:
    """What the pairs do on round day `day` of a round lasting `round_days` days (starting on
    `start`, which only dates the out-of-office replies)."""
    out: list[Action] = []
    back = start + timedelta(days=AWAY_UNTIL) if start is not None else None
    for pair in pairs:
        script = scripts.get(pair.pair_id, Script.REGULAR)
        members = pair.members
        for who, m in enumerate(members):
            if not _talking(script, who, day, round_days):
                continue
            period_hit = _writes(pair, who, day, seed)
            if script is Script.ONE_SIDED and who == 0:
                period_hit = day % 4 == 1  # the eager one writes often, to no avail
            if period_hit:
                others = tuple(o for o in members if o is not m)
                subject = "Re: our conversation" if day > 3 else "Hello from " + m.name
                out.append(Talk(m, others, pair.track, subject, _TALK[m.language]))
        if script is Script.BOUNCE and day in BOUNCE_DAYS and len(members) > 1:
            out.append(Bounce(members[1].email, BOUNCE_DAYS.index(day) + 1))
        if script is Script.PAUSE and day == PAUSE_DAY:
            out.append(ToProgram(members[0], "PAUSE 2 weeks", "Busy with an exhibition, sorry!"))
        if script is Script.WITHDRAW and day == WITHDRAW_DAY and len(members) > 1:
            m = members[1]
            out.append(ToProgram(m, "WITHDRAW", "My job has changed; thank you for everything."))
        if script is Script.AWAY and day == AWAY_FROM:
            m = members[0]
            out.append(
                ToProgram(
                    m,
                    "Automatic reply: out of the office",
                    "I am out of the office"
                    + (f" until {back:%d %B %Y}." if back else " for a while.")
                    + "\nYour message has not been forwarded.",
                    auto_reply=True,
                )
            )
    return out


_SURVEY = {
    "en": "Satisfaction: {s}\nMost valuable: {v}\nChoice: {c}\n",
    "fr": "Satisfaction : {s}\nLe plus précieux : {v}\nChoix : {c}\n",
    "es": "Satisfacción: {s}\nLo más valioso: {v}\nOpción: {c}\n",
}
_VALUABLE = {
    "en": (
        "seeing how another library runs its makerspace",
        "a friend on another continent",
        "new ideas for our outreach programme",
    ),
    "fr": ("découvrir une autre façon de travailler", "une collègue à l'autre bout du monde"),
    "es": ("conocer otra manera de trabajar", "ideas nuevas para la biblioteca escolar"),
}
_IN_TOUCH = {
    "en": "IN TOUCH\n\nWe finally had a video call last week.",
    "fr": "EN CONTACT\n\nNous nous sommes appelés la semaine dernière.",
    "es": "EN CONTACTO\n\nHablamos por videollamada la semana pasada.",
}
_YES = {"en": "YES", "fr": "OUI", "es": "SÍ"}


def respond(
    kind: str, pair: SimPair, who: int, script: Script, day: int, seed: int = SEED
) -> Reply | None:
    """How member `who` of `pair` answers a program mail of template `kind` got on `day`."""
    m = pair.members[who]
    rng = random.Random(f"{seed}:{kind}:{m.email}")
    if kind == "nudge_quiet" and script is Script.QUIET_THEN_IN_TOUCH and who == 0:
        return Reply(_IN_TOUCH[m.language], delay=1)
    talkers = (Script.REGULAR, Script.PAUSE, Script.FADES)
    if kind == "checkin" and script in talkers and rng.random() < 0.6:
        return Reply(_YES[m.language], delay=rng.randint(0, 2))
    if kind == "survey":
        if (script is Script.SILENT and who == 1) or rng.random() < 0.2:
            return None  # some never answer
        good = script in (Script.REGULAR, Script.QUIET_THEN_IN_TOUCH, Script.PAUSE, Script.AWAY)
        satisfaction = rng.choice((4, 5, 5)) if good else rng.choice((2, 3, 4))
        choice = rng.choice((1, 2, 2)) if good else rng.choice((1, 3))
        body = _SURVEY[m.language].format(
            s=satisfaction, v=rng.choice(_VALUABLE[m.language]), c=choice
        )
        return Reply(body, delay=rng.randint(0, 5))
    return None
