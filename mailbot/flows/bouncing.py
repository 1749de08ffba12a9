"""Record that mail to an address failed, and move that address on the bounce ladder.

The one way a failure is counted, whoever noticed it: intake reading a DSN or a plain-text
report, or the outbox hearing a recipient refused at RCPT time (no report comes for those).
Runs inside the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mailbot.domain.answers import bounce_score
from mailbot.edges.tables import BounceEvent, Person

if TYPE_CHECKING:
    from mailbot.deps import Deps

_PERSON_BY_EMAIL = select(Person).where(Person.email == bindparam("email"))  # built once


def record_bounce(
    session: Session,
    deps: Deps,
    address: str,
    *,
    permanent: bool,
    status: str,
    outbox_key: str,
    now: datetime,
) -> None:
    """A BounceEvent for `address`, and its person's score (at most one step a day)."""
    session.add(
        BounceEvent(
            address=address, permanent=permanent, status=status, outbox_key=outbox_key, at=now
        )
    )
    person = session.scalar(_PERSON_BY_EMAIL, {"email": address})
    if person is None:
        return
    ladder = deps.settings.ladder
    person.bounce_score, person.bounce_scored_on = bounce_score(
        person.bounce_score, person.bounce_scored_on, permanent, now, ladder.bounce_forget_days
    )
    # The partners hear it from the ladder (domain.ladder.bounce_notices) in its next run.
    person.bouncing = person.bounce_score >= ladder.bounce_threshold
    person.updated_at = now
