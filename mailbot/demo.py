"""The demo: a whole simulated round on embedded defaults — SQLite, a local Maildir, fake people.

Decides nothing about the program: it writes what the simulated people (`mailbot.simulate`) send
as RFC 5322 messages into the program's Maildir, runs the real `flows.tick.tick` once or twice a
simulated day from the first application to the final report, and reads the program's answers
back from the `.eml` files it wrote (`<out>/maildir/sent/<recipient>/`) the way a person reads
their inbox: the coordinator replies APPROVE to the proposal's Reply-To, partners copy the
tracking address from their introduction, people answer nudges, the check-in and the survey.

Then it prints a timeline and a summary built from the database and the outbox (not from its
own bookkeeping), saves the last digest's chart as `<out>/chart.png`, and returns 0 — or 1 with
a message naming the stage the demo relies on that did not happen.
"""

from __future__ import annotations

import email
import email.policy
import os
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.header import Header, decode_header, make_header
from email.message import Message
from email.mime.text import MIMEText
from email.parser import BytesHeaderParser
from email.utils import format_datetime, formataddr, getaddresses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from mailbot import settings as settings_mod
from mailbot import simulate as sim
from mailbot.app import build, maildir_paths
from mailbot.edges.maildir import MaildirMailbox
from mailbot.edges.tables import (
    Application,
    BounceEvent,
    CommandRow,
    DigestRow,
    InboundRow,
    NudgeRow,
    Outbox,
    Pair,
    PairMember,
    Person,
    Proposal,
    SurveyAnswerRow,
)
from mailbot.flows.round_jobs import FINAL_REPORT_AFTER
from mailbot.flows.tick import tick

if TYPE_CHECKING:
    from mailbot.deps import Deps

PROGRAM = "coordinator@example.org"
COORDINATOR = "director@example.org"
ROUND = "2027A"
START = date(2027, 2, 8)  # a Monday: the round starts, topics begin
MATCHING = date(2027, 2, 3)
END = date(2027, 6, 8)  # four months later
FINAL_REPORT = END + FINAL_REPORT_AFTER  # when flows.round_jobs sends it
TICK_HOUR = 10  # every simulated day at 10:00 UTC ...
EVENING_HOUR = 22  # ... and during the round at 22:00 UTC (mornings in the Americas)
WRITE_HOUR = 8  # simulated people write before the day's first tick
MARKER = ".mailbot-demo"

CONFIG = """\
[program]
name = "International Librarians Network (demo)"
address = "{program}"
coordinators = ["{coordinator}"]
transport = "maildir"
maildir = "{root}/maildir"

[database]
url = "sqlite:///{root}/mailbot.sqlite3"

[[rounds]]
name = "{round}"
applications_open = 2027-01-04
applications_close = 2027-01-31
matching_date = {matching}
start = {start}
end = {end}
"""


class DemoError(RuntimeError):
    """A stage the demo relies on did not happen; the message says which."""


