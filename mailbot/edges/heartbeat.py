"""Where the daemon's heartbeat is kept: a small JSON file beside its single-instance lock.

A file, not a table: the container's HEALTHCHECK must answer even when the database is the
thing that is down. Written atomically (a temporary file renamed over the old one).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path

from mailbot.domain.liveness import Heartbeat


def state_file(database_url: str, suffix: str) -> Path:
    """`/tmp/mailbot-<hash of the database URL>.<suffix>` (or under MAILBOT_LOCK_DIR)."""
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return Path(os.environ.get("MAILBOT_LOCK_DIR", "/tmp")) / f"mailbot-{digest}.{suffix}"


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def read(path: Path) -> Heartbeat | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return Heartbeat(
        last_ok_at=_at(data.get("last_ok_at")),
        failures_in_row=int(data.get("failures_in_row", 0)),
        last_error=str(data.get("last_error", "")),
        last_failure_at=_at(data.get("last_failure_at")),
    )


def write(path: Path, hb: Heartbeat) -> None:
    data = {
        "last_ok_at": hb.last_ok_at.isoformat() if hb.last_ok_at else None,
        "failures_in_row": hb.failures_in_row,
        "last_error": hb.last_error,
        "last_failure_at": hb.last_failure_at.isoformat() if hb.last_failure_at else None,
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)
