"""Ingest benchmark: `tick` over 10,000 mixed messages vs a raw aioimaplib header fetch.

Starts its own Dovecot + Postfix (scripts/mailstack.sh) in a temp dir, writes N messages of
mixed kinds straight into the program's Maildir, then in the same process measures
  (a) raw: SELECT, UID SEARCH, UID FETCH BODY.PEEK[HEADER] in batches of 100 (aioimaplib)
  (b) mailbot: one `tick` — fetch, parse, classify, record, answer, file, deliver answers
and prints both rates, their ratio, the pure parse+classify rate, and peak memory.

    .venv/bin/python benchmarks/ingest.py [--count 10000] [--db sqlite|URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pwd
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aioimaplib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mailbot import settings as settings_mod  # noqa: E402
from mailbot.app import build  # noqa: E402
from mailbot.domain import tokens  # noqa: E402
from mailbot.domain.classify import ClassifyContext, classify  # noqa: E402
from mailbot.domain.model import Route  # noqa: E402
from mailbot.flows.tick import tick  # noqa: E402
from mailbot.mail.parse import parse_message  # noqa: E402

SECRET = "bench-secret"
PROGRAM = "coordinator@example.org"


def message(i: int) -> bytes:
    """A mix like a running round's inbox: mostly partners' mail with the tracking address in Cc."""
    kind = i % 20
    sender = f"p{i % 3000}@partners.test"
    head = f"From: Person {i} <{sender}>\r\nDate: Tue, 12 Jan 2027 08:00:00 +0000\r\n"
    head += f"Message-ID: <bench-{i}@partners.test>\r\n"
    if kind < 12:  # partner conversation, program in Cc via the pair's tracking address
        track = tokens.tag_address(PROGRAM, Route.PAIR, str(i % 500), SECRET)
        head += f"To: partner{i}@partners.test\r\nCc: {track}\r\nSubject: Re: our libraries\r\n"
        body = "Thank you for your message about the library spaces. " * 8
    elif kind < 14:  # application
        head += f"To: {PROGRAM}\r\nSubject: Application\r\n"
        body = (
            f"Name: Person {i}\r\nCountry: Kenya\r\nInstitution: City Library\r\n"
            "Sector: public\r\nCareer stage: senior\r\nInterests: maps, outreach\r\n"
        )
    elif kind < 16:  # out-of-office
        head += (
            f"To: {PROGRAM}\r\nSubject: Automatic reply: topic\r\nAuto-Submitted: auto-replied\r\n"
        )
        body = "I am out of the office until 2 February.\r\n"
    elif kind < 18:  # command
        head += f"To: {PROGRAM}\r\nSubject: Re: STATUS\r\n"
        body = "STATUS\r\n"
    else:  # DSN bounce
        head = (
            f"From: MAILER-DAEMON@mx.partners.test\r\nTo: {PROGRAM}\r\n"
            f"Message-ID: <dsn-{i}@mx.partners.test>\r\nSubject: Undelivered Mail\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;"
            " boundary=B\r\n"
        )
        body = (
            "--B\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--B\r\n"
            "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
            f"Final-Recipient: rfc822; {sender}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--B--\r\n"
        )
        return (head + "\r\n" + body).encode()
    return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode()


def start_stack(directory: str) -> dict[str, str]:
    env = dict(os.environ, MAILSTACK_PORT_OFFSET=os.environ.get("MAILSTACK_PORT_OFFSET", "600"))
    subprocess.run(
        [str(ROOT / "scripts/mailstack.sh"), "start", directory],
        check=True,
        env=env,
        capture_output=True,
    )
    return dict(
        line.split("=", 1) for line in (Path(directory) / "mailstack.env").read_text().split()
    )


def fill(stack_dir: str, user: str, count: int) -> None:
    local, _, domain = user.partition("@")
    maildir = Path(stack_dir) / "mail" / domain / local / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    owner = pwd.getpwnam("mailstack") if os.geteuid() == 0 else None
    stamp = int(time.time())
    for i in range(count):
        raw = message(i)
        path = maildir / "new" / f"{stamp}.M{i}P{os.getpid()}.bench,S={len(raw)}"
        path.write_bytes(raw)
        if owner:
            os.chown(path, owner.pw_uid, owner.pw_gid)
    if owner:
        for p in [maildir, *maildir.parents][:4]:
            os.chown(p, owner.pw_uid, owner.pw_gid)
        for sub in ("new", "cur", "tmp"):
            os.chown(maildir / sub, owner.pw_uid, owner.pw_gid)


async def raw_fetch(
    host: str, port: int, user: str, password: str, batch: int = 100
) -> tuple[int, float]:
    client = aioimaplib.IMAP4(host, port, timeout=60)
    await client.wait_hello_from_server()
    await client.login(user, password)
    t0 = time.perf_counter()
    await client.select("INBOX")
    res = await client.uid_search("ALL")
    uids = [int(x) for x in res.lines[0].split()]
    got = 0
    for s in range(0, len(uids), batch):
        chunk = uids[s : s + batch]
        r = await client.uid("fetch", f"{chunk[0]}:{chunk[-1]}", "(BODY.PEEK[HEADER])")
        got += sum(1 for line in r.lines if isinstance(line, bytes) and b" FETCH " in line)
    elapsed = time.perf_counter() - t0
    await client.logout()
    return got, elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--db", default="sqlite")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mailbot-bench-", dir="/tmp")
    os.chmod(work, 0o755)
    stack_dir = os.path.join(work, "stack")
    os.makedirs(stack_dir)
    stack = start_stack(stack_dir)
    try:
        host, port = stack["MAILSTACK_HOST"], int(stack["MAILSTACK_IMAP_PORT"])
        fill(stack_dir, PROGRAM, args.count)
        n_raw, t_raw = asyncio.run(raw_fetch(host, port, PROGRAM, "coordinator-pass"))
        raw_rate = n_raw / t_raw

        raws = [message(i) for i in range(args.count)]
        ctx = ClassifyContext(PROGRAM, SECRET, frozenset({PROGRAM}))
        t0 = time.perf_counter()
        for raw in raws:
            classify(parse_message(raw), ctx)
        pure_rate = len(raws) / (time.perf_counter() - t0)

        db = f"sqlite:///{work}/bench.sqlite3" if args.db == "sqlite" else args.db
        config = Path(work) / "mailbot.toml"
        config.write_text(
            f'[program]\naddress = "{PROGRAM}"\ncoordinators = ["director@example.org"]\n'
            f'max_auto_replies_per_day = 50\n[imap]\nhost = "{host}"\nport = {port}\n'
            f'username = "{PROGRAM}"\ntls = "none"\n[smtp]\nhost = "{host}"\n'
            f'port = {stack["MAILSTACK_SMTP_PORT"]}\ntls = "none"\n[database]\nurl = "{db}"\n'
        )
        settings = settings_mod.load(
            config, {"MAILBOT_PROGRAM_SECRET": SECRET, "MAILBOT_IMAP_PASSWORD": "coordinator-pass"}
        )
        deps = build(settings)
        deps.db.upgrade()
        t0 = time.perf_counter()
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            prof = cProfile.Profile()
            report = prof.runcall(asyncio.run, tick(deps, datetime(2027, 1, 12, 9, tzinfo=UTC)))
            order = os.environ.get("BENCH_SORT", "cumulative")
            pstats.Stats(prof).sort_stats(order).print_stats(35)
        else:
            report = asyncio.run(tick(deps, datetime(2027, 1, 12, 9, tzinfo=UTC)))
        t_tick = time.perf_counter() - t0
        tick_rate = report.intake.seen / t_tick
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"messages                         {args.count}")
        print(f"raw aioimaplib header fetch      {n_raw} in {t_raw:.2f} s = {raw_rate:,.0f} msg/s")
        print(f"parse+classify only (pure)       {pure_rate:,.0f} msg/s")
        print(
            f"mailbot tick end to end          {report.intake.seen} in {t_tick:.2f} s = "
            f"{tick_rate:,.0f} msg/s ({report.deliver.sent} answers sent)"
        )
        print(f"ratio tick / raw fetch           {tick_rate / raw_rate:.3f}  (target >= 0.5)")
        print(f"peak RSS                         {peak:,.0f} MiB")
        print(f"kinds                            {dict(report.intake.kinds)}")
    finally:
        subprocess.run([str(ROOT / "scripts/mailstack.sh"), "stop", stack_dir], capture_output=True)


if __name__ == "__main__":
    main()
