"""Whether a participant's state-changing command may act at once, or must first be confirmed
by the person — and what a reply to a confirmation request says.

Decides:
- `verified`: the command may be trusted to come from the person when our receiving server's
  DMARC result for its From domain is not failing (`domain.auth.dmarc_refusal`), or when it
  carries a signed reply key of that person in To/Cc/Delivered-To (their own key `u<id>`, or
  the key `k<cmd>` of a request of theirs waiting for confirmation) — keys go only to their
  real address, so whoever holds one reads that mailbox;
- `mode`: none (act now), `Mode.VERIFY` (not verified: the real address is asked "we could
  not verify this request; reply to this message to confirm" — YES, or a reply with nothing
  of their own, confirms) or
  `Mode.YES` (irreversible: WITHDRAW and DELETE MY DATA always, REMATCH when read from a
  sentence — "reply YES to confirm");
- `settle`: what a reply to such a request does: confirm, cancel, or nothing (it is read as
  any other message).
A request waits `CONFIRM_DAYS`; after that, a reply to it confirms nothing.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection
from datetime import datetime, timedelta

from mailbot.domain.auth import dmarc_refusal
from mailbot.domain.model import CommandName, Inbound, Route, Verdict
from mailbot.domain.textutil import fold, is_attribution, is_quoted, lines_of, strip_tags

CONFIRM_DAYS = 14
KEY_PREFIX = "k"  # reply-key payload of a request waiting for confirmation: k<command id>
STATE_CHANGING = frozenset(
    {
        CommandName.WITHDRAW,
        CommandName.PAUSE,
        CommandName.RESUME,
        CommandName.REMATCH,
        CommandName.CONTINUE,
        CommandName.DELETE_MY_DATA,
    }
)
ALWAYS_CONFIRMED = frozenset({CommandName.WITHDRAW, CommandName.DELETE_MY_DATA})
CONFIRMED_FROM_A_SENTENCE = ALWAYS_CONFIRMED | {CommandName.REMATCH}
_ADDRESSED = ("to", "cc", "delivered_to")  # a key in an address, not only in a thread header
_KEY_RE = re.compile(rf"^{KEY_PREFIX}(\d{{1,18}})$")
_YES = ("yes", "oui", "si", "confirm", "i confirm", "je confirme", "confirmo", "ok", "d'accord")
_NO = ("no", "non", "cancel", "annuler", "cancelar", "stop")


class Mode(enum.StrEnum):
    """Why a command waits for the person: the words of the request differ."""

    YES = "yes"  # irreversible: "reply YES to confirm"
    VERIFY = "verify"  # could not verify the sender: "reply to this message to confirm"


class Settle(enum.StrEnum):
    CONFIRM = "confirm"
    CANCEL = "cancel"
    NOTHING = ""


def key_payload(command_id: int) -> str:
    """The reply-key payload of a request waiting for confirmation."""
    return f"{KEY_PREFIX}{command_id}"


def answered_requests(verdict: Verdict) -> list[int]:
    """Command ids whose confirmation key (k<id>) this message is addressed to."""
    out: list[int] = []
    for hit in verdict.routes:
        if hit.route is Route.REPLY and hit.via in _ADDRESSED:
            m = _KEY_RE.match(hit.token)
            if m and int(m.group(1)) not in out:
                out.append(int(m.group(1)))
    return out


def carries_own_key(verdict: Verdict, person_id: int) -> bool:
    """The message is addressed to the person's own signed reply key (u<id>)."""
    own = f"u{person_id}"
    return any(
        h.route is Route.REPLY and h.via in _ADDRESSED and h.token == own for h in verdict.routes
    )


def verified(
    msg: Inbound,
    verdict: Verdict,
    person_id: int,
    authserv_ids: Collection[str] = (),
    pending_ids: Collection[int] = (),
) -> tuple[bool, str]:
    """(trusted, why): DMARC not failing for the From domain, or a signed key of the person
    (their own, or that of one of their requests `pending_ids`)."""
    if carries_own_key(verdict, person_id):
        return True, "carries their signed reply key"
    if set(answered_requests(verdict)) & set(pending_ids):
        return True, "answers their confirmation request"
    refusal = dmarc_refusal(msg, authserv_ids)
    if refusal:
        return False, refusal
    return True, "DMARC not failing for the From domain"


def mode(name: CommandName, *, sentence: bool, trusted: bool) -> Mode | None:
    """How a participant's command waits for the person, or None when it acts now."""
    if name not in STATE_CHANGING:
        return None
    if not trusted:
        return Mode.VERIFY
    if name in ALWAYS_CONFIRMED or (sentence and name in CONFIRMED_FROM_A_SENTENCE):
        return Mode.YES
    return None


def reply_word(text: str) -> str:
    """ "yes" or "no" when the first line the person wrote says so, "other" when it says
    something else, "" when they wrote nothing of their own (only quoted text)."""
    for raw in lines_of(text):
        if is_quoted(raw) or is_attribution(raw):
            return ""
        line = fold(strip_tags(raw)).strip(" .,!;:-¡¿?")
        if not line:
            continue
        words = line.replace(",", " ").replace("!", " ").replace(".", " ").split()
        for options, said in ((_YES, "yes"), (_NO, "no")):
            for option in options:
                n = len(option.split())
                if words[:n] == option.split() and len(words) <= n + 6:
                    return said
        return "other"
    return ""


def settle(waiting: Mode, pending: CommandName, said: CommandName | None, text: str = "") -> Settle:
    """What a reply to a request waiting in `waiting` mode does. `said` is the command the reply
    was read as (None: no command), `text` its body when it has none."""
    if said is CommandName.NO:
        return Settle.CANCEL
    if said is CommandName.YES or said is pending:
        return Settle.CONFIRM
    if said is not None:
        return Settle.NOTHING  # another command: it is read as itself
    word = reply_word(text)
    if word == "no":
        return Settle.CANCEL
    if word == "yes" or (word == "" and waiting is Mode.VERIFY):
        return Settle.CONFIRM
    # Other words are read as any message is (a question goes to the coordinators): "I never
    # asked for this!" must not confirm what someone else sent in their name.
    return Settle.NOTHING


def expired(asked_at: datetime, now: datetime) -> bool:
    return now - asked_at > timedelta(days=CONFIRM_DAYS)
