"""Provider presets: what Microsoft 365, Google Workspace, Gmail or a generic host need set.

`provider = "microsoft365" | "google" | "gmail" | "generic"` in the configuration picks one of
these tables; each value is only a default, and any key set in the file or the environment
wins (settings.py applies them that way). Pure data, no I/O.

Sources (as of 2026): Microsoft's "Authenticate an IMAP, POP or SMTP connection using OAuth"
and Exchange Online limits (30 messages a minute, 10,000 recipients a day); Google's "IMAP,
POP and SMTP" and "Gmail sending limits" (about 500 recipients a day for a Gmail account,
2,000 for Workspace). Google's device flow does not allow the mail scope, hence "loopback".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["PROVIDERS", "SendingLimits", "preset", "sending_limits"]

PROVIDERS = ("generic", "microsoft365", "google", "gmail")

_MS_AUTHORITY = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0"
_GOOGLE_SERVERS: dict[str, dict[str, Any]] = {
    "imap": {"host": "imap.gmail.com", "port": 993, "tls": "ssl", "auth": "oauth2"},
    "smtp": {"host": "smtp.gmail.com", "port": 587, "tls": "starttls", "auth": "oauth2"},
    "oauth": {
        "token_endpoint": "https://oauth2.googleapis.com/token",
        "authorization_endpoint": "https://accounts.google.com/o/oauth2/v2/auth",
        "device_authorization_endpoint": "",
        "scopes": ("https://mail.google.com/",),
        "login_flow": "loopback",
        "mechanism": "xoauth2",
    },
}

# section -> key -> default, per provider ("{tenant}" in an endpoint is oauth.tenant)
_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "generic": {},
    "microsoft365": {
        "imap": {"host": "outlook.office365.com", "port": 993, "tls": "ssl", "auth": "oauth2"},
        "smtp": {"host": "smtp.office365.com", "port": 587, "tls": "starttls", "auth": "oauth2"},
        "oauth": {
            "token_endpoint": f"{_MS_AUTHORITY}/token",
            "device_authorization_endpoint": f"{_MS_AUTHORITY}/devicecode",
            "authorization_endpoint": f"{_MS_AUTHORITY}/authorize",
            "scopes": (
                "https://outlook.office.com/IMAP.AccessAsUser.All",
                "https://outlook.office.com/SMTP.Send",
                "offline_access",
            ),
            "login_flow": "device",
            "mechanism": "xoauth2",
        },
    },
    "google": _GOOGLE_SERVERS,
    "gmail": _GOOGLE_SERVERS,
}


@dataclass(frozen=True)
class SendingLimits:
    """What the provider lets one mailbox send (None: no known cap)."""

    per_minute: int | None = None
    per_hour: int | None = None
    per_day: int | None = None  # recipients


_LIMITS: dict[str, SendingLimits] = {
    "generic": SendingLimits(),
    "microsoft365": SendingLimits(per_minute=30, per_day=10_000),
    "google": SendingLimits(per_day=2_000),
    "gmail": SendingLimits(per_day=500),
}


def preset(provider: str) -> Mapping[str, Mapping[str, Any]]:
    """Section -> key -> default for `provider` (KeyError for an unknown one)."""
    return _PRESETS[provider]


def sending_limits(provider: str) -> SendingLimits:
    return _LIMITS[provider]
