"""Ingest benchmark: `tick` over 10,000 mixed messages vs what reading and filing alone cost.

Starts its own Dovecot + Postfix (scripts/mailstack.sh) in a temp dir, writes N messages of
mixed kinds straight into the program's Maildir, then in the same process measures
  (a) raw: SELECT, UID SEARCH, UID FETCH BODY.PEEK[HEADER] in batches of 100 (aioimaplib),
      and the same fetching whole messages (BODY.PEEK[]), for reference;
  (b) the floor intake's design sets (`raw_floor`), with aioimaplib and nothing between: the
      header block and size of every message (100 per command), the bodies of those that are
      not partner mail (100 per command), then filing: UID MOVE of those to Processed and
      UID STORE (Deleted flag) + UID EXPUNGE of the partner mail (500 per command); and the
      same again with mailbot's own reading of IMAP answers (edges.imap_wire), for reference;
  (c) mailbot: one `tick` — headers, bodies where needed, parse, classify, record, answer,
      file/expunge, deliver answers — on a second, identical inbox;
and prints the rates, intake against the floor, the pure parse+classify rate, and peak memory;
and the "raw parts alone" line any tick has here: the floor plus a raw send of the same
answers, with no work at all between them.

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
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aioimaplib
import aiosmtplib
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mailbot import settings as settings_mod  # noqa: E402
from mailbot.app import build  # noqa: E402
from mailbot.deps import Deps  # noqa: E402
from mailbot.domain import tokens  # noqa: E402
from mailbot.domain.classify import ClassifyContext, classify  # noqa: E402
from mailbot.domain.model import Route  # noqa: E402
from mailbot.domain.partner_mail import may_be_partner_mail, partner_verdict  # noqa: E402
from mailbot.edges import imap_wire  # noqa: E402
from mailbot.edges.tables import Pair, PairMember, Person  # noqa: E402
from mailbot.flows import intake, outbox  # noqa: E402
from mailbot.flows.tick import TickReport, run_jobs  # noqa: E402
from mailbot.mail.header_block import read_header_block  # noqa: E402
from mailbot.mail.parse import parse_message  # noqa: E402

SECRET = "bench-secret"
PROGRAM = "coordinator@example.org"


PEOPLE = 3000  # participants of a running round, paired (2k, 2k+1) as pair k+1


def person(k: int) -> str:
    return f"p{k}@partners.example.com"


def message(i: int) -> bytes:
    """A mix like a running round's inbox: mostly partners' mail with the tracking address in Cc.

    Partners, commands, auto-replies and bounces concern the seeded participants; applications
    come from new people (for the next round) and are valid, so each is stored and confirmed.
    The domains are outside the mail stack (Postfix hands such mail to its catch-all) and not
    special-use names like .test, which email-validator rightly refuses.
    """
    kind = i % 20
    k = i % PEOPLE
    sender = person(k)
    head = f"From: Person {k} <{sender}>\r\nDate: Tue, 12 Jan 2027 08:00:00 +0000\r\n"
    head += f"Message-ID: <bench-{i}@partners.example.com>\r\n"
    if kind < 12:  # partner conversation, program in Cc via the pair's tracking address
        track = tokens.tag_address(PROGRAM, Route.PAIR, str(k // 2 + 1), SECRET)
        head += f"To: {person(k ^ 1)}\r\nCc: {track}\r\nSubject: Re: our libraries\r\n"
        body = "Thank you for your message about the library spaces. " * 8
    elif kind < 14:  # application from someone new
        head = (
            f"From: Applicant {i} <new{i}@applicants.example.com>\r\n"
            "Date: Tue, 12 Jan 2027 08:00:00 +0000\r\n"
            f"Message-ID: <app-{i}@applicants.example.com>\r\n"
            f"To: {PROGRAM}\r\nSubject: Application\r\n"
        )
        body = (
            f"Name: Applicant {i}\r\nCountry: Kenya\r\nInstitution: City Library\r\n"
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
            f"From: MAILER-DAEMON@mx.partners.example.com\r\nTo: {PROGRAM}\r\n"
            f"Message-ID: <dsn-{i}@mx.partners.example.com>\r\nSubject: Undelivered Mail\r\n"
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


def seed_round(deps: Deps, now: datetime) -> None:
    """PEOPLE participants in PEOPLE/2 running pairs, so partners' mail counts as activity.

    The pairs belong to no configured round, so the scheduled jobs leave them alone and the
    figures are about intake and delivery only (benchmarks/tick.py measures the jobs).
    """
    with deps.db.engine.begin() as conn:
        conn.execute(
            insert(Person),
            [
                {
                    "email": person(k),
                    "name": f"Person {k}",
                    "country": ("KE", "FR")[k % 2],
                    "created_at": now,
                    "updated_at": now,
                }
                for k in range(PEOPLE)
            ],
        )
        conn.execute(
            insert(Pair),
            [{"round_name": "bench", "state": "active", "created_at": now}] * (PEOPLE // 2),
        )
        conn.execute(
            insert(PairMember),
            [{"pair_id": k // 2 + 1, "person_id": k + 1} for k in range(PEOPLE)],
        )


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


def fill(stack_dir: str, user: str, count: int, tag: str = "bench") -> None:
    local, _, domain = user.partition("@")
    maildir = Path(stack_dir) / "mail" / domain / local / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    owner = pwd.getpwnam("mailstack") if os.geteuid() == 0 else None
    stamp = int(time.time())
    for i in range(count):
        raw = message(i)
        path = maildir / "new" / f"{stamp}.M{i}P{os.getpid()}.{tag},S={len(raw)}"
        path.write_bytes(raw)
        if owner:
            os.chown(path, owner.pw_uid, owner.pw_gid)
    if owner:
        for p in [maildir, *maildir.parents][:4]:
            os.chown(p, owner.pw_uid, owner.pw_gid)
        for sub in ("new", "cur", "tmp"):
            os.chown(maildir / sub, owner.pw_uid, owner.pw_gid)


async def raw_fetch(
    host: str,
    port: int,
    user: str,
    password: str,
    batch: int = 100,
    item: str = "BODY.PEEK[HEADER]",
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
        r = await client.uid("fetch", f"{chunk[0]}:{chunk[-1]}", f"({item})")
        got += sum(1 for line in r.lines if isinstance(line, bytes) and b" FETCH " in line)
    elapsed = time.perf_counter() - t0
    await client.logout()
    return got, elapsed


def _uid_set(uids: list[int]) -> str:
    runs: list[str] = []
    start = prev = uids[0]
    for u in [*uids[1:], -1]:
        if u == prev + 1:
            prev = u
            continue
        runs.append(str(start) if start == prev else f"{start}:{prev}")
        start = prev = u
    return ",".join(runs)


async def raw_floor(
    host: str, port: int, user: str, password: str, wire: bool = False
) -> dict[str, float]:
    """Seconds for aioimaplib to do what intake's design must do, with nothing between:
    header blocks and sizes of all (100 per command), the bodies of what is not partner mail
    (100 per command; partner mail told by its tracking tag, for free), then UID MOVE of those
    to Processed and UID STORE + UID EXPUNGE of the partner mail (500 per command).
    `wire`: with the answer reader and FETCH command mailbot uses (edges.imap_wire) instead
    of the library's own, for reference."""
    client = (imap_wire.Client if wire else aioimaplib.IMAP4)(host, port, timeout=60)

    def fetch(uid_set: str, items: str) -> Any:
        if not wire:
            return client.uid("fetch", uid_set, items)
        protocol = client.protocol
        cmd = imap_wire.FetchCommand(
            protocol.new_tag(), uid_set, items, prefix="UID", loop=protocol.loop
        )
        return protocol.execute(cmd)

    await client.wait_hello_from_server()
    await client.login(user, password)
    await client.protocol.capability()  # MOVE and UIDPLUS are announced after the login

    async def ok(aw: Any) -> None:
        resp = await aw
        if resp.result != "OK":
            raise RuntimeError(f"raw floor: {resp.result} {resp.lines[-1]!r}")

    await client.create("Processed")  # NO when it exists already: as wanted
    await ok(client.select("INBOX"))
    res = await client.uid_search("ALL")
    uids = sorted(int(x) for x in res.lines[0].split())
    t0 = time.perf_counter()
    partner: list[int] = []
    other: list[int] = []
    for s in range(0, len(uids), 100):
        r = await fetch(_uid_set(uids[s : s + 100]), "(UID RFC822.SIZE BODY.PEEK[HEADER])")
        uid = 0
        for line in r.lines:
            if isinstance(line, bytearray):
                (partner if b"+p-" in line else other).append(uid)
            elif b" FETCH " in line:
                uid = int(line.split(b"UID ", 1)[1].split()[0])
    t1 = time.perf_counter()
    for s in range(0, len(other), 100):
        await ok(fetch(_uid_set(other[s : s + 100]), "(UID BODY.PEEK[])"))
    t2 = time.perf_counter()
    for s in range(0, len(other), 500):
        await ok(client.uid("move", _uid_set(other[s : s + 500]), "Processed"))
    for s in range(0, len(partner), 500):
        chunk = _uid_set(partner[s : s + 500])
        await ok(client.uid("store", chunk, "+FLAGS.SILENT", r"(\Deleted)"))
        await ok(client.uid("expunge", chunk))
    t3 = time.perf_counter()
    # Leave the folders as the tick will find them: Processed empty again.
    await ok(client.select("Processed"))
    res = await client.uid_search("ALL")
    moved = sorted(int(x) for x in res.lines[0].split())
    for s in range(0, len(moved), 500):  # aioimaplib dies on ~1,000 lines in one answer
        chunk = _uid_set(moved[s : s + 500])
        await ok(client.uid("store", chunk, "+FLAGS.SILENT", r"(\Deleted)"))
        await ok(client.uid("expunge", chunk))
    await client.logout()
    return {
        "headers": t1 - t0,
        "bodies": t2 - t1,
        "file": t3 - t2,
        "total": t3 - t0,
        "messages": len(partner) + len(other),
        "partner": len(partner),
    }


