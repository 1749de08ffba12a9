"""Whether a coordinator's reply may act: right sender, right signed key, DMARC not failing.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import re

from mailbot.domain.model import Inbound, Route, Verdict

_DMARC_RE = re.compile(r"\bdmarc\s*=\s*([a-z]+)", re.IGNORECASE)


def dmarc_result(msg: Inbound) -> str:
    """DMARC result our receiving server recorded (topmost Authentication-Results), or ""."""
    for header in msg.headers.get("authentication-results", ())[:1]:
        m = _DMARC_RE.search(header)
        if m:
            return m.group(1).lower()
    return ""


def coordinator_may_act(
    msg: Inbound, verdict: Verdict, coordinators: frozenset[str], accepted_tokens: frozenset[str]
) -> tuple[bool, str]:
    """(allowed, why). `accepted_tokens` are the reply-key payloads or thread digests that
    identify what is being answered (e.g. {"m12", <digest of the proposal mail>})."""
    if msg.from_addr not in coordinators:
        return False, f"{msg.from_addr or 'an unknown sender'} is not a coordinator"
    result = dmarc_result(msg)
    if result in ("fail", "permerror"):
        return False, f"DMARC {result} for {msg.from_addr} (Authentication-Results)"
    tokens = {r.token for r in verdict.routes if r.route is Route.REPLY}
    if not tokens & accepted_tokens:
        return False, "the reply does not carry the signed key of the mail it answers"
    return True, "coordinator, signed key present, DMARC " + (result or "not reported")
