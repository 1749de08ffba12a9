"""The demo: the program on embedded defaults — SQLite, a local Maildir, simulated people.

Writes sample mail (applications in three languages, a malformed one, commands, an
out-of-office reply, a bounce, a duplicate) into the program's Maildir, runs `tick` on it,
and prints what happened and where every answer can be read as an .eml file.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from mailbot import settings as settings_mod
from mailbot.app import build, maildir_paths
from mailbot.edges.maildir import MaildirMailbox
from mailbot.edges.tables import InboundRow, Outbox
from mailbot.flows.tick import tick

NOW = datetime(2027, 1, 12, 9, 0, tzinfo=UTC)
PROGRAM = "coordinator@example.org"

CONFIG = """\
[program]
name = "International Librarians Network (demo)"
address = "coordinator@example.org"
coordinators = ["director@example.org"]
transport = "maildir"
maildir = "{root}/maildir"

[database]
url = "sqlite:///{root}/mailbot.sqlite3"

[[rounds]]
name = "2027A"
applications_open = 2027-01-04
applications_close = 2027-01-31
matching_date = 2027-02-03
start = 2027-02-08
"""

APPLICATIONS = [
    (
        "Kofi Mensah",
        "kofi@example.net",
        "en",
        {
            "Name": "Kofi Mensah",
            "Country": "Ghana",
            "Institution": "Balme Library",
            "Sector": "academic",
            "Career stage": "new professional",
            "Interests": "research data, open access; digitisation",
            "Partner sector": "public",
            "About me": "I look after our theses repository.",
        },
    ),
    (
        "Amélie Dubois",
        "amelie@example.org",
        "fr",
        {
            "Nom": "Amélie Dubois",
            "Pays": "France",
            "Établissement": "Médiathèque de Lyon",
            "Secteur": "public",
            "Étape de carrière": "mi-carrière",
            "Intérêts": "médiation numérique, jeunesse",
            "Langue": "fr",
        },
    ),
    (
        "Lucía Fernández",
        "lucia@example.net",
        "es",
        {
            "Nombre": "Lucía Fernández",
            "País": "México",
            "Institución": "Archivo General",
            "Sector": "archivos",
            "Etapa profesional": "senior",
            "Intereses": "preservación digital; gestión documental",
            "Sector de la pareja": "cualquiera",
        },
    ),
    (
        "Priya Raman",
        "priya@example.net",
        "en",
        {
            "Name": "Priya Raman",
            "Country": "India",
            "Time zone": "Asia/Kolkata",
            "Institution": "Chennai Museum",
            "Sector": "museum",
            "Career stage": "mid-career",
            "Interests": "collections, community engagement",
            "Partner career stage": "any",
        },
    ),
    (
        "Tom Baker",
        "tom@example.org",
        "en",
        {  # invalid: no country, unknown sector
            "Name": "Tom Baker",
            "Institution": "Leeds Library",
            "Sector": "libraries",
            "Career stage": "mid-career",
            "Interests": "local history",
        },
    ),
]


def _mail(from_name: str, from_addr: str, subject: str, body: str, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{from_name} <{from_addr}>"
    msg["To"] = PROGRAM
    msg["Subject"] = subject
    msg["Date"] = format_datetime(NOW)
    msg["Message-ID"] = headers.pop("message_id", make_msgid(domain=from_addr.split("@")[1]))
    for k, v in headers.items():
        msg[k.replace("_", "-")] = v
    msg.set_content(body)
    return bytes(msg)


def sample_mail() -> list[tuple[str, bytes]]:
    """(what it is, raw bytes) for every simulated message."""
    out: list[tuple[str, bytes]] = []
    for name, addr, lang, form in APPLICATIONS:
        greeting = {"en": "Hello,", "fr": "Bonjour,", "es": "Hola:"}[lang]
        body = (
            greeting + "\n\n" + "\n".join(f"{k}: {v}" for k, v in form.items()) + "\n\n-- \n" + name
        )
        out.append((f"application ({lang})", _mail(name, addr, "Application", body)))
    dup = _mail(
        "Kofi Mensah",
        "kofi@example.net",
        "Application",
        "Name: Kofi",
        message_id="<dup-1@example.net>",
    )
    out.append(("a message", dup))
    out.append(("the same message again", dup))
    out.append(("command HELP", _mail("Sam Lee", "sam@example.com", "help", "")))
    out.append(
        ("command PAUSE", _mail("Kofi Mensah", "kofi@example.net", "Re: pause 2 weeks", "Thanks!"))
    )
    out.append(
        ("question from a stranger", _mail("Jo", "jo@example.com", "Question", "How do I join?"))
    )
    out.append(
        (
            "out-of-office reply",
            _mail(
                "Priya Raman",
                "priya@example.net",
                "Automatic reply: Application",
                "I am away until 2 February.",
                Auto_Submitted="auto-replied",
            ),
        )
    )
    bounce = EmailMessage()
    bounce["From"] = "Mail Delivery System <MAILER-DAEMON@mx.example.net>"
    bounce["To"] = PROGRAM
    bounce["Subject"] = "Undelivered Mail Returned to Sender"
    bounce["Message-ID"] = "<bounce-1@mx.example.net>"
    bounce.set_content(
        "This is the mail system at host mx.example.net.\n\n<gone@example.net>: user unknown"
    )
    out.append(("bounce", bytes(bounce)))
    out.append(
        (
            "malformed MIME",
            b"From: x@example.com\r\nContent-Type: multipart/mixed\r\n\r\n\x00\xff junk",
        )
    )
    return out


async def run_demo(root: Path) -> int:
    console = Console()
    root = root.resolve()
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    config = root / "mailbot.toml"
    config.write_text(CONFIG.format(root=root))
    env = dict(os.environ)
    env.setdefault("MAILBOT_PROGRAM_SECRET", "demo-secret-not-for-production")
    settings = settings_mod.load(config, env)
    deps = build(settings)
    deps.db.upgrade()
    inbox, sent = maildir_paths(settings)
    box = MaildirMailbox(inbox)
    await box.connect()
    samples = sample_mail()
    for _, raw in samples:
        await box.append(raw)
    await box.close()
    console.print(f"[bold]{len(samples)} simulated messages[/bold] written to {inbox}")
    report = await tick(deps, NOW)
    table = Table(title=f"mailbot tick --now {NOW.isoformat()}")
    for col in ("#", "from", "verdict", "why"):
        table.add_column(col)
    with deps.db.transaction() as s:
        rows = list(s.scalars(select(InboundRow).order_by(InboundRow.id)))
        for r in rows:
            table.add_row(
                str(r.id),
                r.from_addr or "—",
                r.kind + (" (quarantined)" if r.state == "quarantined" else ""),
                r.reason.splitlines()[0][:90] if r.reason else "",
            )
        sent_rows = list(s.scalars(select(Outbox).order_by(Outbox.id)))
    console.print(table)
    console.print(report.summary())
    out = Table(title="answers sent")
    for col in ("to", "template", "language", "status"):
        out.add_column(col)
    for o in sent_rows:
        out.add_row(o.primary_to, o.template, o.language, o.status)
    console.print(out)
    console.print(
        f"Read the mail that was sent in [bold]{sent}[/bold] (a folder per recipient, .eml files)."
    )
    console.print(f"Database: {root / 'mailbot.sqlite3'}; configuration: {config}")
    return 0
