"""Keys every sample template context shares (see mailbot/samples.py)."""

from __future__ import annotations

from typing import Any

PROGRAM = {"name": "International Librarians Network", "address": "coordinator@example.org"}
BASE: dict[str, Any] = {
    "program": PROGRAM,
    "recipient_name": "Amaia Etxeberria",
    "names": {"amaia@example.net": "Amaia Etxeberria"},
    "person_id": 1,
}

__all__ = ["BASE", "PROGRAM"]
