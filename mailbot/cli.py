"""Command line: `mailbot run | tick | inspect | check-config | db upgrade | requeue | demo`.

Parses arguments, loads settings, wires `app.build`, and prints; every decision lives elsewhere.
"""

from __future__ import annotations

import asyncio
import json
import os
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
round_app = typer.Typer(no_args_is_help=True, help="Rounds: list and create.")
app.add_typer(round_app, name="round")
outbox_app = typer.Typer(
    no_args_is_help=True, help="Outgoing mail whose delivery a crash left uncertain."
)
app.add_typer(outbox_app, name="outbox")
oauth_app = typer.Typer(no_args_is_help=True, help="OAuth2 logins to the mailbox (XOAUTH2).")
app.add_typer(oauth_app, name="oauth")
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
    """key=value lines on stderr, or JSON lines with MAILBOT_LOG_FORMAT=json."""
    from mailbot.edges.logformat import configure

    fmt = os.environ.get("MAILBOT_LOG_FORMAT", "kv").strip().lower() or "kv"
    try:
        configure(fmt, verbose=verbose)
    except ValueError as exc:
        console.print(f"[red]MAILBOT_LOG_FORMAT:[/red] {exc}")
        raise typer.Exit(2) from None


def _deps(config: Path | None):
    from mailbot.app import build

    deps = build(_settings(config))
    deps.db.upgrade()
    return deps


@app.command()
def run(config: ConfigOpt = None, verbose: bool = False) -> None:
    """Run the daemon: IMAP IDLE or polling, scheduled jobs, delivery. Stops on SIGTERM/SIGINT."""
    from mailbot.app import heartbeat_path, single_instance
    from mailbot.flows.daemon import serve

    _logging(verbose)
    deps = _deps(config)
    with single_instance(deps.settings):
        asyncio.run(serve(deps, heartbeat_path=heartbeat_path(deps.settings)))


@app.command()
def health(
    config: ConfigOpt = None,
    now: Annotated[str | None, typer.Option(help="judge as of this instant (ISO-8601)")] = None,
) -> None:
    """Exit 0 when the daemon's last good cycle is recent and its logins are not failing.

    For the container's HEALTHCHECK: a daemon that runs but is stuck, or cannot log in, is not
    healthy. Reads the heartbeat file the daemon keeps beside its lock; no server is touched.
    """
    from mailbot.app import heartbeat_path
    from mailbot.domain.liveness import health as judge
    from mailbot.edges import heartbeat

    settings = _settings(config)
    path = heartbeat_path(settings)
    ok, why = judge(heartbeat.read(path), _parse_now(now), settings.imap.poll_seconds)
    print(f"{'healthy' if ok else 'unhealthy'}: {why}")
    raise typer.Exit(0 if ok else 1)


@app.command()
def tick(
    config: ConfigOpt = None,
    now: Annotated[str | None, typer.Option(help="the instant to act as of (ISO-8601)")] = None,
    verbose: bool = False,
) -> None:
    """Run every job once as of --now: read all new mail, run what is due, deliver the outbox."""
    from mailbot.app import single_instance
    from mailbot.flows.intake import database_failure
    from mailbot.flows.tick import tick as tick_once

    _logging(verbose)
    deps = _deps(config)
    with single_instance(deps.settings):
        try:
            report = asyncio.run(tick_once(deps, _parse_now(now)))
        except Exception as exc:
            what = database_failure(exc)
            if what is None:
                raise
            console.print(
                f"[red]database unavailable:[/red] {what}\n"
                "Nothing was quarantined: unread mail stays in the inbox and unsent mail in the "
                "outbox for the next tick (`mailbot outbox uncertain` lists any left mid-send)."
            )
            raise typer.Exit(3) from None
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

    try:
        s = settings_mod.load(config)
    except ConfigError as exc:
        if not str(exc).startswith("program.secret"):
            console.print(f"[red]configuration error:[/red] {exc}")
            raise typer.Exit(2) from None
        # Without the secret, signed tags and Message-IDs cannot be verified; all else can.
        console.print(
            "[yellow]MAILBOT_PROGRAM_SECRET is not set: signed tags not verified[/yellow]"
        )
        s = settings_mod.load(config, {**os.environ, "MAILBOT_PROGRAM_SECRET": "-"})
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
            print(f"    rules: {', '.join(verdict.hits)}")
            for k, v in extra.items():
                print(f"    {k}: {json.dumps(v, ensure_ascii=False)}")
    raise typer.Exit(status)


