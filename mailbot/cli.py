"""Command line: `mailbot run | tick | inspect | check-config | db upgrade | requeue | demo`.

Parses arguments, loads settings, wires `app.build`, and prints; every decision lives elsewhere.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mailbot import settings as settings_mod
from mailbot.settings import ConfigError, Settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="mailbot: an email-first peer-mentoring program.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic).")
app.add_typer(db_app, name="db")
console = Console(stderr=True)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML file (default: $MAILBOT_CONFIG)")
]


def _settings(config: Path | None) -> Settings:
    try:
        return settings_mod.load(config)
    except ConfigError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def _parse_now(now: str | None) -> datetime:
    if not now:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(now.replace("Z", "+00:00"))
    except ValueError:
        console.print(f"[red]--now:[/red] not an ISO-8601 instant: {now!r}")
        raise typer.Exit(2) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )


def _deps(config: Path | None):
    from mailbot.app import build

    deps = build(_settings(config))
    deps.db.upgrade()
    return deps


@app.command()
def run(config: ConfigOpt = None, verbose: bool = False) -> None:
    """Run the daemon: IMAP IDLE or polling, scheduled jobs, delivery. Stops on SIGTERM/SIGINT."""
    from mailbot.app import single_instance
    from mailbot.flows.daemon import serve

    _logging(verbose)
    deps = _deps(config)
    with single_instance(deps.settings):
        asyncio.run(serve(deps))


@app.command()
def tick(
    config: ConfigOpt = None,
    now: Annotated[str | None, typer.Option(help="the instant to act as of (ISO-8601)")] = None,
    verbose: bool = False,
) -> None:
    """Run every job once as of --now: read all new mail, run what is due, deliver the outbox."""
    from mailbot.app import single_instance
    from mailbot.flows.tick import tick as tick_once

    _logging(verbose)
    deps = _deps(config)
    with single_instance(deps.settings):
        report = asyncio.run(tick_once(deps, _parse_now(now)))
    print(report.summary())


@app.command()
def inspect(
    files: Annotated[list[Path], typer.Argument(help=".eml files")],
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """Show how each message would be classified; changes nothing."""
    from mailbot.domain.classify import ClassifyContext, classify
    from mailbot.mail.inspect import verdict_json
    from mailbot.mail.parse import parse_message

    s = _settings(config)
    ctx = ClassifyContext(
        program_address=s.program.address,
        secret=s.program.secret,
        own_addresses=frozenset({s.program.address}),
        coordinators=frozenset(s.program.coordinators),
    )
    status = 0
    for f in files:
        try:
            raw = f.read_bytes()
        except OSError as exc:
            console.print(f"[red]{f}:[/red] {exc.strerror}")
            status = 1
            continue
        verdict = classify(parse_message(raw), ctx)
        data = verdict_json(str(f), verdict)
        if as_json:
            print(json.dumps(data, ensure_ascii=False))
        else:
            extra = {k: v for k, v in data.items() if k not in ("file", "kind", "reason", "rules")}
            print(f"{f}: {data['kind']} — {data['reason']}")
            print(f"    rules: {', '.join(data['rules'])}")
            for k, v in extra.items():
                print(f"    {k}: {json.dumps(v, ensure_ascii=False)}")
    raise typer.Exit(status)


@app.command("check-config")
def check_config(
    config: ConfigOpt = None,
    connect: Annotated[bool, typer.Option(help="also log in to IMAP and SMTP")] = False,
) -> None:
    """Validate the configuration and render every template in every language."""
    from mailbot.app import build
    from mailbot.checks import check_connections, check_templates

    s = _settings(config)
    deps = build(s)
    problems = check_templates(deps.renderer, s.program.languages)
    for p in problems:
        console.print(f"[red]template:[/red] {p}")
    if connect and not problems:
        for p in asyncio.run(check_connections(s)):
            problems.append(p)
            console.print(f"[red]connection:[/red] {p}")
    if problems:
        raise typer.Exit(1)
    print(f"configuration OK: {s.source}; program {s.program.address}; {len(s.rounds)} round(s)")


@db_app.command("upgrade")
def db_upgrade(config: ConfigOpt = None) -> None:
    """Create the database or upgrade it to the newest schema."""
    deps = _deps(config)
    print(f"database at head: {deps.db.engine.url.render_as_string(hide_password=True)}")


@app.command()
def requeue(
    config: ConfigOpt = None,
) -> None:
    """Put every quarantined message back into the inbox to be handled again."""
    from mailbot.flows.requeue import requeue_all

    deps = _deps(config)
    n = asyncio.run(requeue_all(deps))
    print(f"requeued {n} message(s)")


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option(help="where the demo keeps its mailbox, database and mail")
    ] = Path("demo-out"),
) -> None:
    """Run the program on embedded defaults with simulated participants; print what happened."""
    from mailbot.demo import run_demo

    raise typer.Exit(asyncio.run(run_demo(out)))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
