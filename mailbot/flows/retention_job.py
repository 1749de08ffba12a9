"""The daily retention pass: erase who is due, expunge old program mail, count what went.

Once a day (`domain.retention.retention_due`, the program's time zone), in this order:
1. people in no running or future round and inactive `privacy.retain_months` are erased as
   DELETE MY DATA erases (`flows.erasure.erase`, no mail to them); a data export's outbox
   context (a copy of everything held about someone) is emptied once it is sent; one
   `RetentionRun` row records the pass (committed: a crash after this skips the mail step for
   the day, it never erases twice);
2. the Processed and Quarantine folders lose the messages received before
   `domain.retention.mail_cutoff` (IMAP `UID SEARCH BEFORE` + expunge, `Mailbox.
   delete_older_than`) of `privacy.processed_mail_days`, and the partner-mail holding folder
   (when `privacy.partner_mail_days` > 0) those before the cutoff of that many days; with 0
   days a holding folder left from before (`Settings.lapsed_hold`) loses every message and
   is deleted, so no partner's mail stays (no such folder: nothing done); the counts are
   added to the pass's row, partner mail apart.
3. the erased people's messages leave the program folders (`flows.mailbox_erasure`).
`removal_counts` gives the digest what was removed since a date, as counts.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mailbot.domain.retention import (
    PersonFacts,
    RemovalCounts,
    due_for_erasure,
    mail_cutoff,
    months_before,
    retention_due,
    total,
)
from mailbot.edges.tables import (
    Application,
    CommandRow,
    InboundRow,
    MailboxErasure,
    Outbox,
    Pair,
    PairMember,
    Person,
    RetentionRun,
    RoundRow,
    SurveyAnswerRow,
)
from mailbot.flows.erasure import erase
from mailbot.flows.mailbox_erasure import erase_pending
from mailbot.flows.pairs import RUNNING

if TYPE_CHECKING:
    from mailbot.deps import Deps

log = logging.getLogger("mailbot.retention")
EXPORT_TEMPLATE = "data_export"  # its context (a copy of everything held) goes once sent


def _newest(into: dict[int, datetime], rows: Any) -> None:
    for person_id, at in rows:
        if (
            person_id is not None
            and at is not None
            and (person_id not in into or at > into[person_id])
        ):
            into[person_id] = at


def person_facts(session: Session) -> list[PersonFacts]:
    """Every person's retention facts, read with one query per source."""
    last: dict[int, datetime] = {}
    _newest(last, session.execute(select(Person.id, Person.created_at)))
    _newest(last, session.execute(select(Person.id, Person.updated_at)))
    for who, when in (
        (Application.person_id, Application.updated_at),
        (Application.person_id, Application.submitted_at),
        (PairMember.person_id, PairMember.last_wrote_at),
        (InboundRow.person_id, InboundRow.received_at),
        (CommandRow.person_id, CommandRow.created_at),
        (SurveyAnswerRow.person_id, SurveyAnswerRow.at),
    ):
        _newest(last, session.execute(select(who, func.max(when)).group_by(who)))
    for col in (Pair.created_at, Pair.ended_at):
        _newest(
            last,
            session.execute(
                select(PairMember.person_id, func.max(col))
                .join(Pair, Pair.id == PairMember.pair_id)
                .group_by(PairMember.person_id)
            ),
        )
    ends = {name: end for name, end in session.execute(select(RoundRow.name, RoundRow.ends_at))}
    rounds: dict[int, list[datetime | None]] = defaultdict(list)
    for pid, name in session.execute(select(Application.person_id, Application.round_name)):
        rounds[pid].append(ends.get(name))  # "" or not yet a round: the future
    running: set[int] = set()
    for pid, name, state in session.execute(
        select(PairMember.person_id, Pair.round_name, Pair.state).join(
            Pair, Pair.id == PairMember.pair_id
        )
    ):
        if name in ends:
            rounds[pid].append(ends[name])
        if state in RUNNING:
            running.add(pid)
    return [
        PersonFacts(
            person_id=pid,
            last_active=last[pid],
            round_ends=tuple(rounds.get(pid, ())),
            in_running_pair=pid in running,
        )
        for pid in session.scalars(select(Person.id))
        if pid in last
    ]


def _erase_due(session: Session, deps: Deps, now: datetime) -> int:
    months = deps.settings.privacy.retain_months
    # Only someone whose own row is older than the cutoff can have been inactive that long
    # (last_active is at least created_at and updated_at): most days nobody is, and the
    # full reading of every activity table is skipped.
    cutoff = months_before(now, months)
    old_enough = select(Person.id).where(Person.created_at <= cutoff, Person.updated_at <= cutoff)
    if session.scalar(old_enough.limit(1)) is None:
        return 0
    due = due_for_erasure(person_facts(session), now, months)
    for person_id in due:
        person = session.get(Person, person_id)
        if person is not None:
            erase(session, deps, person, now, f"retention:{person_id}")
    return len(due)


