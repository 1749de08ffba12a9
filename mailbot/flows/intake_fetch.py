"""Intake's reading of one fetch batch: header blocks first, bodies only for mail that needs
them.

Every message's header block and size are fetched (`Mailbox.fetch_headers`) and parsed; what
`domain.partner_mail` recognises as partner conversation is handled from those headers and its
body is never fetched. The rest (applications, commands, bounces, questions, anything not
recognised) is fetched whole, in one more command, parsed, and classified ahead
(`domain.classify.classify_ahead`: a verdict for a stranger's and for a known sender's mail,
so that handling only picks one once the database has said who the sender is). Reading needs
nothing from the database, which is what lets `flows.intake_reader` do it in a second process.
Parsing and classifying run under the per-message time budget: a message past it is not read
again but quarantined.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from mailbot.domain.classify import Ahead, ClassifyContext, classify_ahead
from mailbot.domain.model import Inbound
from mailbot.domain.partner_mail import may_be_partner_mail, partner_verdict
from mailbot.flows.inbound_rows import source_key
from mailbot.flows.time_budget import OverBudget, budget, handler_held
from mailbot.mail.header_block import read_header_block, read_plain_message
from mailbot.mail.parse import parse_message

if TYPE_CHECKING:
    from mailbot.deps import Deps
    from mailbot.edges.ports import Fetched, Mailbox


@dataclass
class Batch:
    """One fetch batch, in UID order: partner mail as header blocks, the rest whole."""

    fetched: list[Fetched]
    msgs: list[Inbound]
    keys: list[str]
    over: dict[str, OverBudget]  # source key -> the step that ran past the budget
    # source key -> its verdicts, read ahead (partner mail's from its headers): not classified
    # again unless its Message-ID turns out to be a duplicate
    verdicts: dict[str, Ahead]


def triage_context(deps: Deps) -> ClassifyContext:
    """What recognising partner mail from headers needs (nothing from the database)."""
    program = deps.settings.program
    return ClassifyContext(
        program_address=program.address,
        secret=program.secret,
        own_addresses=frozenset({program.address}),
        coordinators=frozenset(program.coordinators),
    )


async def read_batch(
    deps: Deps, box: Mailbox, uids: list[int], folder: str, uidvalidity: int
) -> Batch:
    """Fetch and parse the messages `uids`: header blocks of all, bodies of those that need
    them (see the module docstring)."""
    seconds = deps.settings.imap.message_budget_seconds
    ctx = triage_context(deps)
    over: dict[str, OverBudget] = {}
    heads = await box.fetch_headers(uids)
    kept: dict[int, tuple[Fetched, Inbound]] = {}
    sizes: dict[int, int] = {}
    verdicts: dict[str, Ahead] = {}
    with handler_held():
        _triage(heads, folder, uidvalidity, seconds, ctx, over, kept, sizes, verdicts)
    wholes = await box.fetch(list(sizes), sizes)
    with handler_held():
        for whole in wholes:
            key = source_key(folder, uidvalidity, whole.uid)
            msg = parse(whole.raw, key, seconds, over)
            kept[whole.uid] = (whole, msg)
            if key not in over and not whole.truncated:
                ahead = _judged(classify_ahead, msg, ctx, key, seconds, over)
                if ahead is not None:
                    verdicts[key] = ahead
    ordered = [kept[u] for u in uids if u in kept]
    return Batch(
        fetched=[f for f, _m in ordered],
        msgs=[m for _f, m in ordered],
        keys=[source_key(folder, uidvalidity, f.uid) for f, _m in ordered],
        over=over,
        verdicts=verdicts,
    )


def _triage(
    heads: list[Fetched],
    folder: str,
    uidvalidity: int,
    seconds: float,
    ctx: ClassifyContext,
    over: dict[str, OverBudget],
    kept: dict[int, tuple[Fetched, Inbound]],
    sizes: dict[int, int],
    verdicts: dict[str, Ahead],
) -> None:
    """Partner mail recognised from its header block (into `kept`, `verdicts`); the rest
    noted in `sizes`, to be fetched whole."""
    for head in heads:
        if not may_be_partner_mail(head.raw):  # needs its body: parsed once, whole
            sizes[head.uid] = head.size
            continue
        key = source_key(folder, uidvalidity, head.uid)
        # The whole message's size, not the header block's, is what the row records.
        msg = parse(head.raw, key, seconds, over, header_block=True, size=head.size)
        verdict = None if key in over else _judged(partner_verdict, msg, ctx, key, seconds, over)
        if key in over or verdict is not None:
            kept[head.uid] = (head, msg)
            if verdict is not None:
                verdicts[key] = Ahead(verdict, verdict)
        else:
            sizes[head.uid] = head.size


_T = TypeVar("_T")


def _judged(
    judge: Callable[[Inbound, ClassifyContext], _T],
    msg: Inbound,
    ctx: ClassifyContext,
    key: str,
    seconds: float,
    over: dict[str, OverBudget],
) -> _T | None:
    """`judge(msg, ctx)` within the budget; past it, noted in `over` (quarantined, not read
    or classified again) and None."""
    try:
        with budget(seconds, "classifying"):
            return judge(msg, ctx)
    except OverBudget as exc:
        over[key] = exc
        return None


def parse(
    raw: bytes,
    key: str,
    seconds: float,
    over: dict[str, OverBudget],
    header_block: bool = False,
    size: int | None = None,
) -> Inbound:
    """`raw` parsed within the budget (a plain header block, or a plain whole message,
    without the email package: `mail.header_block`); past it, noted in `over` and read as
    nothing but its size and digest (the digest keeps it apart from every other message).
    `size`: the whole message's, when `raw` is its header block."""
    try:
        with budget(seconds, "parsing"):
            fast = read_header_block(raw, size) if header_block else read_plain_message(raw)
            msg = fast or parse_message(raw)
    except OverBudget as exc:
        over[key] = exc
        digest = hashlib.sha256(raw).hexdigest()
        msg = dataclasses.replace(parse_message(b""), raw_sha256=digest, size=len(raw))
    if size is not None and msg.size != size:
        msg = dataclasses.replace(msg, size=size)
    return msg


__all__ = ["Batch", "parse", "read_batch", "triage_context"]
