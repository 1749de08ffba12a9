"""Score mailbot's bounce reading on a corpus of real bounces, per MTA/provider family.

    .venv/bin/python benchmarks/bounces.py DIR [--verbose] [--family NAME] [--json]

DIR is shaped like Sisimai's corpus as prepared in ../shared/corpora/sisimai: `manifest.json`
(a `files` list; each entry has `file`, `class` — bounce, feedback-report, auto-reply,
not-bounce, unscored — and, for a bounce, `expect.recipients`, `expect.recipient_alternatives`
and `expect.permanent`) and `eml/<file>`. The corpus is third-party test data: it is read from
DIR, never copied into the project.

Each message goes through mailbot's real path: `mail.parse.parse_message` →
`domain.classify.classify` with a `ClassifyContext` as intake builds it (the program address
coordinator@example.org, or with --addresser-is-program the manifest's `addresser`, the
sender of the mail that bounced, as it would be for mail the program sent) →
`domain.answers.decide` for an unknown sender. Printed per family (the
file name without its number) and in total: bounces recognised, with the right address (the
set of recipients read equals the expected one, an alternative spelling counting for its
address), the kinds the misses came back as, permanence where the manifest states one, and
which non-bounces (feedback reports, auto-replies) would be answered. The targets: ≥ 98% of
the bounces recognised, ≥ 97% with the right address, none of the others answered.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mailbot.domain.answers import SenderFacts, decide  # noqa: E402
from mailbot.domain.classify import ClassifyContext, classify  # noqa: E402
from mailbot.domain.model import Kind, Verdict  # noqa: E402
from mailbot.mail.parse import parse_message  # noqa: E402

DEFAULT_PROGRAM = "coordinator@example.org"
SECRET = "bench-secret"
TARGET_RECOGNISED = 0.98
TARGET_ADDRESS = 0.97


@dataclass
class Tally:
    bounces: int = 0
    recognised: int = 0
    right_address: int = 0
    address_among: int = 0  # every expected address read, perhaps with others
    permanent_scored: int = 0
    permanent_right: int = 0
    others: int = 0
    others_answered: int = 0
    others_as_bounce: int = 0
    wrong_kind: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, other: Tally) -> None:
        for name in (
            "bounces",
            "recognised",
            "right_address",
            "address_among",
            "permanent_scored",
            "permanent_right",
            "others",
            "others_answered",
            "others_as_bounce",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.wrong_kind.update(other.wrong_kind)
        self.seconds += other.seconds


def family_of(entry: dict[str, object]) -> str:
    family = entry.get("family")
    if isinstance(family, str) and family:
        return family
    return re.sub(r"-?\d*\.eml$", "", str(entry["file"]))


def right_addresses(found: tuple[str, ...], expect: dict[str, object], exact: bool = True) -> bool:
    """The recipients read are exactly the expected ones (each may be read as an alternative);
    with `exact` False, every expected one is among them."""
    listed = expect.get("recipients")
    wanted = [str(a).lower() for a in listed] if isinstance(listed, list) else []
    alternatives = expect.get("recipient_alternatives") or {}
    spelling: dict[str, str] = {a: a for a in wanted}
    if isinstance(alternatives, dict):
        for address, alts in alternatives.items():
            for alt in alts or []:
                spelling[str(alt).lower()] = str(address).lower()
    read = {spelling.get(a.lower(), "?" + a.lower()) for a in found}
    if not exact:
        return bool(wanted) and read >= set(wanted)
    return bool(wanted) and read == set(wanted)


def _verdict(raw: bytes, program: str) -> tuple[Verdict, bool]:
    ctx = ClassifyContext(
        program_address=program,
        secret=SECRET,
        own_addresses=frozenset({program}),
        coordinators=frozenset(),
    )
    msg = parse_message(raw)
    verdict = classify(msg, ctx)
    facts = SenderFacts(
        address=msg.from_addr, known=False, is_coordinator=False, auto_answers_today=0
    )
    answered = decide(verdict, facts, max_answers_per_day=10).answer is not None
    return verdict, answered


def score(directory: Path, only: str, verbose: bool, addresser: bool) -> dict[str, Tally]:
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    tallies: dict[str, Tally] = defaultdict(Tally)
    for entry in manifest["files"]:
        family = family_of(entry)
        if only and family != only:
            continue
        klass = entry.get("class", "")
        if klass == "unscored":
            continue
        raw = (directory / "eml" / entry["file"]).read_bytes()
        expect = entry.get("expect") or {}
        program = str((addresser and expect.get("addresser")) or DEFAULT_PROGRAM)
        start = time.perf_counter()
        verdict, answered = _verdict(raw, program)
        t = tallies[family]
        t.seconds += time.perf_counter() - start
        found = verdict.bounce.recipients if verdict.bounce else ()
        if klass != "bounce":
            # A mail that is no bounce (class not-bounce) may well be answered; a feedback
            # report or an auto-reply never.
            quiet = klass in ("feedback-report", "auto-reply")
            t.others += 1
            t.others_answered += answered and quiet
            t.others_as_bounce += verdict.kind is Kind.BOUNCE
            if verbose and ((answered and quiet) or verdict.kind is Kind.BOUNCE):
                print(f"  {entry['file']} ({klass}): {verdict.kind.value} — {verdict.reason}")
            continue
        t.bounces += 1
        ok_address = False
        if verdict.kind is Kind.BOUNCE:
            t.recognised += 1
            ok_address = right_addresses(found, expect)
            t.right_address += ok_address
            t.address_among += right_addresses(found, expect, exact=False)
            permanent = expect.get("permanent")
            if isinstance(permanent, bool) and verdict.bounce is not None:
                t.permanent_scored += 1
                t.permanent_right += verdict.bounce.permanent == permanent
        else:
            t.wrong_kind[verdict.kind.value] += 1
        if verbose and not ok_address:
            print(
                f"  {entry['file']}: {verdict.kind.value} {list(found)} "
                f"want {expect.get('recipients')} — {verdict.reason[:120]}"
            )
    return tallies


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:5.1f}%" if d else "    -"


def report(tallies: dict[str, Tally]) -> Tally:
    total = Tally()
    head = f"{'family':<26}{'n':>4}{'bounce':>8}{'%':>7}{'addr':>6}{'%':>7}  wrong kind / others"
    print(head)
    print("-" * len(head))
    for family in sorted(tallies):
        t = tallies[family]
        total.add(t)
        extra = ", ".join(f"{k} {v}" for k, v in sorted(t.wrong_kind.items()))
        if t.others:
            extra = (extra + "; " if extra else "") + (
                f"{t.others} not bounces: {t.others_as_bounce} read as bounce, "
                f"{t.others_answered} reports/auto-replies answered"
            )
        print(
            f"{family:<26}{t.bounces:>4}{t.recognised:>8}{_pct(t.recognised, t.bounces):>7}"
            f"{t.right_address:>6}{_pct(t.right_address, t.bounces):>7}  {extra}"
        )
    print("-" * len(head))
    return total


def summary(total: Tally) -> bool:
    rec = total.recognised / total.bounces if total.bounces else 0.0
    addr = total.right_address / total.bounces if total.bounces else 0.0
    ok_rec, ok_addr, ok_quiet = rec >= TARGET_RECOGNISED, addr >= TARGET_ADDRESS, True
    ok_quiet = total.others_answered == 0
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(total.wrong_kind.items())) or "none"
    recognised = _pct(total.recognised, total.bounces).strip()
    right = _pct(total.right_address, total.bounces).strip()
    print(
        f"total: {total.bounces} bounces; recognised {total.recognised} ({recognised}), "
        f"right address {total.right_address} ({right})"
    )
    print(
        f"  every expected address among those read: {total.address_among} "
        f"({_pct(total.address_among, total.bounces).strip()})"
    )
    print(f"  misses came back as: {kinds}")
    print(f"  permanence right {total.permanent_right} of {total.permanent_scored} where stated")
    print(
        f"  not bounces: {total.others}; reports/auto-replies answered {total.others_answered}, "
        f"read as bounce {total.others_as_bounce}"
    )
    n = total.bounces + total.others
    each = 1000 * total.seconds / max(n, 1)
    print(f"  time: {total.seconds:.2f} s for {n} messages ({each:.1f} ms each)")
    print(
        f"targets: recognised ≥ {TARGET_RECOGNISED:.0%} {'met' if ok_rec else 'MISSED'}; "
        f"right address ≥ {TARGET_ADDRESS:.0%} {'met' if ok_addr else 'MISSED'}; "
        f"no report or auto-reply answered {'met' if ok_quiet else 'MISSED'}"
    )
    return ok_rec and ok_addr and ok_quiet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="corpus with manifest.json and eml/")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every miss")
    parser.add_argument("--family", default="", help="only this family")
    parser.add_argument(
        "--addresser-is-program",
        action="store_true",
        help="take each file's addresser (sender of the bounced mail) as the program address",
    )
    args = parser.parse_args(argv)
    tallies = score(args.directory, args.family, args.verbose, args.addresser_is_program)
    total = report(tallies)
    return 0 if summary(total) else 1


if __name__ == "__main__":
    raise SystemExit(main())
