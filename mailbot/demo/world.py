"""The running demo's world: the simulated people write into the program's Maildir, read what the
program wrote back (`<out>/maildir/sent/<recipient>/*.eml`) and answer it.

A person reads their inbox the way they would in a mail client: the coordinator replies APPROVE
to the proposal's Reply-To, partners copy the tracking address from their introduction, people
answer nudges, the check-in and the survey (what they answer: `mailbot.demo.behaviour`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.header import Header, decode_header, make_header
from email.message import Message
from email.mime.text import MIMEText
from email.parser import BytesHeaderParser
from email.utils import format_datetime, formataddr, getaddresses
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from mailbot.demo import behaviour, cast
from mailbot.demo.plan import COORDINATOR, PROGRAM, ROUND, round_day
from mailbot.edges.maildir import MaildirMailbox
from mailbot.edges.tables import Outbox, Pair, PairMember, Person
from mailbot.flows.tick import tick

if TYPE_CHECKING:
    from mailbot.deps import Deps


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
    seed: int = cast.SEED
    applicants: dict[str, cast.Applicant] = field(default_factory=dict)
    pairs: list[behaviour.SimPair] = field(default_factory=list)
    scripts: dict[int, behaviour.Script] = field(default_factory=dict)
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
        # a compat32 message takes a Header too, and encodes it when written out
        msg["Subject"] = Header(subject, "utf-8") if not subject.isascii() else subject  # type: ignore[assignment]
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

    async def act(self, actions: Iterable[behaviour.Action], when: datetime) -> None:
        for a in actions:
            if isinstance(a, behaviour.Talk):
                await self.put(
                    a.sender.email,
                    [m.email for m in a.to],
                    a.subject,
                    a.body,
                    when,
                    cc=[a.track],
                    name=a.sender.name,
                )
            elif isinstance(a, behaviour.ToProgram):
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
                due = d + timedelta(days=cast.FIX_AFTER_DAYS)
                self.pending[due].append((a.email, PROGRAM, "Application (corrected)", a.form))
            elif r.to in by_email:
                pair, who = by_email[r.to]
                script = self.scripts.get(pair.pair_id, behaviour.Script.REGULAR)
                reply = behaviour.respond(r.template, pair, who, script, round_day(d), self.seed)
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
        members: dict[int, list[behaviour.Member]] = defaultdict(list)
        for pair_id, addr, name, lang in rows:
            members[pair_id].append(behaviour.Member(addr, name, lang))
        known = {p.pair_id for p in self.pairs}
        for pair_id, ms in members.items():
            track = next((tracks[m.email] for m in ms if m.email in tracks), None)
            if pair_id in known or track is None:
                continue
            self.pairs.append(behaviour.SimPair(pair_id, tuple(ms), track))
        self.scripts = behaviour.scripts_for([p.pair_id for p in self.pairs], self.seed)

    async def tick(self, when: datetime) -> None:
        await tick(self.deps, when)
        self.ticks += 1
        self.react(self.inbox_and_learn(), when.date())

    def inbox_and_learn(self) -> list[Received]:
        mail = self.inbox()
        if any(r.template == "introduction" for r in mail):
            self.learn_pairs(mail)
        return mail
