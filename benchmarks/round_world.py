"""The running world of `benchmarks.round`: simulated people and coordinators exchanging mail with
mailbot's real `tick` over the Maildir transport.

People write RFC 5322 messages into the program's Maildir inbox and read what the program wrote
(the mail its sender hands over, which also lands in `sent/<recipient>/*.eml`); the mail system
is simulated too: a dead address gets a DSN back to
the envelope sender, an away person's auto-reply goes back to the program's mail. Coordinators
read every mail the program sends them and answer each item that asks for a decision with a
one-reply action, from their address to the mail's signed Reply-To. The `Ledger`
(`benchmarks.round_measure`) records what happened.

Knows of mailbot only what a person or a mail system would: the mail (and, like a person reading
it, which kind of mail it is: the outbox's template name; who their partner is: the pair rows).
Never reads mailbot's settings.
"""

from __future__ import annotations

import os
import random
import re
import time as time_mod
from base64 import encodebytes
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes
from email.header import Header, decode_header, make_header
from email.message import EmailMessage
from email.policy import SMTP, compat32
from email.utils import format_datetime, formataddr, getaddresses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from benchmarks import round_texts as tx
from benchmarks.round_measure import ACTION_VERBS, HumanMessage, Item, Ledger
from benchmarks.round_people import END, START, Person
from mailbot.domain.model import WireMessage
from mailbot.edges.maildir import EmlDirSender
from mailbot.edges.ports import SendResult
from mailbot.edges.tables import Outbox, Pair, PairMember
from mailbot.edges.tables import Person as PersonRow
from mailbot.flows.tick import tick

if TYPE_CHECKING:
    from benchmarks.round import Rates
    from mailbot.deps import Deps

PROGRAM = "coordinator@example.org"
COORDINATOR = "director@example.org"
TALKING_DAYS = 21  # "in touch every two weeks" (ILN) plus a week's slack: the false-alarm rule
_HEADER_LINE = re.compile(rb"\r?\n(?![ \t])")  # a line break that does not fold a header
_ACTION_RE = re.compile(r"\b(" + "|".join(ACTION_VERBS[2:]) + r")\s+#?([A-Za-z]*\d[\w-]*)")
_PAIR_STATE_RE = re.compile(r"Pair\s+(\d+)\s+\([^)]*\):\s*([\w-]+)")
_REFUSED_RE = re.compile(r"Not done:\s*(\w+)\s+(?:pair\s+)?#?([A-Za-z]*\d[\w-]*)")
_BATCH_HINT = re.compile(r"one (command|action|answer) (per|a) line|several (commands|lines)", re.I)
_NOT_ACTIONABLE = frozenset({"coordinator_action_done", "final_report"})