@app.command("check-config")
def check_config(
    config: ConfigOpt = None,
    connect: Annotated[bool, typer.Option(help="also log in to IMAP and SMTP")] = False,
    self_test: Annotated[
        bool,
        typer.Option(
            "--self-test",
            help="with --connect: list the servers' capabilities, send a mail to a signed "
            "plus-address of the program, check it arrives in the watched folder, remove it",
        ),
    ] = False,
    wait: Annotated[float, typer.Option(help="seconds to wait for the self-test mail")] = 60.0,
) -> None:
    """Validate the configuration and render every template in every language."""
    from mailbot.app import build
    from mailbot.checks import (
        check_capacity,
        check_connections,
        check_templates,
        check_topics,
        participants_by_round,
    )

    s = _settings(config)
    deps = build(s)
    problems = check_templates(deps.renderer, s.program.languages)
    for p in problems:
        console.print(f"[red]template:[/red] {p}")
    for p in check_topics(s.program.topics, s.program.languages):
        problems.append(p)
        console.print(f"[red]topics:[/red] {p}")
    for w in check_capacity(s, participants_by_round(deps), datetime.now(UTC).date()):
        console.print(f"[yellow]sending caps:[/yellow] {w}")  # a warning: not a failure
    if (connect or self_test) and not problems:
        for p in asyncio.run(check_connections(s)):
            problems.append(p)
            console.print(f"[red]connection:[/red] {p}")
    if self_test and not problems:
        from mailbot.flows.self_test import self_test as run_self_test

        report = asyncio.run(run_self_test(deps, datetime.now(UTC), wait_seconds=wait))
        for line in report.lines:
            print(line)
        for p in report.problems:
            problems.append(p)
            console.print(f"[red]self-test:[/red] {p}")
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


@outbox_app.command("uncertain")
def outbox_uncertain(config: ConfigOpt = None) -> None:
    """List the mail a crash interrupted while it was being sent (never resent by itself)."""
    from rich.table import Table

    from mailbot.flows import outbox

    rows = outbox.uncertain(_deps(config))
    if not rows:
        print("no uncertain mail")
        return
    table = Table(title="Uncertain: check with the recipient, then `mailbot outbox resend KEY`")
    for col in ("key", "to", "template", "queued", "note"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r.key, ", ".join(r.to), r.template, r.created_at.isoformat(), r.last_error)
    Console().print(table)


@outbox_app.command("resend")
def outbox_resend(
    keys: Annotated[list[str], typer.Argument(help="outbox keys, as `outbox uncertain` lists")],
    config: ConfigOpt = None,
    now: Annotated[str | None, typer.Option(help="as of this instant (ISO-8601)")] = None,
) -> None:
    """Queue uncertain or failed mail again; the next delivery sends it."""
    from mailbot.flows import outbox

    done = outbox.resend(_deps(config), keys, _parse_now(now))
    for key, what in done.items():
        print(f"{key}: {what}")
    if not all(what.startswith("queued") for what in done.values()):
        raise typer.Exit(2)