def _forget_sent_exports(session: Session) -> None:
    """A sent export keeps no copy of what it held (the row stays: that it was sent, when)."""
    session.execute(
        update(Outbox)
        .where(Outbox.status == "sent", Outbox.template == EXPORT_TEMPLATE)
        .values(context={})
    )


async def _expunge(deps: Deps, folder: str, days: int, now: datetime) -> int:
    cutoff = mail_cutoff(now, days, deps.settings.program.timezone)
    box = deps.mailbox(folder)
    await box.connect()
    try:
        return await box.delete_older_than(cutoff)
    finally:
        await box.close()


async def _empty_lapsed_hold(deps: Deps) -> int:
    """Expunge every message of the holding folder left from when partner mail was held, then
    delete the folder; how many went (0 without the folder). A crash between the two leaves
    an empty folder, deleted by the next pass."""
    name = deps.settings.lapsed_hold
    top = deps.mailbox()  # asks whether the folder is there, and deletes it
    await top.connect()
    try:
        if not await top.has_folder(name):
            return 0
        box = deps.mailbox(name)
        await box.connect()
        try:
            uids = await box.new_uids(0)
            await box.expunge(uids)
        finally:
            await box.close()
        await top.delete_folder(name)
    finally:
        await top.close()
    log.info("retention: %d held partner messages removed with the folder %s", len(uids), name)
    return len(uids)


async def retention_job(deps: Deps, now: datetime) -> str:
    """The daily retention pass (see the module docstring); "" when not due."""
    settings = deps.settings
    with deps.db.transaction() as s:
        last = s.scalar(select(func.max(RetentionRun.at)))
        if not retention_due(now, last, settings.program.timezone):
            return ""
        people = _erase_due(s, deps, now)
        _forget_sent_exports(s)
        run = RetentionRun(
            at=now, people=people, processed_mail=0, quarantined_mail=0, partner_mail=0
        )
        s.add(run)
        s.flush()
        run_id = run.id
    counts = {"partner_mail": 0}
    days = settings.privacy.processed_mail_days
    folders = [
        ("processed_mail", settings.imap.processed_folder, days),
        ("quarantined_mail", settings.imap.quarantine_folder, days),
    ]
    if settings.partner_hold:
        folders.append(("partner_mail", settings.partner_hold, settings.privacy.partner_mail_days))
    for name, folder, keep_days in folders:
        try:
            counts[name] = await _expunge(deps, folder, keep_days, now)
        except Exception as exc:  # the mailbox is tried again tomorrow; the day goes on
            log.warning("retention: expunging %s failed: %s", folder, exc)
            counts[name] = 0
    if settings.lapsed_hold:  # partner_mail_days is 0: nothing of a holding folder is kept
        try:
            counts["partner_mail"] = await _empty_lapsed_hold(deps)
        except Exception as exc:
            log.warning("retention: emptying %s failed: %s", settings.lapsed_hold, exc)
    with deps.db.transaction() as s:
        s.execute(update(RetentionRun).where(RetentionRun.id == run_id).values(**counts))
    if people:  # their messages leave the program folders now, not at the next tick
        await erase_pending(deps, now)
    done = RemovalCounts(
        people, counts["processed_mail"], counts["quarantined_mail"], counts["partner_mail"]
    )
    if not done.any:
        return ""
    held = (
        f", {done.partner_mail} held partner messages"
        if settings.partner_hold or done.partner_mail
        else ""
    )
    return (
        f"retention: {done.people} people erased, {done.processed_mail} handled and "
        f"{done.quarantined_mail} quarantined messages{held} removed"
    )


def removed_since(session: Session, since: datetime) -> RemovalCounts:
    """What the retention passes removed since `since` (the digest's week), as counts."""
    return total(
        RemovalCounts(r.people, r.processed_mail, r.quarantined_mail, r.partner_mail)
        for r in session.scalars(select(RetentionRun).where(RetentionRun.at >= since))
    )


def removal_counts(session: Session, since: datetime) -> dict[str, int]:
    """The digest's counts of what was removed since `since`: people erased by retention,
    program messages removed by age, partners' messages emptied from the holding folder by
    age, messages removed from the folders for DELETE MY DATA."""
    done = removed_since(session, since)
    erased_mail = session.scalar(
        select(func.coalesce(func.sum(MailboxErasure.removed), 0)).where(
            MailboxErasure.done_at >= since
        )
    )
    return {
        "erased_inactive": done.people,
        "expired_mail": done.processed_mail + done.quarantined_mail,
        "expired_partner_mail": done.partner_mail,
        "erased_mail": int(erased_mail or 0),
    }