def at(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(d, time(hour, minute), tzinfo=UTC)


def _plain_text_mail(head: list[tuple[str, str]], body: str) -> bytes:
    """The bytes `MIMEText(body, "plain", "utf-8")` with these headers writes (`as_bytes`),
    without building the message: a header that fits on its line is written as it is, any
    other folded as that writer folds it; the body in base64."""
    lines = [
        'Content-Type: text/plain; charset="utf-8"',
        "MIME-Version: 1.0",
        "Content-Transfer-Encoding: base64",
    ]
    for name, value in head:
        if name == "Subject" and not value.isascii():
            value = Header(value, "utf-8").encode(linesep="\n", maxlinelen=78)
        elif not value.isascii() or "\n" in value or len(name) + 2 + len(value) > 78:
            lines.append(compat32.fold(name, value).rstrip("\n").replace("\r\n", "\n"))
            continue
        lines.append(f"{name}: {value}")
    return ("\n".join(lines) + "\n\n").encode() + encodebytes(body.encode("utf-8"))


def header_block(raw: bytes) -> dict[str, list[str]]:
    """The header fields of a message, by lower-case name, each value as the `email` package's
    compat32 parser gives it (folding line breaks kept): a header parser without the parser."""
    end = raw.find(b"\r\n\r\n")
    end = raw.find(b"\n\n") if end < 0 else end
    fields: dict[str, list[str]] = defaultdict(list)
    for line in _HEADER_LINE.split(raw[: max(end, 0)]):
        name, colon, value = line.partition(b":")
        if colon:
            fields[name.decode("ascii", "replace").strip().lower()].append(
                value.decode("utf-8", "replace").lstrip(" \t")
            )
    return fields


@dataclass
class Received:
    """A program mail as its recipient finds it."""

    to: str
    template: str
    raw: bytes
    when: datetime
    head: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.head = self.head or header_block(self.raw)

    def get(self, name: str) -> str:
        return (self.head.get(name.lower()) or [""])[0]

    def addresses(self, name: str) -> list[str]:
        return [a.lower() for _, a in getaddresses(self.head.get(name.lower(), [])) if a]

    @property
    def subject(self) -> str:
        return str(make_header(decode_header(self.get("Subject"))))

    @property
    def reply_to(self) -> str:
        return (self.addresses("Reply-To") or self.addresses("From"))[0]

    @property
    def reply_all(self) -> list[str]:
        """Where a mail client's Reply goes: every Reply-To address (or From)."""
        return self.addresses("Reply-To") or self.addresses("From")

    @property
    def message_id(self) -> str:
        return self.get("Message-ID").strip()

    def refs(self) -> list[str]:
        return re.findall(r"<([^>]+)>", f"{self.get('In-Reply-To')} {self.get('References')}")

    def text(self) -> str:
        for part in message_from_bytes(self.raw).walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    return payload.decode(part.get_content_charset() or "utf-8", "replace")
        return ""


class RecordingSender(EmlDirSender):
    """The Maildir transport's sender, plus the simulated mail system: it hands each recipient
    the mail (so the world need not read the files back) and bounces mail to dead addresses."""

    def __init__(self, root: Path, world: World) -> None:
        super().__init__(root)
        self.world = world

    async def send(
        self,
        message: EmailMessage | WireMessage,
        *,
        envelope_from: str,
        recipients: Sequence[str],
    ) -> SendResult:
        if not isinstance(message, WireMessage):  # written out here once, as EmlDirSender would
            data = message.as_bytes(policy=SMTP)
            message = WireMessage(data, str(message.get("Subject", "")))
        result = await super().send(message, envelope_from=envelope_from, recipients=recipients)
        for rcpt in recipients:
            self.world.on_sent(rcpt.lower(), envelope_from, message.data)
        return result


@dataclass
class PendingMail:
    sender: str
    to: str
    subject: str
    body: str
    in_reply_to: str = ""
    human: tuple[str, bool] | None = None  # (shape, as reply) when it needs a human
    auto: bool = False


@dataclass
class World:
    deps: Deps
    inbox_dir: Path
    sent_dir: Path
    people: list[Person]
    rates: Rates
    seed: int
    ledger: Ledger
    batch: str = "auto"  # coordinators: one command per reply (no), all in one (yes), as offered
    by_email: dict[str, Person] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: at(START, 0))
    inboxes: list[tuple[str, bytes]] = field(default_factory=list)  # (recipient, mail) since read
    outbox_mark: int = 0
    templates: dict[str, str] = field(default_factory=dict)
    pending: dict[date, list[PendingMail]] = field(default_factory=lambda: defaultdict(list))
    dsns: list[tuple[str, str, str]] = field(default_factory=list)  # (rcpt, env_from, msg-id)
    coordinator_out: list[tuple[Received, list[str]]] = field(default_factory=list)
    pair_members: dict[int, tuple[str, ...]] = field(default_factory=dict)
    wrote: dict[str, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    liaised: set[str] = field(default_factory=set)
    rematch_tried: set[str] = field(default_factory=set)
    refused_rematch: set[str] = field(default_factory=set)
    acted_on: set[str] = field(default_factory=set)
    n_written: int = 0

    def __post_init__(self) -> None:
        self.by_email = {p.email: p for p in self.people}
        self.rng = random.Random(f"world:{self.seed}")

    # ------------------------------------------------------------------ the mail system
    def on_sent(self, rcpt: str, envelope_from: str, data: bytes) -> None:
        self.inboxes.append((rcpt, data))
        p = self.by_email.get(rcpt)
        if p is not None and p.dead(self.now.date()):
            head = Received(rcpt, "?", data, self.now)
            self.dsns.append((rcpt, envelope_from, head.message_id))

    async def put(self, m: PendingMail, when: datetime, cc: Sequence[str] = ()) -> str:
        p = self.by_email.get(m.sender)
        self.n_written += 1
        domain = m.sender.rsplit("@", 1)[-1]
        msg_id = f"sim{self.n_written:06d}.{when:%m%d%H}@{domain}"
        head = [
            ("From", formataddr((p.name, m.sender)) if p else m.sender),
            ("To", m.to),
            *([("Cc", ", ".join(cc))] if cc else []),
            ("Subject", m.subject),
            ("Date", format_datetime(when)),
            ("Message-ID", f"<{msg_id}>"),
        ]
        if m.in_reply_to:
            head += [("In-Reply-To", m.in_reply_to), ("References", m.in_reply_to)]
        if m.auto:
            head.append(("Auto-Submitted", "auto-replied"))
            self.ledger.robot_ids.add(msg_id)
        recipients = {a.lower() for _, a in getaddresses([m.to, *cc])}
        local, _, program_domain = PROGRAM.partition("@")
        addressed = any(
            a == PROGRAM or (a.startswith(local + "+") and a.endswith("@" + program_domain))
            for a in recipients
        )
        # A person's mail reaches the program mailbox only when it addresses the program (or a
        # tag of it). Robots' mail keeps its old route (auto-replies go to the envelope sender).
        if addressed or m.human is None:
            self.deliver(_plain_text_mail(head, m.body))
        if m.human is not None and p is not None:
            shape, via_reply = m.human
            excerpt = re.sub(r"\s+", " ", m.body.strip())[:40]
            message = HumanMessage(msg_id, m.sender, shape, p.language, via_reply, when, excerpt)
            if recipients & set(self.by_email) - {m.sender}:  # a participant: a person read it
                message.upgrade("to their partner")
            self.ledger.human_message(message)
        return msg_id

    async def put_dsns(self, when: datetime) -> None:
        for rcpt, env_from, orig in self.dsns:
            domain = rcpt.rsplit("@", 1)[-1]
            self.n_written += 1
            raw = (
                f"From: Mail Delivery System <MAILER-DAEMON@mx.{domain}>\r\n"
                f"To: {env_from}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
                f"Date: {format_datetime(when)}\r\n"
                f"Message-ID: <dsn{self.n_written:06d}@mx.{domain}>\r\n"
                "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
                "report-type=delivery-status; boundary=XX\r\n\r\n"
                "--XX\r\nContent-Type: text/plain\r\n\r\n"
                f"<{rcpt}>: host mx.{domain} said: 550 5.1.1 User unknown\r\n\r\n"
                "--XX\r\nContent-Type: message/delivery-status\r\n\r\n"
                f"Reporting-MTA: dns; mx.{domain}\r\n\r\n"
                f"Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\n"
                "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
                "--XX\r\nContent-Type: text/rfc822-headers\r\n\r\n"
                f"Message-ID: {orig}\r\nTo: {rcpt}\r\n\r\n--XX--\r\n"
            ).encode()
            self.deliver(raw)
        self.dsns.clear()

    def deliver(self, raw: bytes) -> None:
        """Into the program's Maildir as an MTA's local delivery does (tmp/, then a rename into
        new/), without the fsync of Python's mailbox module: the simulation's own writes should
        not cost more than the program's."""
        self.ledger.written += 1
        name = f"{self.n_written}.{os.getpid()}.sim"
        tmp = self.inbox_dir / "tmp" / name
        tmp.write_bytes(raw)
        tmp.rename(self.inbox_dir / "new" / name)

    # ------------------------------------------------------------------ the program
    async def tick(self, when: datetime) -> None:
        self.now = when
        wall, cpu = time_mod.perf_counter(), time_mod.process_time()
        await tick(self.deps, when)
        self.ledger.tick_wall += time_mod.perf_counter() - wall
        self.ledger.tick_cpu += time_mod.process_time() - cpu
        self.ledger.ticks += 1
        mail = self.read_new(when)
        if any(r.template == "introduction" for r in mail):
            self.learn_pairs(mail)
        for r in mail:
            self.react(r)

    def read_new(self, when: datetime) -> list[Received]:
        with self.deps.db.transaction() as s:
            rows = s.execute(
                select(Outbox.id, Outbox.message_id, Outbox.template).where(
                    Outbox.id > self.outbox_mark
                )
            ).all()
        for oid, mid, template in rows:
            self.templates[mid.strip("<>")] = template
            self.outbox_mark = max(self.outbox_mark, oid)
        out: list[Received] = []
        # By recipient, each one's mail in the order sent (as reading each folder's files did).
        for rcpt, raw in sorted(self.inboxes, key=lambda mail: mail[0]):
            r = Received(rcpt, "?", raw, when)
            r.template = self.templates.get(r.message_id.strip("<>"), "?")
            out.append(r)
        self.inboxes.clear()
        return out

    def learn_pairs(self, mail: list[Received]) -> None:
        tracks = {
            r.to: (r.addresses("Cc") or [""])[0] for r in mail if r.template == "introduction"
        }
        with self.deps.db.transaction() as s:
            rows = s.execute(
                select(Pair.id, PersonRow.email)
                .join(PairMember, PairMember.pair_id == Pair.id)
                .join(PersonRow, PersonRow.id == PairMember.person_id)
                .order_by(Pair.id)
            ).all()
        members: dict[int, list[str]] = defaultdict(list)
        for pair_id, addr in rows:
            members[pair_id].append(addr.lower())
        for pair_id, ms in members.items():
            self.pair_members[pair_id] = tuple(ms)
            for addr in ms:
                p = self.by_email.get(addr)
                if p is None or addr not in tracks or (p.pair_id or 0) >= pair_id:
                    continue
                p.pair_id = pair_id
                p.partners = tuple(a for a in ms if a != addr)
                p.track = tracks[addr] or None
                p.unanswered = 0
                p.told_bounce = 0
                p.next_write = self.now.date() + timedelta(days=self.rng.randint(0, 7))
                self.ledger.matched.add(addr)

    # ------------------------------------------------------------------ people react
    def later(self, p: Person, r: Received, body: str, lo: int, hi: int, **kw: Any) -> None:
        due = r.when.date() + timedelta(days=self.rng.randint(lo, hi))
        self.pending[due].append(
            PendingMail(p.email, r.reply_to, "Re: " + r.subject, body, r.message_id, **kw)
        )

    def react(self, r: Received) -> None:
        self.ledger.answered(r.refs(), r.template)
        if r.to == COORDINATOR:
            self.ledger.mails_to_coordinators += 1
            self.coordinator_reads(r)
            return
        p = self.by_email.get(r.to)
        if p is None:
            return
        self.ledger.mails_to[p.email] += 1
        if START <= r.when.date() <= END:
            self.ledger.mails_in_round += 1
        d = r.when.date()
        if p.dead(d):
            return
        if p.is_away(d):
            if PROGRAM not in p.away_replied:
                p.away_replied.add(PROGRAM)
                subject, body = tx.AWAY[p.language]
                back = START + timedelta(days=p.away[1] if p.away else 0)
                due = PendingMail(p.email, r.reply_to, subject, body.format(back=back), auto=True)
                self.pending[d].append(due)
            return
        if p.away is not None and p.day_of(d) >= p.away[1]:
            p.away_replied.clear()
        p.last_program_mail = r
        rates, rng, lang = self.rates, self.rng, p.language
        t = r.template
        if t == "application_invalid":
            self.later(p, r, p.form, 1, 3)
        elif t in ("confirm_request", "delete_confirm"):  # they asked: they confirm, soon
            self.later(p, r, tx.YES[lang], 0, 1)
        elif t in ("nudge_quiet", "nudge_one_sided", "nudge_second"):
            if not p.engaged(d):
                if not p.withdrawn and rng.random() < rates.nudge_revives:
                    self.revive(p, d)
                return
            if p.next_write is not None:  # a nudge reminds them to write
                p.next_write = min(p.next_write, d + timedelta(days=rng.randint(0, 2)))
            if rng.random() >= rates.answer_nudge:
                return
            if p.unanswered >= 2:
                self.later(p, r, tx.SILENT[lang], 0, 2)
            else:
                sentence, keyword = tx.IN_TOUCH[lang]
                body = sentence if p.sentences else keyword
                self.later(p, r, body, 0, 2)
        elif t == "checkin":
            if p.engaged(d) and rng.random() < rates.answer_checkin:
                self.later(p, r, (tx.YES if p.unanswered < 3 else tx.NO)[lang], 0, 3)
        elif t == "survey":
            if not p.ghost and rng.random() < rates.answer_survey:
                happy = p.unanswered < 3 and p.fade_day is None
                body = tx.SURVEY[lang].format(
                    s=rng.choice((4, 5, 5)) if happy else rng.choice((2, 3)),
                    v=tx.VALUABLE[lang],
                    c=rng.choice((1, 2, 2, 3)) if happy else rng.choice((1, 3)),
                )
                self.later(p, r, body, 0, 5)
        elif t in ("partner_withdrew", "partner_bouncing", "partner_left", "pair_closed"):
            p.partners = ()
            p.next_write = None
            if (
                t in ("partner_withdrew", "partner_bouncing")
                and rng.random() < rates.accept_rematch
            ):
                self.later(p, r, tx.REMATCH_WORD[lang], 0, 2, human=("keyword rematch", True))
        elif (
            t == "liaise"
            and not p.engaged(d)
            and not p.withdrawn
            and rng.random() < rates.liaise_revives
        ):
            self.revive(p, d)

    def revive(self, p: Person, d: date) -> None:
        p.ghost = False
        p.fade_day = None
        if p.partners:
            p.next_write = d + timedelta(days=self.rng.randint(1, 3))

    # ------------------------------------------------------------------ coordinators
    def coordinator_reads(self, r: Received) -> None:
        text = r.text()
        self.ledger.coordinator_text(text, r.when)
        if r.template == "proposal":
            self.ledger.items.append(Item(r.when, "proposal", "-", ("APPROVE",), "APPROVE"))
            self.coordinator_out.append((r, ["APPROVE"]))
            return
        if r.template == "coordinator_action_done":
            # one command: "Not done: REMATCH pair 12" in the subject; a reply of several
            # lines: one summary, each refused line "Not done: REMATCH pair 12 — why"
            closes: list[str] = []
            for verb, target in _REFUSED_RE.findall(r.subject + "\n" + text):
                self.ledger.refused[verb.lower()] += 1
                if verb.upper() == "REMATCH":
                    self.refused_rematch.add(target)
                    self.ledger.items.append(
                        Item(r.when, "refused REMATCH", target, ("CLOSE",), "CLOSE")
                    )
                    closes.append(f"CLOSE {target}")
            if closes:
                self.coordinator_out.append((r, closes))
            return
        if r.template in _NOT_ACTIONABLE:
            return
        commands = self.decide(text, r.when)
        if r.template == "digest":
            self.ledger.digest_items.append(len(commands))
        if commands:
            self.coordinator_out.append((r, commands))

    def decide(self, text: str, when: datetime) -> list[str]:
        """One command per item the mail asks a decision about, as a reasonable coordinator
        would: answer questions; give who asked a new partner; liaise once, then rematch, and
        close what cannot be rematched."""
        items: dict[str, list[str]] = {}
        kinds: dict[str, str] = {}
        heading = ""
        state: re.Match[str] | None = None  # the last "Pair 12 (2027A): stalled" line
        for line in text.splitlines():
            if line and not line[0].isspace():
                heading = line
                state = None
            state = _PAIR_STATE_RE.search(line) or state
            for verb, target in _ACTION_RE.findall(line):
                verbs = items.setdefault(target, [])
                if verb not in verbs:
                    verbs.append(verb)
                if target not in kinds:
                    if state and state.group(1) == target:
                        kinds[target] = "pair " + state.group(2)
                    elif heading.startswith("Said their partner"):
                        kinds[target] = "silent report"
                    elif heading.startswith("Asked for a new partner"):
                        kinds[target] = "rematch request"
                    else:
                        kinds[target] = heading[:40].strip() or "other"
        out: list[str] = []
        for target, verbs in items.items():
            kind = kinds[target]
            if "ANSWER" in verbs:
                cmd = f"ANSWER {target} Thank you for asking: here is what to do."
            elif kind == "rematch request" and "REMATCH" in verbs:
                cmd = f"REMATCH {target}"
            elif target in self.refused_rematch and "CLOSE" in verbs:
                cmd = f"CLOSE {target}"
            elif "LIAISE" in verbs and target not in self.liaised:
                cmd = f"LIAISE {target} Hello both, how is your partnership going?"
                self.liaised.add(target)
            elif "REMATCH" in verbs and target not in self.rematch_tried:
                cmd = f"REMATCH {target}"
                self.rematch_tried.add(target)
            elif "CLOSE" in verbs:
                cmd = f"CLOSE {target}"
            else:
                cmd = f"{verbs[0]} {target}"
            if target in self.acted_on:
                self.ledger.relisted += 1
            self.acted_on.add(target)
            item = Item(when, kind, target, tuple(verbs), cmd.split()[0])
            if target.isdigit() and kind != "rematch request" and int(target) in self.pair_members:
                item.false_alarm = self.talking(int(target), when)
            self.ledger.items.append(item)
            out.append(cmd)
        return out

    def talking(self, pair_id: int, when: datetime) -> bool:
        """Ground truth: was this pair in fact talking at `when` (see benchmarks.round_measure)?"""
        since = when - timedelta(days=TALKING_DAYS)
        anyone = False
        for addr in self.pair_members.get(pair_id, ()):
            p = self.by_email.get(addr)
            if p is None or p.withdrawn or p.dead(when.date()):
                continue
            recent = any(t >= since for t in self.wrote.get(addr, ()))
            anyone = anyone or recent
            resting = p.is_away(when.date()) or (
                p.paused_until is not None and when.date() < p.paused_until
            )
            if not recent and not resting:
                return False
        return anyone

    async def coordinators_answer(self, when: datetime) -> bool:
        if not self.coordinator_out:
            return False
        batch = self.batch == "yes"
        for r, commands in self.coordinator_out:
            if self.batch == "auto":
                batch = bool(_BATCH_HINT.search(r.text())) if r.to == COORDINATOR else False
            groups = ["\n".join(commands)] if batch else commands
            for body in groups:
                mail = PendingMail(COORDINATOR, r.reply_to, "Re: " + r.subject, body, r.message_id)
                await self.put(mail, when)
                self.ledger.reply_emails += 1
            for c in commands:
                self.ledger.touches[c.split()[0].lower()] += 1
        self.coordinator_out.clear()
        return True

    # ------------------------------------------------------------------ people act
    async def flush(self, d: date, when: datetime, slot: int, slots: int) -> None:
        """Replies due today from the people of this slot (a person acts in one slot a day)."""
        keep: list[PendingMail] = []
        for m in self.pending.pop(d, []):
            p = self.by_email.get(m.sender)
            if p is not None and p.k % slots != slot:
                keep.append(m)
                continue
            await self.put(m, when)
        if keep:
            self.pending[d] = keep

    async def act(self, d: date, when: datetime, slot: int, slots: int) -> None:
        """Everything the people of this slot do of their own accord on day `d`."""
        rates, rng = self.rates, self.rng
        n = (d - START).days
        for p in self.people:
            if p.k % slots != slot:
                continue
            lang = p.language
            if p.ask_first and d == p.apply_on - timedelta(days=2):
                await self.put(
                    PendingMail(
                        p.email, PROGRAM, "Question", tx.ASK_BEFORE_APPLYING[lang],
                        human=("question ask-before-applying", False),
                    ),
                    when,
                )  # fmt: skip
            if d == p.apply_on:
                body = p.first_form or p.form
                await self.put(PendingMail(p.email, PROGRAM, tx.SUBJECT_APPLY[lang], body), when)
            if p.dead(d):
                continue
            for qd in p.question_days:
                if qd == n:
                    await self.question(p, when)
            if p.pause is not None and n == p.pause[0] and p.partners:
                weeks = p.pause[1]
                until = d + timedelta(weeks=weeks)
                sentence, keyword = tx.COMMANDS["pause"][lang]
                text = (sentence if p.sentences else keyword).format(
                    weeks=weeks,
                    until_en=f"{tx.MONTHS_EN[until.month - 1]} {until.day}",
                    until_es=f"{until.day} de {tx.MONTHS_ES[until.month - 1]}",
                )
                await self.command(p, "pause", text, when)
                p.paused_until = until
            if p.withdraw_day is not None and n == p.withdraw_day and not p.withdrawn:
                sentence, keyword = tx.COMMANDS["withdraw"][lang]
                await self.command(p, "withdraw", sentence if p.sentences else keyword, when)
                p.withdrawn = True
            if p.partners and p.engaged(d) and p.next_write is not None and d >= p.next_write:
                await self.write_partner(p, d, when)
            if (
                p.partners
                and p.engaged(d)
                and p.unanswered >= 3
                and not p.asked_help
                and rng.random() < rates.ask_when_partner_silent / 7
            ):
                p.asked_help = True
                if p.sentences:
                    await self.put(
                        PendingMail(
                            p.email, PROGRAM, "My partner", tx.PARTNER_SILENT[lang],
                            human=("sentence partner-silent", False),
                        ),
                        when,
                    )  # fmt: skip
                else:
                    await self.command(p, "rematch", tx.COMMANDS["rematch"][lang][1], when)

    async def command(self, p: Person, verb: str, text: str, when: datetime) -> None:
        """A command to the program: a sentence in the body, or the keyword as the subject."""
        if p.sentences:
            subject = {"en": "Request", "fr": "Demande"}.get(p.language, "Solicitud")
            mail = PendingMail(p.email, PROGRAM, subject, text, human=(f"sentence {verb}", False))
        else:
            mail = PendingMail(
                p.email, PROGRAM, text, tx.GREETING[p.language], human=(f"keyword {verb}", False)
            )
        await self.put(mail, when)

    async def question(self, p: Person, when: datetime) -> None:
        shape, text = self.rng.choice(tx.QUESTIONS[p.language])
        as_reply = (
            p.last_program_mail is not None and self.rng.random() < self.rates.question_as_reply
        )
        if as_reply and p.last_program_mail is not None:
            # A mail client's Reply goes to every Reply-To address: for a topic or an
            # introduction that is the partner(s) and the pair's tracking address, so the
            # question reaches the partner, and the program only as pair mail (metadata).
            to = ", ".join(p.last_program_mail.reply_all)
            subject = "Re: " + p.last_program_mail.subject
        else:
            to, subject = (
                PROGRAM,
                {"en": "A question", "fr": "Une question"}.get(p.language, "Una pregunta"),
            )
        mail = PendingMail(p.email, to, subject, text, human=(f"question {shape}", as_reply))
        await self.put(mail, when)

    async def write_partner(self, p: Person, d: date, when: datetime) -> None:
        rng = self.rng
        live = [a for a in p.partners if not self.by_email[a].dead(d)] if p.partners else []
        dead = [a for a in p.partners if a not in live]
        if dead:
            p.told_bounce += 1  # the partner's mail system bounces it back to p
            if p.told_bounce == 2 and rng.random() < self.rates.report_bouncing_partner:
                await self.put(
                    PendingMail(
                        p.email, PROGRAM, "Bounces", tx.PARTNER_BOUNCES[p.language],
                        human=("question partner-bounces", False),
                    ),
                    when,
                )  # fmt: skip
        if not live:
            p.next_write = None if p.told_bounce >= 2 else d + timedelta(days=7)
            return
        self.wrote[p.email].append(when)
        self.ledger.partner_mails += 1
        for a in live:
            self.by_email[a].unanswered = 0
        p.unanswered += 1
        lo, hi = p.period
        gap = rng.randint(lo, hi) * (2 if p.unanswered >= 3 else 1)
        p.next_write = d + timedelta(days=gap)
        cc_off = p.no_cc and rng.random() < 0.8
        if cc_off or p.track is None:
            self.ledger.partner_mails_no_cc += 1
            return  # the program never sees it
        subject = "Re: our conversation" if p.unanswered > 1 else "Hello from " + p.name
        mail = PendingMail(p.email, ", ".join(live), subject, tx.TALK[p.language])
        await self.put(mail, when, cc=[p.track])
