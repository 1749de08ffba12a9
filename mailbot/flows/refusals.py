"""What the outbox does with recipients the relay refused at RCPT time.

No report will ever come back for them, so the outbox decides here: a 5xx refusal is a
bounce, recorded and scored like one read from a DSN (flows.bouncing); a 4xx refusal
(greylisting, a full mailbox) means "later", so when the others took the mail those
recipients get it as a new outbox row of their own, keyed `{key}~retry~{n}` with its own
Message-ID and retry window. Nobody who already has the mail is sent it again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailbot.domain.model import Outgoing
from mailbot.edges.tables import Outbox
from mailbot.flows.bouncing import record_bounce

if TYPE_CHECKING:
    from mailbot.deps import Deps

_RETRY = "~retry~"
_STATUS = re.compile(r"\b[245]\.\d{1,3}\.\d{1,3}\b")


def split(refused: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(permanent, transient) refusals, by the reply code each begins with ("550 5.1.1 …")."""
    permanent = {a: e for a, e in refused.items() if e.startswith("5")}
    return permanent, {a: e for a, e in refused.items() if a not in permanent}


def status_of(reply: str) -> str:
    """The enhanced status of a reply ("5.1.1"), or its code when it gives none."""
    found = _STATUS.search(reply)
    return found.group(0) if found else reply[:3]


def retry_key(key: str) -> str:
    """`key~retry~1` for a first retry, `key~retry~2` for a retry of that, and so on."""
    base, _, n = key.partition(_RETRY)
    return f"{base}{_RETRY}{int(n) + 1 if n.isdigit() else 1}"


def record_bounces(
    session: Session, deps: Deps, row: Outbox, permanent: Mapping[str, str], now: datetime
) -> None:
    for address, reply in permanent.items():
        record_bounce(
            session,
            deps,
            address,
            permanent=True,
            status=status_of(reply),
            outbox_key=row.key,
            now=now,
        )


def retry(row: Outbox, addresses: Mapping[str, str], not_before: datetime) -> Outgoing:
    """The mail of `row` again, for `addresses` (some of its To and Cc) only."""
    to = tuple(a for a in row.to if a in addresses)
    cc = tuple(a for a in row.cc if a in addresses and a not in to)
    if not to:
        to, cc = cc, ()
    return Outgoing(
        key=retry_key(row.key),
        to=to,
        cc=cc,
        template=row.template,
        language=row.language,
        context=dict(row.context),
        reply_to=row.reply_to,
        in_reply_to=row.in_reply_to,
        bulk=row.bulk,
        not_before=not_before,
    )
