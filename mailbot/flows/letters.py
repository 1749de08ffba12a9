"""Mail to one participant: the context every template shares, their language, their signed
reply address, and the pair's tracking address — and mail to the coordinators, one copy each
(proposals, digests, final reports): written once, used by every flow."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from mailbot.domain import tokens
from mailbot.domain.model import Outgoing, Route
from mailbot.edges.tables import Person
from mailbot.flows.outbox import enqueue

if TYPE_CHECKING:
    from mailbot.deps import Deps


def program_context(deps: Deps) -> dict[str, str]:
    return {"name": deps.settings.program.name, "address": deps.settings.program.address}


def base_context(deps: Deps, person: Person) -> dict[str, Any]:
    return {
        "program": program_context(deps),
        "recipient_name": person.name or person.email,
        "names": {person.email: person.name},
        "person_id": person.id,
    }


def language(deps: Deps, person: Person) -> str:
    lang = person.language or "en"
    return lang if lang in deps.settings.program.languages else "en"


def reply_address(deps: Deps, person_id: int) -> str:
    s = deps.settings.program
    return tokens.tag_address(s.address, Route.REPLY, f"u{person_id}", s.secret)


def tracking_address(deps: Deps, pair_id: int) -> str:
    s = deps.settings.program
    return tokens.tag_address(s.address, Route.PAIR, str(pair_id), s.secret)


def notify(
    session: Session,
    deps: Deps,
    key: str,
    person: Person,
    template: str,
    extra: dict[str, Any],
    now: datetime,
    *,
    automatic_answer: bool = False,
    in_reply_to: str = "",
    reply_to: str = "",
    bulk: bool = False,
    not_before: datetime | None = None,
) -> bool:
    """One mail to one participant, in their language; replies go to their reply key unless
    `reply_to` says otherwise. False when the key was queued before."""
    return enqueue(
        session,
        deps,
        Outgoing(
            key=key,
            to=(person.email,),
            template=template,
            language=language(deps, person),
            context=base_context(deps, person) | extra,
            reply_to=reply_to or reply_address(deps, person.id),
            in_reply_to=in_reply_to,
            bulk=bulk,
            not_before=not_before,
        ),
        now,
        automatic_answer=automatic_answer,
    )


def chart_attachment(png: bytes) -> dict[str, str]:
    """The weekly active-pairs chart, shown inline by the HTML part (`cid:chart@mailbot`)."""
    return {
        "filename": "active-pairs.png",
        "content_type": "image/png",
        "base64": base64.b64encode(png).decode(),
        "cid": "chart@mailbot",
    }


def notify_coordinators(
    session: Session,
    deps: Deps,
    key: str,
    template: str,
    extra: dict[str, Any],
    now: datetime,
    *,
    reply_to: str = "",
) -> int:
    """One copy to each configured coordinator (key `{key}:{address}`), in English: the
    coordinators' mail is not translated. Returns how many were queued now."""
    context = {
        "program": program_context(deps),
        "recipient_name": "coordinators",
        "names": {},
        "person_id": 0,
    } | extra
    return sum(
        enqueue(
            session,
            deps,
            Outgoing(
                key=f"{key}:{coordinator}",
                to=(coordinator,),
                template=template,
                language="en",
                context=context,
                reply_to=reply_to,
            ),
            now,
        )
        for coordinator in deps.settings.program.coordinators
    )
