"""Build a mailbot for a test: settings in a temp dir, a database URL, Maildir or real servers.

prog = Program.maildir(tmp_path, db_url)
prog.put(raw_bytes)                    # into the program's inbox
report = prog.tick("2027-01-12T09:00Z")
prog.sent_to("ana@example.net")        # parsed .eml answers
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from mailbot import settings as settings_mod
from mailbot.app import build, maildir_paths
from mailbot.deps import Deps
from mailbot.edges.maildir import MaildirMailbox
from mailbot.flows import intake
from mailbot.flows.tick import TickReport, tick

SECRET = "test-secret"
ROUND = """
[[rounds]]
name = "2027A"
applications_open = 2027-01-04
applications_close = 2027-01-31
matching_date = 2027-02-03
start = 2027-02-08
"""


def instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class Program:
    root: Path
    config: Path
    deps: Deps

    @classmethod
    def create(
        cls,
        root: Path,
        db_url: str,
        extra: str = "",
        transport: str = "maildir",
        env: dict[str, str] | None = None,
        rounds: str = ROUND,
    ) -> Program:
        root.mkdir(parents=True, exist_ok=True)
        config = root / "mailbot.toml"
        config.write_text(
            f"""
[program]
address = "coordinator@example.org"
coordinators = ["director@example.org"]
transport = "{transport}"
maildir = "{root}/maildir"
[database]
url = "{db_url}"
{extra}
{rounds}
"""
        )
        settings = settings_mod.load(config, {"MAILBOT_PROGRAM_SECRET": SECRET, **(env or {})})
        deps = build(settings)
        deps.db.upgrade()
        return cls(root, config, deps)

    maildir = create

    def put(self, *raws: bytes) -> None:
        inbox, _ = maildir_paths(self.deps.settings)

        async def _put() -> None:
            box = MaildirMailbox(inbox)
            await box.connect()
            for raw in raws:
                await box.append(raw)

        asyncio.run(_put())

    def count(self, folder: str = "INBOX") -> int:
        inbox, _ = maildir_paths(self.deps.settings)
        box = MaildirMailbox(inbox)
        asyncio.run(box.connect())
        return box.count(folder)

    def tick(self, now: str) -> TickReport:
        return asyncio.run(tick(self.deps, instant(now)))

    def sent_to(self, address: str) -> list[EmailMessage]:
        _, sent = maildir_paths(self.deps.settings)
        folder = sent / address.lower()
        return [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for p in sorted(folder.glob("*.eml"))
        ]

    def all_sent(self) -> list[Path]:
        _, sent = maildir_paths(self.deps.settings)
        return sorted(sent.glob("*/*.eml"))

    def query(self, statement: Any) -> list[Any]:
        with self.deps.db.transaction() as s:
            return list(s.scalars(statement))

    def close(self) -> None:
        self.deps.db.dispose()


def application(
    from_addr: str = "ana@example.net",
    name: str = "Ana García",
    body: str | None = None,
    subject: str = "Application",
    message_id: str | None = None,
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{name} <{from_addr}>"
    msg["To"] = "coordinator@example.org"
    msg["Subject"] = subject
    msg["Date"] = "Tue, 12 Jan 2027 08:00:00 +0000"
    msg["Message-ID"] = message_id or f"<{abs(hash((from_addr, body, subject)))}@example.net>"
    for k, v in headers.items():
        msg[k.replace("_", "-")] = v
    msg.set_content(
        body
        if body is not None
        else (
            "Hello!\n\nName: Ana García\nCountry: Spain\nInstitution: Biblioteca de Sevilla\n"
            "Sector: public\nCareer stage: mid-career\nInterests: outreach, makerspaces\n\n"
            "Best wishes,\nAna\n"
        )
    )
    return bytes(msg)


def with_answers(root: Path, db_url: str, rows: int, now: datetime) -> Program:
    """A program whose outbox holds `rows` confirmations due at `now` (one application each,
    taken in by intake): what delivery tests send."""
    p = Program.create(root, db_url)
    p.put(*(application(f"p{i}@example.net", f"P{i}", message_id=f"<m{i}@x>") for i in range(rows)))
    asyncio.run(intake.run_once(p.deps, now))
    return p
