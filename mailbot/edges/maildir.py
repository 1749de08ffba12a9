"""Local-disk stand-ins for the mail servers, for the demo and quick local runs.

`MaildirMailbox` reads a Maildir as if it were the program's IMAP folder (stable integer UIDs
kept in a `.uidlist` file, like Dovecot's); `EmlDirSender` writes each outgoing mail as an
`.eml` file under `<dir>/<recipient>/`, which any mail client opens. Thin: no decisions.
"""

from __future__ import annotations

import asyncio
import json
import mailbox
import re
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from mailbot.domain.model import WireMessage
from mailbot.edges.ports import Fetched, SendResult


class MaildirMailbox:
    def __init__(
        self, root: Path | str, max_message_bytes: int = 10_000_000, folder: str | None = None
    ) -> None:
        self.root = Path(root)
        self.folder = None if folder in (None, "INBOX") else folder
        self.max_message_bytes = max_message_bytes
        self._top: mailbox.Maildir | None = None
        self._box: mailbox.Maildir | None = None

    @property
    def box(self) -> mailbox.Maildir:
        if self._box is None:
            raise RuntimeError("MaildirMailbox used before connect()")
        return self._box

    async def connect(self) -> None:
        self.root.parent.mkdir(parents=True, exist_ok=True)
        self._top = mailbox.Maildir(self.root, create=True)
        for name in ("Processed", "Quarantine"):
            if name not in self._top.list_folders():
                self._top.add_folder(name)
        self._box = self._top.get_folder(self.folder) if self.folder else self._top

    def _folder(self, name: str) -> mailbox.Maildir:
        if self._top is None:
            raise RuntimeError("MaildirMailbox used before connect()")
        return self._top if name == "INBOX" else self._top.get_folder(name)

    @property
    def _state_dir(self) -> Path:
        return self.root / f".{self.folder}" if self.folder else self.root

    async def close(self) -> None:
        self._box = self._top = None

    async def __aenter__(self) -> MaildirMailbox:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _uidlist_path(self) -> Path:
        return self._state_dir / ".uidlist.json"

    def _uidlist(self) -> dict[str, int]:
        try:
            return json.loads(self._uidlist_path().read_text())
        except FileNotFoundError:
            return {}

    def _assign(self) -> dict[int, str]:
        """Give every message in the Maildir a stable UID; return uid -> key."""
        known = self._uidlist()
        keys = sorted(self.box.keys())  # Maildir names start with the delivery time
        next_uid = max(known.values(), default=0) + 1
        changed = False
        for key in keys:
            if key not in known:
                known[key] = next_uid
                next_uid += 1
                changed = True
        present = set(keys)
        if changed or set(known) - present:
            kept = {k: v for k, v in known.items() if k in present}
            kept["__next__"] = next_uid
            tmp = self._uidlist_path().with_suffix(".tmp")
            tmp.write_text(json.dumps(kept))
            tmp.replace(self._uidlist_path())
            known = kept
        return {v: k for k, v in known.items() if k != "__next__" and k in present}

    async def uidvalidity(self) -> int:
        return 1

    async def new_uids(self, after_uid: int) -> list[int]:
        self._by_uid = self._assign()
        return sorted(uid for uid in self._by_uid if uid > after_uid)

    def _known(self, uids: Sequence[int]) -> dict[int, str]:
        """uid -> key from the last listing; list again only when a uid is not in it."""
        cached = getattr(self, "_by_uid", None)
        if cached is None or any(u not in cached for u in uids):
            cached = self._by_uid = self._assign()
        return cached

    async def fetch(self, uids: Sequence[int]) -> list[Fetched]:
        by_uid = self._known(uids)
        out: list[Fetched] = []
        for uid in uids:
            key = by_uid.get(uid)
            if key is None:
                continue
            raw = self.box.get_bytes(key)
            if len(raw) > self.max_message_bytes:
                head = (
                    raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
                )
                out.append(Fetched(uid=uid, size=len(raw), raw=head + b"\r\n\r\n", truncated=True))
            else:
                out.append(Fetched(uid=uid, size=len(raw), raw=raw, truncated=False))
        return out

    async def move(self, uids: Sequence[int], folder: str) -> None:
        by_uid = self._known(uids)
        target = self._folder(folder)
        for uid in uids:
            key = by_uid.pop(uid, None)
            if key is None:
                continue
            target.add(self.box.get_bytes(key))
            self.box.remove(key)

    async def append(self, raw: bytes, folder: str = "INBOX", flags: str = "") -> None:
        self._folder(folder).add(raw)

    async def wait_for_new(self, timeout: float) -> bool:
        await asyncio.sleep(timeout)
        return False

    def count(self, folder: str = "INBOX") -> int:
        return len(self._folder(folder))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._+-]", "_", name)[:120] or "_"


class EmlDirSender:
    """Writes each message to `<root>/<recipient>/<NNNN>-<subject>.eml` instead of sending."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._next: dict[Path, int] = {}  # per recipient folder: the next file number

    def _number(self, folder: Path) -> int:
        """1, 2, … per folder; the folder is listed once, the first time it is written to."""
        if folder not in self._next:
            folder.mkdir(parents=True, exist_ok=True)
            self._next[folder] = len(list(folder.glob("*.eml"))) + 1
        n = self._next[folder]
        self._next[folder] = n + 1
        return n

    async def send(
        self,
        message: EmailMessage | WireMessage,
        *,
        envelope_from: str,
        recipients: Sequence[str],
    ) -> SendResult:
        if isinstance(message, WireMessage):
            data, subject = message.data, message.subject
        else:
            data, subject = message.as_bytes(policy=SMTP), str(message.get("Subject", ""))
        subject = _safe(subject.replace(" ", "-"))[:60]
        for rcpt in recipients:
            folder = self.root / _safe(rcpt.lower())
            path = folder / f"{self._number(folder):04d}-{subject}.eml"
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return SendResult(ok=True, permanent=False, code=250, detail="written", refused={})

    async def close(self) -> None:
        return None
