"""The simulated applicants of `benchmarks.round`: who they are, what form they send, and how each
of them will behave during the round.

Decides, from a seed and the rate table only (never from mailbot's settings — the people do not
know the program's thresholds): the applicant mix (countries, sectors, wishes: the ILN-like pool of
`benchmarks.pools`), the form each sends in English, French or Spanish (a few broken first), and
each person's habits and events: how often they write, whether they keep the tracking address in
Cc, whether they never engage or fade out, go away, pause, withdraw, lose their address, ask
questions, and whether they write commands as sentences.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import gettext
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pycountry

from benchmarks import round_texts as tx
from benchmarks.pools import make_pool

if TYPE_CHECKING:
    from benchmarks.round import Rates
    from benchmarks.round_world import Received

# The round's calendar (ILN 2016A-like: a month of applications, four months of round).
OPEN = date(2027, 1, 4)
CLOSE = date(2027, 1, 31)
MATCHING = date(2027, 2, 3)
START = date(2027, 2, 8)
END = date(2027, 6, 8)
LAST_DAY = END + timedelta(days=16)  # after the final report (two weeks after the end)
ROUND_DAYS = (END - START).days

_CATALOGUES = {
    lang: gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang], fallback=True)
    for lang in ("fr", "es")
}


def country_name(code: str, lang: str) -> str:
    c = pycountry.countries.get(alpha_2=code)
    if c is None:
        return code
    name = str(getattr(c, "common_name", None) or c.name)
    return _CATALOGUES[lang].gettext(c.name) if lang in _CATALOGUES else name


@dataclass
class Person:
    """One simulated applicant: identity, form, habits (fixed) and state (changes as they go)."""

    k: int
    email: str
    name: str
    language: str
    form: str
    apply_on: date
    first_form: str | None = None  # a form with problems, sent first
    ask_first: bool = False  # writes a question from this address before applying
    # habits and events (round days counted from START)
    period: tuple[int, int] = (7, 14)
    no_cc: bool = False
    ghost: bool = False  # never writes to a partner
    fade_day: int | None = None
    away: tuple[int, int] | None = None  # [from, to) round days, auto-replies on
    dead_day: int | None = None
    pause: tuple[int, int] | None = None  # (day, weeks)
    withdraw_day: int | None = None
    question_days: tuple[int, ...] = ()
    sentences: bool = False  # writes commands as sentences rather than keywords
    # state
    pair_id: int | None = None
    partners: tuple[str, ...] = ()
    track: str | None = None
    next_write: date | None = None
    unanswered: int = 0  # own mails to the partner since the partner last wrote
    asked_help: bool = False
    told_bounce: int = 0  # bounces of own mail to the partner
    withdrawn: bool = False
    paused_until: date | None = None
    last_program_mail: Received | None = None  # to reply to (read when they do)
    away_replied: set[str] = field(default_factory=set)

    def day_of(self, d: date) -> int:
        return (d - START).days

    def dead(self, d: date) -> bool:
        return self.dead_day is not None and self.day_of(d) >= self.dead_day

    def is_away(self, d: date) -> bool:
        return self.away is not None and self.away[0] <= self.day_of(d) < self.away[1]

    def engaged(self, d: date) -> bool:
        """Whether this person writes to a partner on day `d` at all (their own choice)."""
        n = self.day_of(d)
        if self.ghost or self.withdrawn or self.dead(d) or self.is_away(d):
            return False
        if self.fade_day is not None and n >= self.fade_day:
            return False
        return not (self.paused_until is not None and d < self.paused_until)


def _utc(offset: float | None) -> str:
    if offset is None:
        return "UTC"
    sign = "+" if offset >= 0 else "-"
    h, m = divmod(round(abs(offset) * 60), 60)
    return f"UTC{sign}{h}" + (f":{m:02d}" if m else "")


def _form(lang: str, fields: list[tuple[int, str]], name: str) -> str:
    labels = tx.LABELS[lang]
    lines = [f"{labels[i]}: {v}" for i, v in fields]
    return f"{tx.GREETING[lang]}\n\n" + "\n".join(lines) + f"\n\n-- \n{name}\n"


def _word(table: dict[str, dict[str, str]], lang: str, value: str) -> str:
    return table[lang].get(value, value) if lang in table else value


def _apply_day(rng: random.Random, late: bool) -> date:
    if late:
        return CLOSE + timedelta(days=rng.randint(1, 60))
    span = (CLOSE - OPEN).days
    # most apply early (the call goes out) or in the last days (the reminder)
    x = rng.betavariate(0.7, 0.7)
    return OPEN + timedelta(days=round(x * span))


def _in_round(rng: random.Random, lo: int, hi: int) -> int:
    return rng.randint(lo, max(lo, hi))


def make_people(n: int, seed: int, rates: Rates) -> list[Person]:
    """`n` applicants drawn from the ILN-like mix, each with habits drawn from `rates`."""
    rng = random.Random(f"people:{seed}")
    pool = make_pool(n, seed, n_countries=95)
    out: list[Person] = []
    for c in pool:
        k = c.id
        langs = sorted(c.languages)
        lang = "en"
        for other in ("fr", "es"):
            if other in langs and rng.random() < 0.8:
                lang = other
        name = f"{rng.choice(tx.FIRST)} {rng.choice(tx.LAST)}"
        email = f"p{k:05d}.{name.split()[0].lower().encode('ascii', 'ignore').decode()}" + (
            f"@lib{k % 37}.example.{c.country.lower()}"
        )
        fields: list[tuple[int, str]] = [
            (0, name),
            (1, country_name(c.country, lang) if rng.random() < 0.9 else c.country),
        ]
        if rng.random() < 0.3:
            fields.append((2, _utc(c.utc_offset)))
        fields += [
            (3, f"Library {k}"),
            (4, _word(tx.SECTORS, lang, c.sector)),
            (5, _word(tx.STAGES, lang, c.career_stage)),
            (6, ", ".join(sorted(c.interests))),
        ]
        if c.partner_sector:
            fields.append((7, _word(tx.SECTORS, lang, c.partner_sector)))
        if c.partner_career_stage:
            fields.append((8, _word(tx.STAGES, lang, c.partner_career_stage)))
        if c.partner_interests:
            fields.append((9, ", ".join(sorted(c.partner_interests))))
        if rng.random() < 0.3:
            fields.append((10, tx.ABOUT[lang]))
        form = _form(lang, fields, name)
        first = None
        if rng.random() < rates.invalid_first_form:
            drop = rng.choice((1, 5, 4))  # no country, no career stage, no sector
            first = _form(lang, [f for f in fields if f[0] != drop], name)
        lo, hi = rates.write_every_days
        a = rng.randint(lo, hi)
        p = Person(
            k=k,
            email=email,
            name=name,
            language=lang,
            form=form,
            apply_on=_apply_day(rng, rng.random() < rates.late_application),
            first_form=first,
            ask_first=rng.random() < rates.ask_before_applying,
            period=(a, min(hi, a + 4)),
            no_cc=rng.random() < rates.no_cc,
            sentences=rng.random() < rates.sentence_commands,
        )
        r = rng.random()
        if r < rates.ghost:
            p.ghost = True
        elif r < rates.ghost + rates.fade:
            p.fade_day = _in_round(rng, 20, ROUND_DAYS - 30)
        if rng.random() < rates.away:
            start = _in_round(rng, 10, ROUND_DAYS - 20)
            p.away = (start, start + rng.randint(12, 16))
        if rng.random() < rates.dead_address:
            p.dead_day = _in_round(rng, 5, ROUND_DAYS - 20)
        if rng.random() < rates.pause:
            p.pause = (_in_round(rng, 14, ROUND_DAYS - 30), rng.randint(2, 4))
        if rng.random() < rates.withdraw:
            p.withdraw_day = _in_round(rng, 10, ROUND_DAYS - 20)
        qs: list[int] = []
        x = rates.questions_per_person
        while rng.random() < x:  # geometric: a few people ask more than once
            qs.append(_in_round(rng, -3, ROUND_DAYS))
            x *= 0.5
        p.question_days = tuple(sorted(qs))
        out.append(p)
    return out
