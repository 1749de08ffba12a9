"""`mailbot demo`: a whole simulated round on embedded defaults — SQLite, a local Maildir, fake
people.

Decides nothing about the program: it prepares the output folder and the configuration, runs the
round a day at a time (`mailbot.demo.simulate`), then prints the timeline and the summary
(`mailbot.demo.report`), saves the last digest's chart as `<out>/chart.png`, and returns 0 — or 1
with a message naming the stage the demo relies on that did not happen, or 2 when `--out` is a
folder the demo did not make.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from mailbot import settings as settings_mod
from mailbot.app import build, maildir_paths
from mailbot.demo import cast
from mailbot.demo.plan import (
    CONFIG,
    COORDINATOR,
    END,
    FINAL_REPORT,
    MARKER,
    MATCHING,
    PROGRAM,
    ROUND,
    START,
    DemoError,
)
from mailbot.demo.report import check, save_chart, summary, timeline
from mailbot.demo.simulate import simulate
from mailbot.demo.world import World
from mailbot.edges.maildir import MaildirMailbox


def _prepare(root: Path) -> None:
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).exists():
            raise DemoError(
                f"{root} exists and was not made by `mailbot demo`; choose another --out"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("made by `mailbot demo`; removed by the next run\n")


async def run_demo(root: Path, seed: int = cast.SEED, console: Console | None = None) -> int:
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
        f"{world.ticks} ticks from {START + timedelta(days=cast.APPLY_FIRST_DAY)} "
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
