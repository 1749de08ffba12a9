"""A whole ILN-scale round through mailbot's real `tick` on the Maildir transport (issue 12).

Run: .venv/bin/python -m benchmarks.round --people 1162 --seed 1 [--variant chatty|quiet]
     [--rate ghost=0.1 --rate write_every_days=10,21 ...] [--batch auto|yes|no] [--keep DIR]

1,162 applicants from ~95 countries (`benchmarks.pools`: ILN's country mix, about half with
partner wishes) send forms in English, French or Spanish; the program matches them, the simulated
coordinators APPROVE, and four months of round follow — topics, check-in, nudges, digests, the
survey and the final report — with people behaving as the rate table below says. One tick a day
at 10:00 UTC before the round, two (10:00 and 22:00) from the matching date to the end, and one
more within the hour whenever a coordinator has just answered. Each person acts in one of the
day's slots (their morning, roughly).

The people do not know the program's thresholds (nothing here reads mailbot's settings): they
write, go quiet, go away, ask and answer; the program decides. Coordinators do the minimum the
mails ask: every item offering a one-reply action gets one (policy: `round_world.World.decide`).

What is measured and how (touches, answered / forwarded / reached nobody, false alarms):
`benchmarks.round_measure`. Mails per participant count every mail the program wrote to an
applicant; "a week" divides the mail sent during the round by the matched people and the round's
weeks.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

# ----------------------------------------------------------------------------- the rate table
# Every behaviour rate of the simulated people, with where it comes from. Vary with --rate
# NAME=VALUE or --variant; a share is of all applicants unless it says otherwise.


@dataclass(frozen=True)
class Rates:
    # applications
    invalid_first_form: float = 0.06  # a field missing; fixed 1-3 days after the reply (demo: 10%)
    late_application: float = 0.02  # form after the close, up to 2 months (issue: late applicants)
    ask_before_applying: float = 0.03  # "how do I apply?" first (seed 000: ambassadors answer
    #                                    "enquiries about how to apply")
    # talking with the partner
    write_every_days: tuple[int, int] = (7, 14)  # ILN: "in touch every two weeks"; issue: "every
    #                                              one to two weeks"; doubled after 3 unanswered
    no_cc: float = 0.25  # habitually leave the tracking address out (80% of their mails); issue
    ghost: float = 0.06  # never write to the partner (seed 000: "my partner had failed to
    #                      respond to the majority of my emails")
    fade: float = 0.08  # stop writing on a day in the round (seed 002: "competing priorities")
    away: float = 0.15  # away 12-16 days once, auto-reply on (issue: "away for a fortnight")
    dead_address: float = 0.01  # the address dies during the round (issue: "a few dead addresses")
    report_bouncing_partner: float = 0.3  # ask the program after two bounces from the partner
    # commands and questions
    pause: float = 0.05  # pause 2-4 weeks once (seed 002: "competing priorities")
    withdraw: float = 0.03  # leave the round (PROGRAM.md: ILN's drop-outs; issue)
    sentence_commands: float = 0.5  # write commands as sentences, not keywords (issue: "commands
    #                                 written as sentences"); in the person's form language
    questions_per_person: float = 0.12  # chance of a free-text question (then half as likely to
    #                                     ask another); seed 000: ambassadors answer questions
    question_as_reply: float = 0.4  # the question is a reply to the last program mail
    ask_when_partner_silent: float = 0.4  # after 3 unanswered mails, ask for help (within ~a week)
    # answers to the program's mail
    answer_nudge: float = 0.6  # IN TOUCH (or SILENT if their partner is the silent one)
    answer_checkin: float = 0.6  # YES / NO; ILN ran mid-round surveys
    answer_survey: float = 0.7  # PROGRAM.md: "80-90% satisfied" among those who answered
    accept_rematch: float = 0.6  # reply REMATCH when offered after a withdrawal or bounce
    nudge_revives: float = 0.15  # a silent person starts writing again after a nudge
    liaise_revives: float = 0.3  # ... after a coordinator's LIAISE (seed 000: liaison helped)


VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "chatty": {
        "write_every_days": (4, 10),
        "ghost": 0.03,
        "fade": 0.04,
        "no_cc": 0.15,
        "questions_per_person": 0.2,
        "answer_nudge": 0.8,
        "answer_checkin": 0.8,
    },
    "quiet": {
        "write_every_days": (10, 21),
        "ghost": 0.10,
        "fade": 0.12,
        "away": 0.25,
        "no_cc": 0.35,
        "answer_nudge": 0.4,
        "answer_checkin": 0.4,
        "answer_survey": 0.5,
    },
}
TARGETS = "targets: <= 2 touches per 100, 0 reached nobody, <= 1 mail a week, < 180 s at 1,162"

from benchmarks.round_measure import Ledger, figures  # noqa: E402
from benchmarks.round_people import (  # noqa: E402
    CLOSE,
    END,
    LAST_DAY,
    MATCHING,
    OPEN,
    START,
    make_people,
)
from benchmarks.round_world import COORDINATOR, PROGRAM, RecordingSender, World, at  # noqa: E402

CONFIG = """
[program]
name = "International Librarians Network (benchmark)"
address = "{program}"
coordinators = ["{coordinator}"]
transport = "maildir"
maildir = "{root}/maildir"
[database]
url = "sqlite:///{root}/mailbot.sqlite3"
[[rounds]]
name = "2027A"
applications_open = {open}
applications_close = {close}
matching_date = {matching}
start = {start}
end = {end}
[[rounds]]
name = "2027B"
applications_open = 2027-07-01
applications_close = 2027-07-31
matching_date = 2027-08-03
start = 2027-08-09
end = 2027-12-09
"""


def parse_rates(variant: str, overrides: list[str]) -> Rates:
    rates = replace(Rates(), **VARIANTS[variant])
    types = {f.name: f for f in fields(Rates)}
    for item in overrides:
        name, _, value = item.partition("=")
        if name not in types:
            raise SystemExit(f"unknown rate {name!r}; known: {', '.join(types)}")
        v: Any = tuple(int(x) for x in value.split(",")) if "," in value else float(value)
        rates = replace(rates, **{name: v})
    return rates


async def run_round(
    root: Path, people: int, seed: int, rates: Rates, batch: str = "auto", days: int | None = None
) -> tuple[dict[str, object], float]:
    """The whole round in `root`; returns the figures and the wall time. `days` stops the round
    that many days after its start (a short round for the smoke test)."""
    from mailbot import settings as settings_mod
    from mailbot.app import build, maildir_paths
    from mailbot.edges.maildir import MaildirMailbox

    config = root / "mailbot.toml"
    end = END if days is None else START + timedelta(days=days)
    config.write_text(
        CONFIG.format(
            root=root, program=PROGRAM, coordinator=COORDINATOR, open=OPEN, close=CLOSE,
            matching=MATCHING, start=START, end=end,
        )
    )  # fmt: skip
    env = dict(os.environ)
    env.setdefault("MAILBOT_PROGRAM_SECRET", "benchmark-secret")
    settings = settings_mod.load(config, env)
    deps = build(settings)
    deps.db.upgrade()
    inbox, sent = maildir_paths(settings)
    box = MaildirMailbox(inbox)
    await box.connect()
    ledger = Ledger(participants=people)
    crowd = make_people(people, seed, rates)
    world = World(deps, inbox, sent, crowd, rates, seed, ledger, batch=batch)
    writer = RecordingSender(sent, world)
    world.deps = deps = replace(deps, sender=lambda: writer)
    last = LAST_DAY if days is None else end + timedelta(days=16)
    started, cpu = time.perf_counter(), time.process_time()
    d = min(p.apply_on for p in crowd) - timedelta(days=3)
    try:
        while d <= last:
            hours = (10, 22) if MATCHING <= d <= end + timedelta(days=2) else (10,)
            for slot, hour in enumerate(hours):
                morning = at(d, hour - 2)
                world.now = morning
                await world.flush(d, morning, slot, len(hours))
                await world.act(d, morning, slot, len(hours))
                await world.put_dsns(morning)
                await world.tick(at(d, hour))
                for extra in range(1, 4):  # coordinators answer within the hour
                    if not await world.coordinators_answer(at(d, hour, 10 * extra)):
                        break
                    await world.put_dsns(at(d, hour, 10 * extra))
                    await world.tick(at(d, hour, 10 * extra + 5))
            if d.weekday() == 6:
                print(
                    f"  {d}: {time.perf_counter() - started:.0f} s, {ledger.written} in, "
                    f"{sum(ledger.mails_to.values())} out",
                    file=sys.stderr,
                    flush=True,
                )
            d += timedelta(days=1)
    finally:
        await box.close()
        deps.db.dispose()
    took = time.perf_counter() - started
    fig = figures(ledger, (end - START).days / 7)
    fig["cpu_s"] = time.process_time() - cpu
    return fig, took


def report(fig: dict[str, Any], took: float, label: str) -> str:
    n = fig["participants"]
    out = [
        f"== {label}: {n} applicants, {fig['matched']} matched, {fig['ticks']} ticks, "
        f"{fig['written']} mails written to the program, {fig['partner_mails']} partner mails "
        f"({fig['partner_mails_no_cc']} without the tracking address)",
        f"coordinator touches: {fig['touches']} = {fig['touches_per_100']:.1f} per 100 "
        f"participants, in {fig['reply_emails']} reply emails; by kind: "
        + ", ".join(f"{k} {v}" for k, v in sorted(fig["touches_by_kind"].items())),
        f"  refused by the program: {fig['refused'] or 'none'}",
        f"  items asked about: {fig['items']} ("
        + ", ".join(f"{k} {v}" for k, v in sorted(fig["items_by_kind"].items()))
        + f"); busiest digest {fig['busiest_digest']} items; "
        f"{fig['relisted_after_action']} items listed again after the coordinators had acted",
        f"  false alarms: {fig['false_alarms']} of {fig['pair_items']} pair items were pairs "
        "in fact talking",
        f"human messages: {fig['human_messages']}; reached nobody: {fig['unanswered']} "
        f"({fig['unanswered_per_100']:.1f} per 100); outcomes: {fig['outcomes']}",
        "  answered with: " + ", ".join(f"{k} {v}" for k, v in sorted(fig["answered_by"].items())),
    ]
    for shape, outcomes in fig["by_shape"].items():
        out.append(f"    {shape:<42} {outcomes}")
    out += [
        f"  program answers to robots (auto-replies, bounces): {fig['robots_answered']}",
        f"mails per participant: mean {fig['mails_mean']:.1f}, p90 {fig['mails_p90']:.0f}, "
        f"max {fig['mails_max']}; {fig['mails_per_week']:.2f} a week per matched participant "
        f"during the round; {fig['mails_to_coordinators']} mails to coordinators",
        f"runtime {took:.0f} s wall, {fig['cpu_s']:.0f} s CPU; in mailbot's tick "
        f"{fig['tick_wall']:.0f} s wall, {fig['tick_cpu']:.0f} s CPU (the rest is the "
        f"simulation); peak memory {fig.get('peak_mib', 0):.0f} MiB (ru_maxrss)",
        TARGETS,
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=1162)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--variant", choices=sorted(VARIANTS), default="default")
    ap.add_argument("--rate", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--batch", choices=("auto", "yes", "no"), default="auto")
    ap.add_argument("--days", type=int, default=None, help="stop the round this many days in")
    ap.add_argument("--keep", type=Path, default=None, help="write the run here and keep it")
    args = ap.parse_args(argv)
    rates = parse_rates(args.variant, args.rate)
    with tempfile.TemporaryDirectory(prefix="round-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        fig, took = asyncio.run(
            run_round(root.resolve(), args.people, args.seed, rates, args.batch, args.days)
        )
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    fig["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
    fig["runtime_s"] = took
    label = f"seed {args.seed}, variant {args.variant}" + (f", {args.rate}" if args.rate else "")
    print(report(fig, took, label))
    return fig


if __name__ == "__main__":
    main()
