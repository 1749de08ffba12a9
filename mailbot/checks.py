"""`check-config`'s checks: every template renders in every language, the servers accept us,
and the sending caps can carry the busiest day of the configured rounds (a warning)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from mailbot.contexts.samples import COORDINATOR_ONLY, SAMPLES
from mailbot.deps import Deps
from mailbot.domain.send_caps import Caps, RoundLoad, daily_capacity, daily_load
from mailbot.edges.render import Renderer
from mailbot.settings import Settings


def check_templates(renderer: Renderer, languages: Sequence[str]) -> list[str]:
    problems: list[str] = []
    names = renderer.names()
    for name in sorted(set(SAMPLES) - set(names)):
        problems.append(f"{name}: no English template (templates/en/{name}/)")
    for name in names:
        contexts = SAMPLES.get(name)
        if contexts is None:
            problems.append(f"{name}: no sample context in mailbot/contexts/samples.py")
            continue
        for lang in ["en"] if name in COORDINATOR_ONLY else languages:
            for i, ctx in enumerate(contexts):
                try:
                    rendered = renderer.render(name, lang, ctx)
                except Exception as exc:
                    problems.append(f"{lang}/{name} (sample {i}): {type(exc).__name__}: {exc}")
                    continue
                if not rendered.subject.strip() or not rendered.text.strip():
                    problems.append(f"{lang}/{name} (sample {i}): empty subject or body")
    return problems


def check_topics(path: str, languages: Sequence[str]) -> list[str]:
    """The topics file parses and every topic has a title and prompt (English at least)."""
    from mailbot.flows.round_snapshot import topic_catalogue

    try:
        topics = topic_catalogue(path)
    except (OSError, KeyError, ValueError) as exc:
        return [f"topics file {path or 'config/topics.toml'}: {type(exc).__name__}: {exc}"]
    problems = []
    for t in topics:
        for lang in ("en", *languages):
            text = t.get(lang)
            if lang == "en" and not (text and text.get("title") and text.get("prompt")):
                problems.append(f"topic {t.get('slug')}: no English title and prompt")
            elif text is None and lang != "en":
                problems.append(f"topic {t.get('slug')}: no {lang} text (English will be sent)")
    return problems


def participants_by_round(deps: Deps) -> dict[str, int]:
    """Applications per round in the database ({} when there is no database yet)."""
    from sqlalchemy import func, inspect, select

    from mailbot.edges.tables import Application

    url = deps.db.engine.url
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        return {}  # not created yet: a check creates no database
    try:
        if not inspect(deps.db.engine).has_table("application"):
            return {}
        with deps.db.transaction() as s:
            query = (
                select(Application.round_name, func.count())
                .where(Application.status != "left")
                .group_by(Application.round_name)
            )
            return {str(name): int(n) for name, n in s.execute(query) if name}
    except SQLAlchemyError:
        return {}


def check_capacity(settings: Settings, participants: Mapping[str, int], today: date) -> list[str]:
    """Warnings (never problems) when the sending caps cannot carry the busiest day of the
    configured rounds not yet ended: `participants` per round, a round without any counted as
    the largest known one."""
    s = settings.smtp
    caps = Caps(s.max_per_minute or None, s.max_per_hour or None, s.max_per_day or None)
    capacity = daily_capacity(caps)
    known = max(participants.values(), default=0)
    if capacity is None or not known:
        return []
    loads = [
        RoundLoad(
            r.name,
            participants.get(r.name) or known,
            r.matching_date,
            r.start,
            r.end,
            r.topic_every_days,
        )
        for r in settings.rounds
        if r.end >= today
    ]
    load = daily_load(loads)
    if not load:
        return []
    day, need = max(load.items(), key=lambda item: (item[1], item[0]))
    if need <= capacity:
        return []
    sizes = ", ".join(f"{r.name}: {r.participants}" for r in loads)
    return [
        f"the busiest day of the configured rounds, {day.isoformat()}, needs about {need} "
        f"recipients (participants {sizes}; topics, introductions, check-ins and answers) but "
        f"the sending caps let {capacity} through a day (smtp.max_per_minute/hour/day, "
        f"{settings.provider} preset): that mail will take about {-(-need // capacity)} days "
        "to go out; answers still go first"
    ]


async def check_connections(settings: Settings) -> list[str]:
    """Log in to IMAP and SMTP (or open the local Maildir); a list of what failed."""
    from mailbot.app import build

    deps = build(settings)
    problems: list[str] = []
    box = deps.mailbox()
    try:
        await asyncio.wait_for(box.connect(), 30)
        await box.uidvalidity()
    except Exception as exc:
        problems.append(f"mailbox: {type(exc).__name__}: {exc}")
    finally:
        try:
            await box.close()
        except Exception as exc:  # a failed close after a failed login adds nothing
            del exc
    if settings.program.transport == "imap" and settings.smtp.auth == "oauth2":
        from mailbot.edges.smtp import SmtpSender

        sender = deps.sender()
        try:
            if isinstance(sender, SmtpSender):
                await sender.login()
        except Exception as exc:
            s = settings.smtp
            problems.append(f"smtp {s.host}:{s.port}: {type(exc).__name__}: {exc}")
        finally:
            await sender.close()
    elif settings.program.transport == "imap":
        import aiosmtplib

        s = settings.smtp
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.tls == "ssl",
            start_tls=s.tls == "starttls",
            cert_bundle=s.ca_file or None,
            timeout=30,
        )
        try:
            await client.connect()
            if s.username:
                await client.login(s.username, s.password)
            await client.quit()
        except Exception as exc:
            problems.append(f"smtp {s.host}:{s.port}: {type(exc).__name__}: {exc}")
    return problems
