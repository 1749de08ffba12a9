"""How the demo's pairs behave: who writes what on which day, and how people answer the program.

Decides, from a seed and a day only — never from the clock, the database or the mailbox:
- each pair's behaviour for the round (`scripts_for`): regular talk, quiet then "IN TOUCH",
  one-sided, silent, an address that starts bouncing, a pause, a withdrawal, an out-of-office
  stretch, a pair that fades out;
- what happens on a round day (`day_actions`): partner mail with the pair's tracking address
  in Cc, commands to the program, delivery-status notifications, out-of-office replies;
- how a person answers the program's mail (`respond`): IN TOUCH to a quiet nudge, YES to the
  check-in, the three survey lines.

Days are counted from the round's start (day 0). The caller (`mailbot.demo.world`) turns actions
into RFC 5322 messages, writes them into the program's Maildir and reads the program's answers
from the `.eml` files it wrote.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from mailbot.demo.cast import SEED


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
    if kind == "confirm_request":  # they asked (to withdraw): they confirm it
        return Reply(_YES[m.language], delay=0)
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
