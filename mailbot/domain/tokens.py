"""Signed plus-addresses and Message-IDs: what mailbot hands out so replies route back.

A tag is `<route>-<payload>-<sig>` in the local part of the program address
(`coordinator+p-12-k3j9x2q8ab@example.org`), where `sig` is a truncated HMAC of route and
payload under the program secret, so tags cannot be guessed or altered. Our Message-IDs
are `<mb.<digest>.<sig>@domain>` for the same reason: a reply's In-Reply-To can be
recognised as ours without a database look-up.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re

from mailbot.domain.model import Route

SIG_LEN = 10
_PAYLOAD_RE = re.compile(r"^[a-z0-9]+$")
_OUR_MID_RE = re.compile(rf"^mb\.([0-9a-f]{{24}})\.([a-z2-7]{{{SIG_LEN}}})@")


@functools.lru_cache(maxsize=4096)  # intake checks each recipient's tag a few times a message
def _sig(secret: str, text: str) -> str:
    mac = hmac.digest(secret.encode(), text.encode(), "sha256")
    return base64.b32encode(mac[:10]).decode().lower()[:SIG_LEN]  # 10 bytes: 16 characters


def split_address(address: str) -> tuple[str, str]:
    local, _, domain = address.rpartition("@")
    return local, domain.lower()


def tag_address(program_address: str, route: Route, payload: str, secret: str) -> str:
    """The program address with a signed plus-tag, e.g. for a pair's tracking address."""
    payload = payload.lower()
    if not _PAYLOAD_RE.match(payload):
        raise ValueError(f"tag payload must be [a-z0-9]+, got {payload!r}")
    local, domain = split_address(program_address)
    base = local.split("+", 1)[0]
    sig = _sig(secret, f"{route.value}-{payload}")
    return f"{base}+{route.value}-{payload}-{sig}@{domain}"


def read_tag(address: str, program_address: str, secret: str) -> tuple[Route, str] | None:
    """(route, payload) when `address` is the program address with a valid signed tag."""
    local, domain = split_address(address.lower())
    plocal, pdomain = split_address(program_address.lower())
    base, plus, tag = local.partition("+")
    if not plus or domain != pdomain or base != plocal.split("+", 1)[0]:
        return None
    parts = tag.split("-")
    if len(parts) != 3:
        return None
    route_s, payload, sig = parts
    try:
        route = Route(route_s)
    except ValueError:
        return None
    if not hmac.compare_digest(sig.encode(), _sig(secret, f"{route.value}-{payload}").encode()):
        return None
    return route, payload


def is_program_address(address: str, program_address: str) -> bool:
    """True for the program address itself or any plus-variant of it (signed or not)."""
    local, domain = split_address(address.lower())
    plocal, pdomain = split_address(program_address.lower())
    return domain == pdomain and local.split("+", 1)[0] == plocal.split("+", 1)[0]


def message_id_for(key: str, domain: str, secret: str) -> str:
    """A stable Message-ID (without <>) derived from an outbox idempotency key."""
    digest = key_digest(key)
    return f"mb.{digest}.{_sig(secret, digest)}@{domain}"


def is_our_message_id(message_id: str, secret: str) -> str | None:
    """The digest part when `message_id` was made by `message_id_for`, else None."""
    mid = message_id.strip().strip("<>").lower()
    m = _OUR_MID_RE.match(mid)
    if not m:
        return None
    digest, sig = m.groups()
    return digest if hmac.compare_digest(sig.encode(), _sig(secret, digest).encode()) else None


def key_digest(key: str) -> str:
    """The digest `message_id_for` embeds, for looking an outbox row up by a reply."""
    return hashlib.sha256(key.encode()).hexdigest()[:24]