async def raw_send(host: str, port: int, count: int) -> float:
    """Seconds for aiosmtplib to send `count` prepared ~1.5 KB answers over one connection."""
    body = "Thank you for your application. This is what we understood:\n" + "x" * 1400
    msgs = []
    for i in range(count):
        m = EmailMessage()
        m["From"], m["To"], m["Subject"] = PROGRAM, f"raw{i}@applicants.example.com", "Raw baseline"
        m["Message-ID"] = f"<raw-{i}@example.org>"
        m.set_content(body)
        msgs.append(m)
    smtp = aiosmtplib.SMTP(hostname=host, port=port, start_tls=False, use_tls=False)
    await smtp.connect()
    t0 = time.perf_counter()
    for m in msgs:
        await smtp.send_message(m)
    elapsed = time.perf_counter() - t0
    await smtp.quit()
    return elapsed


KINDS = {"partner mail": 0, "application": 12, "out-of-office": 14, "STATUS": 16, "bounce": 18}


def per_kind(work: str, count: int, now: datetime) -> dict[str, float]:
    """Milliseconds of intake per message, for inboxes of one kind each (Maildir, SQLite, the
    same seeded round): where intake's time goes, without IMAP."""
    from mailbot.app import maildir_paths
    from mailbot.edges.maildir import MaildirMailbox

    out: dict[str, float] = {}
    for name, kind in KINDS.items():
        root = Path(work) / f"kind-{kind}"
        root.mkdir()
        config = root / "mailbot.toml"
        config.write_text(
            f'[program]\naddress = "{PROGRAM}"\ncoordinators = ["director@example.org"]\n'
            f'max_auto_replies_per_day = 50\ntransport = "maildir"\nmaildir = "{root}/md"\n'
            f'[database]\nurl = "sqlite:///{root}/db.sqlite3"\n'
        )
        deps = build(settings_mod.load(config, {"MAILBOT_PROGRAM_SECRET": SECRET}))
        deps.db.upgrade()
        seed_round(deps, now)
        inbox, _ = maildir_paths(deps.settings)

        async def put(inbox: Path, kind: int) -> None:
            box = MaildirMailbox(inbox)
            await box.connect()
            for i in range(count):
                await box.append(message(i * 20 + kind))

        asyncio.run(put(inbox, kind))
        t0 = time.perf_counter()
        asyncio.run(intake.run_once(deps, now))
        out[name] = (time.perf_counter() - t0) * 1000 / count
        deps.db.dispose()
    return out