@app.command()
def match(
    round_name: Annotated[str, typer.Option("--round", help="the round to match")],
    config: ConfigOpt = None,
    preview: Annotated[bool, typer.Option(help="print the proposal; change nothing")] = True,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="also write the CSV here")] = None,
    now: Annotated[str | None, typer.Option(help="as of this instant (ISO-8601)")] = None,
) -> None:
    """Preview the matching of a round: pairs, statistics and who is left out, and why."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table
    from sqlalchemy import select

    from mailbot.domain.model import ApplicationFields
    from mailbot.edges.tables import RoundRow
    from mailbot.flows import rounds
    from mailbot.flows.candidates import compute
    from mailbot.flows.proposal import payload, propose_round, statistics_of
    from mailbot.flows.proposal_csv import proposal_csv

    deps = _deps(config)
    instant = _parse_now(now)
    out = Console()
    with deps.db.transaction() as s:
        rounds.sync_rounds(s, deps)
        row = s.scalar(select(RoundRow).where(RoundRow.name == round_name))
        if row is None:
            known = ", ".join(r.name for r in rounds.rounds(s)) or "none"
            console.print(f"[red]no round {round_name!r}[/red] (rounds: {known})")
            raise typer.Exit(2)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("matching", total=1.0)

            def progress(stage: str, fraction: float) -> None:
                bar.update(task, description=f"matching: {stage}", completed=fraction)

            result, who, excluded = compute(s, deps, row, instant, progress)
        data = payload(result, excluded)
        stats = statistics_of(data, who)
        people = {pid: p for pid, (p, _) in who.items()} | {p.id: p for p, _ in excluded}
        apps = {pid: a for pid, (_, a) in who.items()}
        table = Table(title=f"Proposal for {round_name} (preview: nothing saved or sent)")
        for col in ("#", "partners", "countries", "score", "shared interests"):
            table.add_column(col)
        for n, p in enumerate(data["pairs"], 1):
            names = " & ".join(people[i].name for i in p["members"])
            countries = " / ".join(
                ApplicationFields.from_json(apps[i].fields).country for i in p["members"]
            )
            shared = sorted({x for r in p["reasons"] for x in r["shared_interests"]})
            table.add_row(str(n), names, countries, f"{p['score']:.2f}", ", ".join(shared)[:60])
        out.print(table)
        for k in (
            "applicants",
            "countries",
            "pairs",
            "trios",
            "left",
            "excluded",
            "score_total",
            "score_mean",
            "score_min",
            "score_max",
        ):
            out.print(f"{k:>12}: {stats[k]}")
        for x in data["left"]:
            out.print(f"left out: {people[x['id']].name} <{people[x['id']].email}>: {x['detail']}")
        for p, why in excluded:
            out.print(f"not in the pool: {p.name} <{p.email}>: {why}")
        if csv_file:
            csv_file.write_text(proposal_csv(data, people, apps), encoding="utf-8")
            out.print(f"CSV written to {csv_file}")
        if not preview:
            proposal = propose_round(s, deps, row, instant)
            out.print(f"proposal {proposal.id} stored and sent to the coordinators")


@round_app.command("list")
def round_list(config: ConfigOpt = None) -> None:
    """List the rounds with their dates and state."""
    from rich.table import Table

    from mailbot.flows import rounds

    deps = _deps(config)
    table = Table(title="Rounds")
    for col in ("name", "applications", "matching", "start", "end", "topics every", "state"):
        table.add_column(col)
    with deps.db.transaction() as s:
        rounds.sync_rounds(s, deps)
        for r in rounds.rounds(s):
            c = rounds.round_context(deps, r)
            if c is None:  # round_context answers None only when given no round
                raise RuntimeError(f"round {r.name!r}: no dates to list")
            table.add_row(
                r.name,
                f"{c['opens']} - {c['closes']}",
                c["matching"],
                c["start"],
                c["end"],
                f"{r.topic_every_days} days",
                r.state,
            )
    Console().print(table)


@round_app.command("create")
def round_create(
    name: Annotated[str, typer.Argument(help="e.g. 2027B")],
    applications_open: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    applications_close: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    start: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    matching_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: close)")] = None,
    end: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: 4 months on)")] = None,
    topic_every_days: int = 14,
    config: ConfigOpt = None,
) -> None:
    """Create a round in the database (rounds in the config file are created automatically)."""
    from sqlalchemy import select

    from mailbot.edges.tables import RoundRow
    from mailbot.flows import rounds
    from mailbot.settings import _rounds

    deps = _deps(config)
    item: dict[str, object] = {
        "name": name,
        "applications_open": applications_open,
        "applications_close": applications_close,
        "start": start,
        "topic_every_days": topic_every_days,
    }
    if matching_date:
        item["matching_date"] = matching_date
    if end:
        item["end"] = end
    try:
        [r] = _rounds([item])
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    with deps.db.transaction() as s:
        if s.scalar(select(RoundRow.id).where(RoundRow.name == name)) is not None:
            console.print(f"[red]a round named {name!r} exists already[/red]")
            raise typer.Exit(2)
        s.add(RoundRow(**rounds.round_row(deps, r), state="planned"))
    print(f"round {name} created")


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option(help="where the demo keeps its mailbox, database and mail")
    ] = Path("demo-out"),
) -> None:
    """Run the program on embedded defaults with simulated participants; print what happened."""
    from mailbot.demo.run import run_demo

    raise typer.Exit(asyncio.run(run_demo(out)))


@oauth_app.command("login")
def oauth_login(
    config: ConfigOpt = None,
    flow: Annotated[
        str | None, typer.Option(help="device | loopback (default: oauth.login_flow)")
    ] = None,
    user: Annotated[str | None, typer.Option(help="the mailbox (default: imap.username)")] = None,
    port: Annotated[int, typer.Option(help="loopback: local port of the redirect (0: any)")] = 0,
) -> None:
    """Sign in to the provider once; store the refresh token IMAP and SMTP log in with."""
    import time

    from mailbot.app import oauth_client, refresh_token_store
    from mailbot.edges.db import Database
    from mailbot.edges.oauth import OAuthTokenError, seed_digest
    from mailbot.edges.oauth_login import device_login, loopback_login

    s = _settings(config)
    o = s.oauth
    username = user or s.imap.username or s.smtp.username
    flow = flow or o.login_flow
    endpoint = o.device_authorization_endpoint if flow == "device" else o.authorization_endpoint
    missing = [
        key
        for key, value in (
            ("oauth.client_id", o.client_id),
            ("oauth.token_endpoint", o.token_endpoint),
            ("imap.username (or --user)", username),
            (f"the endpoint of the {flow} flow", endpoint),
        )
        if not value
    ]
    if flow not in ("device", "loopback") or missing:
        what = ", ".join(missing) if missing else f"--flow {flow}: expected device or loopback"
        console.print(f"[red]oauth login:[/red] not set: {what}")
        raise typer.Exit(2)
    client = oauth_client(s)

    def say(text: str) -> None:
        print(text, flush=True)

    try:
        if flow == "device":
            grant = asyncio.run(device_login(client, o.endpoint(endpoint), say))
        else:
            grant = asyncio.run(loopback_login(client, o.endpoint(endpoint), say, port=port))
    except OAuthTokenError as exc:
        console.print(f"[red]oauth login failed:[/red] {exc}")
        raise typer.Exit(1) from None
    db = Database(s.database.url)
    db.upgrade()
    assert grant.refresh_token  # the login flows insist on one
    refresh_token_store(s, db).save(username, grant.refresh_token, seed_digest(o.refresh_token))
    where = db.engine.url.render_as_string(hide_password=True)
    left = int(grant.expires_at - time.time())
    print(f"refresh token for {username} stored in {where} (access token good for {left} s)")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
