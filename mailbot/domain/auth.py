"""Whether a coordinator's reply may act: right sender, right signed key, and DMARC not failing
for its From domain at our own receiving server.

DMARC is read only from Authentication-Results fields (RFC 8601) our receiving server wrote:
those whose authserv-id is one of `authserv_ids` (the setting `imap.authserv_ids`). With none
configured, only the topmost field counts (the last hop adds its own on top; but a server that
adds none leaves the sender's own there, so configure it). A result counts only for the From
domain (`header.from`); a result our server gave for another domain means it read another From
than `mail.parse` did, and that is refused as a failure is.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from mailbot.domain.model import Inbound, Route, Verdict

OTHER_DOMAIN = "other-domain"  # our server's DMARC result was for another From domain
_REFUSED = frozenset({"fail", "permerror", OTHER_DOMAIN})
MAX_FIELD_CHARS = 8_000  # of one Authentication-Results field read
_PAIR = re.compile(r"([A-Za-z0-9._/-]+)\s*=\s*(\"(?:[^\"\\]|\\.)*\"|[^\s\"]+)")

ResInfo = tuple[str, str, dict[str, str]]  # (method, result, {"header.from": ..., ...})


def _without_comments(value: str) -> list[str]:
    """The field's text without (nested) comments, split at the `;` outside quoted strings."""
    segments: list[str] = []
    current: list[str] = []
    depth = 0
    quoted = escaped = False
    for ch in value[:MAX_FIELD_CHARS]:
        if escaped:
            escaped = False
            if not depth:
                current.append(ch)
            continue
        if ch == "\\" and (quoted or depth):
            escaped = True
            if not depth:
                current.append(ch)
        elif quoted:
            current.append(ch)
            quoted = ch != '"'
        elif ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif depth:
            continue
        elif ch == '"':
            quoted = True
            current.append(ch)
        elif ch == ";":
            segments.append("".join(current))
            current = []
        else:
            current.append(ch)
    segments.append("".join(current))
    return segments


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def read_authentication_results(value: str) -> tuple[str, list[ResInfo]]:
    """One Authentication-Results value → (authserv-id, [(method, result, properties)])."""
    segments = _without_comments(value)
    words = segments[0].split()
    authserv_id = _unquote(words[0]).lower() if words else ""
    results: list[ResInfo] = []
    for segment in segments[1:]:
        pairs = _PAIR.findall(segment)
        if not pairs:
            continue  # "none", or junk
        method, result = pairs[0]
        props = {k.lower(): _unquote(v) for k, v in pairs[1:] if "." in k}
        results.append((method.split("/")[0].lower(), _unquote(result).lower(), props))
    return authserv_id, results


def _domain(value: str) -> str:
    domain = value.strip().rpartition("@")[2].strip().rstrip(".").lower()
    try:
        return domain.encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return domain


def dmarc_result(msg: Inbound, authserv_ids: Collection[str] = ()) -> str:
    """The DMARC result our receiving server recorded for the From domain ("pass", "fail",
    "none", ...); OTHER_DOMAIN when it recorded one only for another domain; "" when none."""
    fields = msg.headers.get("authentication-results", ())
    ids = {a.strip().lower() for a in authserv_ids if a.strip()}
    from_domain = _domain(msg.from_addr) if "@" in msg.from_addr else ""
    ours: list[str] = []
    other: list[str] = []
    for index, field in enumerate(fields):
        if not ids and index > 0:
            break
        authserv_id, results = read_authentication_results(field)
        if ids and authserv_id not in ids:
            continue  # written by someone else: the sender, or a server on the way
        for method, result, props in results:
            if method != "dmarc":
                continue
            header_from = props.get("header.from", "")
            if not header_from or (from_domain and _domain(header_from) == from_domain):
                ours.append(result)
            else:
                other.append(result)
    for result in ours:
        if result in _REFUSED:
            return result
    if ours:
        return ours[0]
    return OTHER_DOMAIN if other else ""


def dmarc_refusal(msg: Inbound, authserv_ids: Collection[str] = ()) -> str:
    """Why DMARC at our receiving server refuses the From of `msg`, or "" when it does not."""
    result = dmarc_result(msg, authserv_ids)
    if result == OTHER_DOMAIN:
        return (
            f"DMARC was evaluated for another From domain than {msg.from_addr}'s "
            "(Authentication-Results)"
        )
    if result in _REFUSED:
        return f"DMARC {result} for {msg.from_addr} (Authentication-Results)"
    return ""


def coordinator_may_act(
    msg: Inbound,
    verdict: Verdict,
    coordinators: frozenset[str],
    accepted_tokens: frozenset[str],
    authserv_ids: Collection[str] = (),
) -> tuple[bool, str]:
    """(allowed, why). `accepted_tokens` are the reply-key payloads or thread digests that
    identify what is being answered (e.g. {"m12", <digest of the proposal mail>});
    `authserv_ids` the setting `imap.authserv_ids`."""
    if msg.from_addr not in coordinators:
        return False, f"{msg.from_addr or 'an unknown sender'} is not a coordinator"
    refusal = dmarc_refusal(msg, authserv_ids)
    if refusal:
        return False, refusal
    tokens = {r.token for r in verdict.routes if r.route is Route.REPLY}
    if not tokens & accepted_tokens:
        return False, "the reply does not carry the signed key of the mail it answers"
    result = dmarc_result(msg, authserv_ids)
    return True, "coordinator, signed key present, DMARC " + (result or "not reported")