async def timed_tick(deps: Deps, now: datetime) -> tuple[TickReport, dict[str, float]]:
    """`flows.tick.tick`, step by step, with each step's time."""
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    report_in = await intake.run_once(deps, now)
    t1 = time.perf_counter()
    jobs = await run_jobs(deps, now)
    t2 = time.perf_counter()
    report_out = await outbox.deliver(deps, now)
    t3 = time.perf_counter()
    times.update(intake=t1 - t0, jobs=t2 - t1, deliver=t3 - t2, tick=t3 - t0)
    return TickReport(now, report_in, report_out, jobs), times


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
    now = datetime(2027, 1, 12, 9, tzinfo=UTC)
    try:
        host, port = stack["MAILSTACK_HOST"], int(stack["MAILSTACK_IMAP_PORT"])
        smtp_port = int(stack["MAILSTACK_SMTP_PORT"])
        fill(stack_dir, PROGRAM, args.count)
        # Untimed first pass: Dovecot builds its index and cache of the new Maildir once, so
        # neither baseline nor the tick pays for that.
        asyncio.run(raw_fetch(host, port, PROGRAM, "coordinator-pass", item="BODY.PEEK[]"))
        n_raw, t_raw = asyncio.run(raw_fetch(host, port, PROGRAM, "coordinator-pass"))
        raw_rate = n_raw / t_raw
        n_whole, t_whole = asyncio.run(
            raw_fetch(host, port, PROGRAM, "coordinator-pass", item="BODY.PEEK[]")
        )
        floor = asyncio.run(raw_floor(host, port, PROGRAM, "coordinator-pass"))
        fill(stack_dir, PROGRAM, args.count, tag="wire")
        asyncio.run(raw_fetch(host, port, PROGRAM, "coordinator-pass", item="BODY.PEEK[]"))
        wired = asyncio.run(raw_floor(host, port, PROGRAM, "coordinator-pass", wire=True))
        # The floor emptied the inbox: the same messages again for the tick, indexed untimed.
        fill(stack_dir, PROGRAM, args.count, tag="tick")
        asyncio.run(raw_fetch(host, port, PROGRAM, "coordinator-pass", item="BODY.PEEK[]"))

        raws = [message(i) for i in range(args.count)]
        ctx = ClassifyContext(PROGRAM, SECRET, frozenset({PROGRAM}))
        t0 = time.perf_counter()
        for raw in raws:
            classify(parse_message(raw), ctx)
        whole_rate = len(raws) / (time.perf_counter() - t0)
        # As intake does it: partner mail parsed and classified from its header block alone.
        t0 = time.perf_counter()
        for raw in raws:
            head = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
            partner = may_be_partner_mail(head) and (read_header_block(head) or parse_message(head))
            if not (partner and partner_verdict(partner, ctx)):
                classify(parse_message(raw), ctx)
        pure_rate = len(raws) / (time.perf_counter() - t0)

        db = f"sqlite:///{work}/bench.sqlite3" if args.db == "sqlite" else args.db
        config = Path(work) / "mailbot.toml"
        config.write_text(
            f'[program]\naddress = "{PROGRAM}"\ncoordinators = ["director@example.org"]\n'
            f'max_auto_replies_per_day = 50\n[imap]\nhost = "{host}"\nport = {port}\n'
            f'username = "{PROGRAM}"\ntls = "none"\n[smtp]\nhost = "{host}"\n'
            f'port = {smtp_port}\ntls = "none"\n[database]\nurl = "{db}"\n'
        )
        settings = settings_mod.load(
            config, {"MAILBOT_PROGRAM_SECRET": SECRET, "MAILBOT_IMAP_PASSWORD": "coordinator-pass"}
        )
        deps = build(settings)
        deps.db.upgrade()
        seed_round(deps, now)
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            prof = cProfile.Profile()
            report, times = prof.runcall(asyncio.run, timed_tick(deps, now))
            order = os.environ.get("BENCH_SORT", "cumulative")
            lines = int(os.environ.get("BENCH_LINES", "40"))
            pstats.Stats(prof).sort_stats(order).print_stats(lines)
        else:
            report, times = asyncio.run(timed_tick(deps, now))
        sent = report.deliver.sent
        t_send = asyncio.run(raw_send(host, smtp_port, sent)) if sent else 0.0
        kinds_ms = per_kind(work, max(100, args.count // 20), now)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        seen = report.intake.seen
        intake_rate, tick_rate = seen / times["intake"], seen / times["tick"]
        floor_rate = floor["messages"] / floor["total"]
        print(
            f"messages                          {args.count} ({floor['partner']:.0f} partner mail)"
        )
        print(f"raw aioimaplib header fetch       {n_raw} in {t_raw:.2f} s = {raw_rate:,.0f} msg/s")
        print(
            f"raw whole-message fetch           {n_whole} in {t_whole:.2f} s = "
            f"{n_whole / t_whole:,.0f} msg/s (for reference: intake no longer reads it all)"
        )
        print(
            f"floor: raw headers + bodies + file {floor['messages']:.0f} in {floor['total']:.2f} s"
            f" = {floor_rate:,.0f} msg/s (headers {floor['headers']:.2f} s, bodies of "
            f"{floor['messages'] - floor['partner']:.0f} {floor['bodies']:.2f} s, MOVE/expunge "
            f"{floor['file']:.2f} s)"
        )
        print(
            f"the same with mailbot's IMAP reader {wired['messages']:.0f} in {wired['total']:.2f} s"
            f" (edges.imap_wire; for reference: intake = "
            f"{wired['total'] / times['intake']:.3f}× this floor)"
        )
        print(
            f"parse+classify only (pure)        {pure_rate:,.0f} msg/s as intake does it "
            f"(partner mail from its headers); {whole_rate:,.0f} msg/s reading every body; "
            f"= {pure_rate / floor_rate:.3f}× floor with no database at all"
        )
        print(
            f"intake (headers→bodies→commit→file) {seen} in {times['intake']:.2f} s = "
            f"{intake_rate:,.0f} msg/s = {intake_rate / floor_rate:.3f}× floor  (target >= 0.5)"
        )
        print(f"scheduled jobs                    {times['jobs']:.2f} s")
        if sent:
            print(
                f"raw aiosmtplib send, 1 conn.      {sent} in {t_send:.2f} s = "
                f"{sent / t_send:,.0f} msg/s"
            )
            print(
                f"delivery (outbox→SMTP)            {sent} in {times['deliver']:.2f} s = "
                f"{sent / times['deliver']:,.0f} msg/s = {t_send / times['deliver']:.3f}× raw send"
            )
        print(
            f"mailbot tick end to end           {seen} in {times['tick']:.2f} s = "
            f"{tick_rate:,.0f} msg/s = {tick_rate / floor_rate:.3f}× floor"
        )
        parts = floor["total"] + t_send  # read, file and answer, with no work in between
        print(
            f"raw parts alone: floor + send     {seen} in {parts:.2f} s = "
            f"{seen / parts:,.0f} msg/s (the tick takes {times['tick'] / parts:.2f}× as long; "
            "target <= 1.5)"
        )
        print(f"partner mail out of the inbox      {report.intake.partner_removed}")
        budget_ms = 1000 * floor["total"] / floor["messages"] / 0.5
        mix = {"partner mail": 12, "application": 2, "out-of-office": 2, "STATUS": 2, "bounce": 2}
        mixed = sum(kinds_ms[k] * n for k, n in mix.items()) / 20
        print(
            "intake per message, one kind each (Maildir): "
            + ", ".join(f"{k} {v:.2f} ms" for k, v in kinds_ms.items())
            + f"; the mix {mixed:.2f} ms against {budget_ms:.2f} ms that 0.5× the floor allows"
        )
        print(f"peak RSS                          {peak:,.0f} MiB")
        print(f"kinds                             {dict(report.intake.kinds)}")
    finally:
        subprocess.run([str(ROOT / "scripts/mailstack.sh"), "stop", stack_dir], capture_output=True)


if __name__ == "__main__":
    main()