def at(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(d, time(hour, minute), tzinfo=UTC)


def round_day(d: date) -> int:
    return (d - START).days


@dataclass
class Received:
    """A program mail as a simulated person finds it in their inbox (its headers)."""

    to: str
    template: str
    headers: Message
    path: Path

    def _addresses(self, name: str) -> list[str]:
        return [a for _, a in getaddresses(self.headers.get_all(name, [])) if a]

    @property
    def subject(self) -> str:
        return str(make_header(decode_header(self.headers.get("Subject", ""))))

    @property
    def reply_to(self) -> str:
        return (self._addresses("Reply-To") or self._addresses("From"))[0]

    @property
    def cc(self) -> list[str]:
        return self._addresses("Cc")


@dataclass
class World:
    """The running demo: the program, its mailboxes, and the simulated people's state."""

    root: Path
    deps: Deps
    box: MaildirMailbox
    sent_dir: Path
    seed: int = sim.SEED
    applicants: dict[str, sim.Applicant] = field(default_factory=dict)
    pairs: list[sim.SimPair] = field(default_factory=list)
    scripts: dict[int, sim.Script] = field(default_factory=dict)
    seen: set[Path] = field(default_factory=set)
    pending: dict[date, list[tuple[str, str, str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )  # day -> (from, to, subject, body)
    written: int = 0
    ticks: int = 0

    # ------------------------------------------------------------------ writing mail
    async def put(
        self,
        sender: str,
        to: Iterable[str],
        subject: str,
        body: str,
        when: datetime,
        cc: Iterable[str] = (),
        name: str = "",
        **headers: str,
    ) -> None:
        msg = MIMEText(body, "plain", "utf-8")
        msg["From"] = formataddr((name, sender)) if name else sender
        msg["To"] = ", ".join(to)
        if cc := list(cc):
            msg["Cc"] = ", ".join(cc)
        msg["Subject"] = Header(subject, "utf-8") if not subject.isascii() else subject
        msg["Date"] = format_datetime(when)
        self.written += 1
        domain = sender.rsplit("@", 1)[-1]
        msg["Message-ID"] = f"<sim-{self.written:05d}.{when:%Y%m%d}@{domain}>"
        for k, v in headers.items():
            msg[k.replace("_", "-")] = v
        await self.box.append(msg.as_bytes())

    async def put_dsn(self, address: str, n: int, when: datetime) -> None:
        self.written += 1
        domain = address.rsplit("@", 1)[-1]
        raw = (
            f"From: Mail Delivery System <MAILER-DAEMON@mx.{domain}>\r\n"
            f"To: {PROGRAM}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            f"Date: {format_datetime(when)}\r\n"
            f"Message-ID: <dsn-{self.written:05d}.{n}@mx.{domain}>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
            "report-type=delivery-status; boundary=XX\r\n\r\n"
            "--XX\r\nContent-Type: text/plain\r\n\r\n"
            f"This is the mail system at host mx.{domain}.\r\n"
            f"<{address}>: host mx.{domain} said: 550 5.1.1 User unknown\r\n\r\n"
            "--XX\r\nContent-Type: message/delivery-status\r\n\r\n"
            f"Reporting-MTA: dns; mx.{domain}\r\n\r\n"
            f"Final-Recipient: rfc822; {address}\r\nAction: failed\r\n"
            "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n--XX--\r\n"
        ).encode()
        await self.box.append(raw)

    async def act(self, actions: Iterable[sim.Action], when: datetime) -> None:
        for a in actions:
            if isinstance(a, sim.Talk):
                await self.put(
                    a.sender.email,
                    [m.email for m in a.to],
                    a.subject,
                    a.body,
                    when,
                    cc=[a.track],
                    name=a.sender.name,
                )
            elif isinstance(a, sim.ToProgram):
                extra = {"Auto_Submitted": "auto-replied"} if a.auto_reply else {}
                await self.put(
                    a.sender.email, [PROGRAM], a.subject, a.body, when, name=a.sender.name, **extra
                )
            else:
                await self.put_dsn(a.address, a.n, when)

    async def flush_pending(self, d: date, when: datetime) -> None:
        for sender, to, subject, body in self.pending.pop(d, []):
            await self.put(sender, [to], subject, body, when)

    # ------------------------------------------------------------------ reading mail
    def inbox(self) -> list[Received]:
        """Every program mail written since the last look, with the template it came from."""
        new = sorted(p for p in self.sent_dir.glob("*/*.eml") if p not in self.seen)
        self.seen.update(new)
        parser = BytesHeaderParser()
        parsed = [(p, parser.parsebytes(p.read_bytes())) for p in new]
        ids = [str(m["Message-ID"]).strip().strip("<>") for _, m in parsed]
        with self.deps.db.transaction() as s:
            templates = dict(
                s.execute(
                    select(Outbox.message_id, Outbox.template).where(Outbox.message_id.in_(ids))
                ).all()
            )
        return [
            Received(p.parent.name, templates.get(mid, "?"), m, p)
            for (p, m), mid in zip(parsed, ids, strict=True)
        ]

    def react(self, mail: list[Received], d: date) -> None:
        """The simulated people's answers to what they just received, due on some later day."""
        by_email = {m.email: (p, i) for p in self.pairs for i, m in enumerate(p.members)}
        for r in mail:
            if r.to == COORDINATOR and r.template == "proposal":
                self.pending[d].append((COORDINATOR, r.reply_to, "Re: " + r.subject, "APPROVE"))
            elif r.template == "application_invalid" and r.to in self.applicants:
                a = self.applicants[r.to]
                due = d + timedelta(days=sim.FIX_AFTER_DAYS)
                self.pending[due].append((a.email, PROGRAM, "Application (corrected)", a.form))
            elif r.to in by_email:
                pair, who = by_email[r.to]
                script = self.scripts.get(pair.pair_id, sim.Script.REGULAR)
                reply = sim.respond(r.template, pair, who, script, round_day(d), self.seed)
                if reply is not None:
                    due = d + timedelta(days=reply.delay)
                    self.pending[due].append((r.to, r.reply_to, "Re: " + r.subject, reply.body))

    def learn_pairs(self, mail: list[Received]) -> None:
        """Who is paired with whom (the database) and each pair's tracking address (the
        introduction's Cc, as the partners see it)."""
        tracks: dict[str, str] = {}
        for r in mail:
            if r.template == "introduction" and r.cc:
                tracks[r.to] = r.cc[0]
        with self.deps.db.transaction() as s:
            rows = s.execute(
                select(Pair.id, Person.email, Person.name, Person.language)
                .join(PairMember, PairMember.pair_id == Pair.id)
                .join(Person, Person.id == PairMember.person_id)
                .where(Pair.round_name == ROUND)
                .order_by(Pair.id, PairMember.id)
            ).all()
        members: dict[int, list[sim.Member]] = defaultdict(list)
        for pair_id, addr, name, lang in rows:
            members[pair_id].append(sim.Member(addr, name, lang))
        known = {p.pair_id for p in self.pairs}
        for pair_id, ms in members.items():
            track = next((tracks[m.email] for m in ms if m.email in tracks), None)
            if pair_id in known or track is None:
                continue
            self.pairs.append(sim.SimPair(pair_id, tuple(ms), track))
        self.scripts = sim.scripts_for([p.pair_id for p in self.pairs], self.seed)

    async def tick(self, when: datetime) -> None:
        await tick(self.deps, when)
        self.ticks += 1
        self.react(self.inbox_and_learn(), when.date())

    def inbox_and_learn(self) -> list[Received]:
        mail = self.inbox()
        if any(r.template == "introduction" for r in mail):
            self.learn_pairs(mail)
        return mail


def _prepare(root: Path) -> None:
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).exists():
            raise DemoError(
                f"{root} exists and was not made by `mailbot demo`; choose another --out"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("made by `mailbot demo`; removed by the next run\n")


async def simulate(world: World) -> None:
    """From the first application to the final report, a day at a time."""
    people = sim.applicants(world.seed)
    world.applicants = {a.email: a for a in people}
    first = START + timedelta(days=min(a.day for a in people))
    d = first
    while d <= FINAL_REPORT:
        n = round_day(d)
        morning = at(d, WRITE_HOUR)
        for a in people:
            if a.day == n:
                await world.put(
                    a.email,
                    [PROGRAM],
                    "Application" if a.language == "en" else "Candidature / Solicitud",
                    a.first_form or a.form,
                    morning,
                    name=a.name,
                )
        await world.flush_pending(d, morning)
        if n >= 0:
            actions = sim.day_actions(
                world.pairs, world.scripts, n, (END - START).days, world.seed, START
            )
            await world.act(actions, morning)
        await world.tick(at(d, TICK_HOUR))
        if d == MATCHING:
            if not world.pending.get(d):
                raise DemoError(
                    f"no matching proposal reached {COORDINATOR} on {MATCHING} "
                    f"(look in {world.sent_dir / COORDINATOR})"
                )
            await world.flush_pending(d, at(d, 11))  # the coordinator's APPROVE
            await world.tick(at(d, 12))
            if not world.pairs:
                raise DemoError("the coordinator approved, but nobody was introduced")
        if 0 <= n <= (END - START).days:
            await world.flush_pending(d, at(d, EVENING_HOUR - 1))
            await world.tick(at(d, EVENING_HOUR))
        d += timedelta(days=1)


# ---------------------------------------------------------------------- reporting


def _names(items: Iterable[str], limit: int = 3) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def timeline(deps: Deps) -> list[tuple[datetime, str]]:
    """Notable events, one per kind per day, at the day's first such instant; from the
    database and the outbox."""
    events: list[tuple[datetime, str]] = []
    groups: dict[tuple[date, str], list[tuple[datetime, str]]] = defaultdict(list)

    def add(t: datetime, kind: str, item: str = "") -> None:
        t = t.astimezone(UTC)
        groups[(t.date(), kind)].append((t, item))

    with deps.db.transaction() as s:
        who = {p.id: p.name or p.email for p in s.scalars(select(Person))}
        for r in s.scalars(select(InboundRow).where(InboundRow.kind == "application")):
            add(r.received_at, "application", r.from_addr)
        for r in s.scalars(select(InboundRow).where(InboundRow.kind == "auto_reply")):
            add(r.received_at, "auto_reply", r.from_addr)
        for o in s.scalars(select(Outbox).where(Outbox.status == "sent")):
            if o.sent_at is not None:
                item = o.key.split(":")[3] if o.template == "topic" else o.primary_to
                add(o.sent_at, "out:" + o.template, item)
        for p in s.scalars(select(Proposal).order_by(Proposal.id)):
            stats = p.payload.get("stats", {}) if isinstance(p.payload, dict) else {}
            pairs, trios = int(stats.get("pairs", 0)), int(stats.get("trios", 0))
            events.append(
                (
                    p.created_at,
                    f"matching: proposal {p.id} ({pairs} pairs, {trios} trios) "
                    "mailed to the coordinators",
                )
            )
            if p.decided_at is not None:
                events.append((p.decided_at, f"proposal {p.id} {p.state} by {p.decided_by}"))
        for c in s.scalars(select(CommandRow).order_by(CommandRow.id)):
            if c.name in ("approve", "redo"):
                continue
            days = c.args.get("days") if isinstance(c.args, dict) else None
            what = c.name.replace("_", " ").upper() + (f" {days} days" if days else "")
            add(c.created_at, "cmd:" + what, who.get(c.person_id or 0, c.sender))
        for n in s.scalars(select(NudgeRow).order_by(NudgeRow.id)):
            target = who.get(n.person_id, "?") if n.person_id else ""
            add(
                n.at,
                ("flag:" if n.person_id is None else "nudge:") + n.kind,
                f"{target} (pair {n.pair_id})",
            )
        for b in s.scalars(select(BounceEvent).order_by(BounceEvent.id)):
            add(b.at, "bounce", f"{b.address} ({b.status})")
        for g in s.scalars(select(DigestRow)):
            share = f"{g.active}/{g.total} pairs active" if g.total else "no pair running"
            add(g.sent_at, "digest", share)
        for a in s.scalars(select(SurveyAnswerRow)):
            add(a.at, "survey_answer")
    for (_, kind), items in groups.items():
        t = min(i[0] for i in items)
        names = [i[1] for i in items]
        n = len(items)
        text = _describe(kind, names, n)
        if text:
            events.append((t, text))
    return sorted(events, key=lambda e: e[0])


def _describe(kind: str, names: list[str], n: int) -> str:
    """One timeline line for `n` events of `kind` on a day (`names`: who or what each was)."""
    people = f"{n} participant{'s' if n != 1 else ''}"
    if kind.startswith("cmd:"):
        return f"{kind[4:]} from {_names(names)}"
    if kind == "nudge:partner_bouncing":
        return ""  # its mail says it: "out:partner_bouncing"
    if kind.startswith("nudge:"):
        return f"{kind[6:].replace('_', '-')} nudge to {_names(names)}"
    if kind.startswith("flag:"):
        pairs = ", ".join(x.strip().strip("()") for x in names)
        return f"flag for the coordinators' digest: {kind[5:].replace('_', ' ')} ({pairs})"
    match kind:
        case "application":
            return f"{n} application form{'s' if n != 1 else ''} received"
        case "auto_reply":
            return f"out-of-office reply from {_names(names)} (not counted as contact)"
        case "bounce":
            return f"bounce: mail to {_names(names)} failed"
        case "digest":
            return f"weekly digest to the coordinators, chart inline: {names[0]}"
        case "survey_answer":
            return f"{n} survey answer{'s' if n != 1 else ''} recorded"
        case "out:application_invalid":
            return f"form with problems answered, naming the fields: {_names(names)}"
        case "out:confirmation":
            return f"{n} application{'s' if n != 1 else ''} confirmed"
        case "out:introduction":
            return f"{n} introductions sent (tracking address in Cc)"
        case "out:topic":
            ks = ", ".join(str(int(k) + 1) for k in sorted(set(names), key=int))
            return f"topic {ks} sent to {people}"
        case "out:checkin":
            return f"mid-round check-in sent to {people}"
        case "out:partner_bouncing":
            return f"'not getting through' notice to {_names(names)}"
        case "out:partner_paused" | "out:partner_withdrew":
            return f"{kind[4:].replace('_', ' ')}: told {_names(names)}"
        case "out:command_ack":
            return f"command acknowledged to {_names(names)}"
        case "out:survey":
            return f"end of round: survey sent to {people}"
        case "out:final_report":
            return f"final report sent to {_names(names)}"
    return ""


def summary(deps: Deps, sent_dir: Path) -> list[tuple[str, str]]:
    """(figure, value) rows for the summary table, from the database and the outbox."""
    with deps.db.transaction() as s:

        def count(q: Any) -> int:
            return int(s.scalar(q) or 0)

        forms = count(select(func.count(InboundRow.id)).where(InboundRow.kind == "application"))
        applicants = count(
            select(func.count(func.distinct(InboundRow.from_addr))).where(
                InboundRow.kind == "application"
            )
        )
        told_to_fix = set(
            s.scalars(select(Outbox.primary_to).where(Outbox.template == "application_invalid"))
        )
        corrected = count(
            select(func.count(func.distinct(Person.id)))
            .join(Application, Application.person_id == Person.id)
            .where(Person.email.in_(told_to_fix))
        )
        valid = count(select(func.count(Application.id)).where(Application.round_name == ROUND))
        sizes = Counter(
            s.scalars(select(func.count(PairMember.id)).group_by(PairMember.pair_id)).all()
        )
        pairs = sum(sizes.values())
        outbox = Counter(
            dict(
                s.execute(
                    select(Outbox.template, func.count(Outbox.id))
                    .where(Outbox.status == "sent")
                    .group_by(Outbox.template)
                ).all()
            )
        )
        nudges = Counter(
            dict(
                s.execute(
                    select(NudgeRow.kind, func.count(NudgeRow.id)).group_by(NudgeRow.kind)
                ).all()
            )
        )
        weeks = [
            (d.week_start, d.active, d.total)
            for d in s.scalars(select(DigestRow).order_by(DigestRow.week_start))
            if d.total
        ]
        rows = list(s.scalars(select(SurveyAnswerRow).where(SurveyAnswerRow.round_name == ROUND)))
        commands = Counter(s.scalars(select(CommandRow.name)).all())
        inbound = count(select(func.count(InboundRow.id)))
        bouncing = list(s.scalars(select(Person.email).where(Person.bouncing)))
    ratings = [r.satisfaction for r in rows if r.satisfaction is not None]
    invited = outbox["survey"]
    eml = len(list(sent_dir.glob("*/*.eml")))
    nudge_text = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(nudges.items()))
    week_text = " ".join(f"{w[5:]}:{round(100 * a / t)}%" for w, a, t in weeks)
    return [
        (
            "applicants",
            f"{applicants} ({forms} forms; {len(told_to_fix)} with problems, "
            f"{corrected} of them corrected by a second mail)",
        ),
        ("valid applications", str(valid)),
        (
            "pairs",
            f"{pairs} ({sizes.get(3, 0)} trios), introductions sent: {outbox['introduction']}",
        ),
        ("topics sent", str(outbox["topic"])),
        ("check-ins sent", f"{outbox['checkin']} (YES answers: {commands['yes']})"),
        ("nudges and flags by kind", nudge_text or "none"),
        (
            "commands",
            ", ".join(f"{k.replace('_', ' ').upper()} {v}" for k, v in sorted(commands.items())),
        ),
        ("bouncing addresses", ", ".join(bouncing) or "none"),
        ("share of pairs active, per week", week_text or "no digest"),
        (
            "survey",
            f"{len(rows)}/{invited} answered ({100 * len(rows) / invited:.0f}%), mean "
            f"satisfaction {sum(ratings) / len(ratings):.2f}"
            if invited and ratings
            else f"{len(rows)}/{invited} answered",
        ),
        ("final report", "sent" if outbox["final_report"] else "NOT SENT"),
        ("emails read by the program", str(inbound)),
        ("emails written by the program", f"{sum(outbox.values())} ({eml} .eml files)"),
    ]


def save_chart(sent_dir: Path, target: Path) -> Path | None:
    """The PNG of the last weekly digest the coordinator received, written to `target`."""
    digests = [
        p
        for p in sorted((sent_dir / COORDINATOR).glob("*.eml"))
        if "Weekly-digest" in p.name or "digest" in p.name.lower()
    ]
    for p in reversed(digests):
        msg = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for part in msg.walk():
            if part.get_content_type() == "image/png":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    target.write_bytes(payload)
                    return p
    return None


def check(deps: Deps) -> None:
    """Raise DemoError naming the first stage of the round that did not happen."""
    with deps.db.transaction() as s:
        templates = set(
            s.scalars(select(Outbox.template).where(Outbox.status == "sent").distinct()).all()
        )
    for tpl, stage in (
        ("proposal", "matching proposal"),
        ("introduction", "introductions"),
        ("topic", "topics"),
        ("digest", "weekly digest"),
        ("survey", "survey"),
        ("final_report", "final report"),
    ):
        if tpl not in templates:
            raise DemoError(f"the round never reached this stage: {stage} (no '{tpl}' mail sent)")


async def run_demo(root: Path, seed: int = sim.SEED, console: Console | None = None) -> int:
    console = console or Console()
    root = root.resolve()
    try:
        _prepare(root)
    except DemoError as exc:
        console.print(f"[red]demo:[/red] {exc}")
        return 2
    config = root / "mailbot.toml"
    config.write_text(
        CONFIG.format(
            root=root,
            program=PROGRAM,
            coordinator=COORDINATOR,
            round=ROUND,
            matching=MATCHING.isoformat(),
            start=START.isoformat(),
            end=END.isoformat(),
        )
    )
    env = dict(os.environ)
    env.setdefault("MAILBOT_PROGRAM_SECRET", "demo-secret-not-for-production")
    settings = settings_mod.load(config, env)
    deps = build(settings)
    deps.db.upgrade()
    inbox, sent = maildir_paths(settings)
    box = MaildirMailbox(inbox)
    await box.connect()
    world = World(root, deps, box, sent, seed)
    started = datetime.now(UTC)
    try:
        with console.status("simulating round 2027A, a day at a time…"):
            await simulate(world)
        check(deps)
    except DemoError as exc:
        console.print(f"[red bold]demo stopped:[/red bold] {exc}")
        return 1
    finally:
        await box.close()
    took = (datetime.now(UTC) - started).total_seconds()

    table = Table(title=f"Timeline of round {ROUND} (from the database and the outbox)")
    table.add_column("day", no_wrap=True)
    table.add_column("what happened")
    last: date | None = None
    for t, what in timeline(deps):
        d = t.date()
        table.add_row(d.isoformat() if d != last else "", what)
        last = d
    console.print(table)
    figures = Table(title="Summary")
    figures.add_column("figure")
    figures.add_column("value")
    for k, v in summary(deps, sent):
        figures.add_row(k, v)
    console.print(figures)
    chart = save_chart(sent, root / "chart.png")
    console.print(
        f"{world.written} simulated messages written into {inbox}; "
        f"{world.ticks} ticks from {START + timedelta(days=sim.APPLY_FIRST_DAY)} "
        f"to {FINAL_REPORT} in {took:.0f} s."
    )
    console.print(
        f"Read every mail the program sent in [bold]{sent}/<recipient>/*.eml[/bold] "
        f"(e.g. {sent / COORDINATOR})."
    )
    if chart is not None:
        console.print(
            f"The last digest's chart: [bold]{root / 'chart.png'}[/bold] (from {chart.name})"
        )
    console.print(f"Database: {root / 'mailbot.sqlite3'}; configuration: {config}")
    deps.db.dispose()
    return 0
