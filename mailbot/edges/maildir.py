"""Local-disk stand-ins for the mail servers, for the demo and quick local runs.

`MaildirMailbox` reads a Maildir as if it were the program's IMAP folder (stable integer UIDs
kept in a `.uidlist` file, like Dovecot's); `EmlDirSender` writes each outgoing mail as an
`.eml` file under `<dir>/<recipient>/`, which any mail client opens. Thin: no decisions.

Moving and appending are renames within one file system, without an fsync per message (which
Python's `mailbox.add` does, and which cost more than the rest of filing): a process that dies
mid-move leaves each message whole in one folder or the other, as IMAP's MOVE does. A machine
that loses power may forget a rename and show a filed message in the inbox again; intake
recognises what it has already recorded. These are the demo's and tests' transport: the
daemon's mail is on IMAP, whose server keeps it durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import mailbox
import os
import re
import shutil
import socket
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import BinaryIO

from mailbot.domain.model import WireMessage
from mailbot.edges.ports import Fetched, SendResult


class MaildirMailbox:
    def __init__(
        self,
        root: Path | str,
        max_message_bytes: int = 10_000_000,
        folder: str | None = None,
        folders: Sequence[str] = ("Processed", "Quarantine"),
    ) -> None:
        self.root = Path(root)
        self.folder = None if folder in (None, "INBOX") else folder
        self.folders = tuple(f for f in folders if f)  # made on connect, as the IMAP edge does
        self.max_message_bytes = max_message_bytes
        self._top: mailbox.Maildir | None = None
        self._box: mailbox.Maildir | None = None
        self._paths: dict[str, Path] = {}  # key -> file, from the last listing

    @property
    def box(self) -> mailbox.Maildir:
        if self._box is None:
            raise RuntimeError("MaildirMailbox used before connect()")
        return self._box

    async def connect(self) -> None:
        self.root.parent.mkdir(parents=True, exist_ok=True)
        self._top = mailbox.Maildir(self.root, create=True)
        for name in self.folders:
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

    def capabilities(self) -> frozenset[str]:
        return frozenset()  # no server

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

    def _dir(self, name: str) -> Path:
        """The Maildir directory of folder `name` (as `mailbox.Maildir.get_folder` names it)."""
        if name != "INBOX" and not (self.root / f".{name}").is_dir():
            raise mailbox.NoSuchMailboxError(name)
        return self.root if name == "INBOX" else self.root / f".{name}"

    def _list(self) -> dict[str, Path]:
        """key -> file of every message in the folder (`new/` and `cur/`; the key is the file
        name before its `:2,` flags), as `mailbox.Maildir` lists them."""
        paths: dict[str, Path] = {}
        for sub in ("new", "cur"):
            with os.scandir(self._state_dir / sub) as entries:
                for entry in entries:
                    if not entry.is_dir():
                        paths[entry.name.split(":", 1)[0]] = Path(entry.path)
        return paths

    def _assign(self) -> dict[int, str]:
        """Give every message in the Maildir a stable UID; return uid -> key."""
        known = self._uidlist()
        self._paths = self._list()
        keys = sorted(self._paths)  # Maildir names start with the delivery time
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
            # Named per process: another connection (intake's reader children) may be
            # listing the same folder at this moment.
            tmp = self._uidlist_path().with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(kept))
            tmp.replace(self._uidlist_path())
            known = kept
        return {v: k for k, v in known.items() if k != "__next__" and k in present}

    def _listed(self) -> dict[int, str]:
        """uid -> key of the messages present that already have a UID, read only: fetching,
        moving and expunging by UID use UIDs a listing for new mail gave, and a connection that
        wrote the list here could put back what a concurrent listing had just changed."""
        known = self._uidlist()
        self._paths = self._list()
        return {v: k for k, v in known.items() if k != "__next__" and k in self._paths}

    async def uidvalidity(self) -> int:
        return 1

    async def new_uids(self, after_uid: int) -> list[int]:
        self._by_uid = self._assign()
        return sorted(uid for uid in self._by_uid if uid > after_uid)

    def _known(self, uids: Sequence[int]) -> dict[int, str]:
        """uid -> key from the last listing; list again only when a uid is not in it."""
        cached = getattr(self, "_by_uid", None)
        if cached is None or any(u not in cached for u in uids):
            cached = self._by_uid = self._listed()
        return cached

    async def fetch_headers(self, uids: Sequence[int]) -> list[Fetched]:
        """Each message's header block (up to and with its blank line) and its whole size; the
        file is read only as far as the header block's end, as IMAP's BODY.PEEK[HEADER]."""
        by_uid = self._known(uids)
        out: list[Fetched] = []
        for uid in uids:
            key = by_uid.get(uid)
            if key is None:
                continue
            with open(self._path(key), "rb") as f:
                size = os.fstat(f.fileno()).st_size
                head = _read_header_block(f)
            out.append(Fetched(uid=uid, size=size, raw=head, truncated=False, headers_only=True))
        return out

    async def fetch(
        self, uids: Sequence[int], sizes: Mapping[int, int] | None = None
    ) -> list[Fetched]:
        by_uid = self._known(uids)
        out: list[Fetched] = []
        for uid in uids:
            key = by_uid.get(uid)
            if key is None:
                continue
            raw = self._path(key).read_bytes()
            if len(raw) > self.max_message_bytes:
                head = (
                    raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
                )
                out.append(Fetched(uid=uid, size=len(raw), raw=head + b"\r\n\r\n", truncated=True))
            else:
                out.append(Fetched(uid=uid, size=len(raw), raw=raw, truncated=False))
        return out

    def _path(self, key: str) -> Path:
        """The file of message `key`; listed again when it is not where it was."""
        path = self._paths.get(key)
        if path is None or not path.exists():
            path = self._list().get(key)
            if path is None:
                raise KeyError(f"No message with key: {key}")
        return path

    async def move(self, uids: Sequence[int], folder: str) -> None:
        by_uid = self._known(uids)
        target = self._dir(folder)
        for uid in uids:
            key = by_uid.pop(uid, None)
            if key is None:
                continue
            # A new name, so a new UID where it lands (as IMAP's MOVE gives): a message moved
            # back keeps no UID the folder's .uidlist remembers.
            os.rename(self._path(key), target / "new" / _unique_name())
            self._paths.pop(key, None)

    async def expunge(self, uids: Sequence[int]) -> None:
        """Remove these messages' files (UIDs already gone: ignored)."""
        by_uid = self._known(uids)
        for uid in uids:
            key = by_uid.pop(uid, None)
            if key is None:
                continue
            with contextlib.suppress(KeyError, FileNotFoundError):
                os.unlink(self._path(key))
            self._paths.pop(key, None)

    async def find_address(self, address: str) -> list[int]:
        """UIDs whose header block contains `address` (any case), as IMAP SEARCH FROM/TO/CC
        matches substrings: the caller checks the fields."""
        needle = address.lower().encode("utf-8", "replace")
        by_uid = self._by_uid = self._assign()
        found: list[int] = []
        for uid, key in sorted(by_uid.items()):
            with open(self._path(key), "rb") as f:
                if needle in _read_header_block(f).lower():
                    found.append(uid)
        return found

    async def folders_holding(self, message_id: str) -> dict[str, frozenset[str]]:
        """The folders (INBOX and every subfolder) whose header blocks name this Message-ID;
        a Maildir has no special-use attributes."""
        needle = f"<{message_id}>".lower().encode("utf-8", "replace")
        found: dict[str, frozenset[str]] = {}
        top = mailbox.Maildir(self.root, create=False)
        for name in ["INBOX", *top.list_folders()]:
            directory = self._dir(name)
            for sub in ("new", "cur"):
                with os.scandir(directory / sub) as entries:
                    for entry in entries:
                        with open(entry.path, "rb") as f:
                            if needle in _read_header_block(f).lower():
                                found[name] = frozenset()
        return found

    async def has_folder(self, name: str) -> bool:
        """Whether the folder's directory exists (INBOX: the Maildir itself)."""
        return name == "INBOX" or (self.root / f".{name}").is_dir()

    async def delete_folder(self, name: str) -> None:
        """Remove the folder's directory, its messages and `.uidlist` with it (gone: nothing)."""
        if name in ("INBOX", self.folder) or not name or name.startswith(".") or "/" in name:
            raise ValueError(f"not deleting INBOX, the open folder or a path: {name!r}")
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.root / f".{name}")

    async def delete_older_than(self, before: date) -> int:
        """Remove the messages delivered (file time, as Dovecot's internal date) before the
        UTC day `before`; returns how many."""
        old = [  # the file's mtime, as MaildirMessage.get_date: a stat, never a parse
            key
            for key, path in self._list().items()
            if datetime.fromtimestamp(path.stat().st_mtime, UTC).date() < before
        ]
        for key in old:
            self.box.remove(key)
        self.__dict__.pop("_by_uid", None)  # listed again on the next call
        return len(old)

    async def append(self, raw: bytes, folder: str = "INBOX", flags: str = "") -> None:
        """Write `raw` into `tmp/`, then rename it into `new/`, as a delivery agent does."""
        target, name = self._dir(folder), _unique_name()
        tmp = target / "tmp" / name
        tmp.write_bytes(raw)
        os.rename(tmp, target / "new" / name)

    async def wait_for_new(self, timeout: float) -> bool:
        await asyncio.sleep(timeout)
        return False

    def count(self, folder: str = "INBOX") -> int:
        return len(self._folder(folder))


_MAX_HEADER_BYTES = 1024 * 1024  # as edges.imap.MAX_HEADER_BYTES


def _read_header_block(f: BinaryIO) -> bytes:
    """The header block of the open message file `f`, with the blank line that ends it (the
    whole file when it has none), read a block at a time so the body is never read whole;
    at most `_MAX_HEADER_BYTES` of it, as the IMAP edge's partial FETCH."""
    data = b""
    while len(data) < _MAX_HEADER_BYTES:
        more = f.read(16384)
        data += more
        ends = [i + len(sep) for sep in (b"\r\n\r\n", b"\n\n") if (i := data.find(sep)) >= 0]
        if ends:
            return data[: min(ends)]
        if not more:
            return data
    return data[:_MAX_HEADER_BYTES]


_COUNT = itertools.count(1)
_HOST = socket.gethostname().replace("/", r"\057").replace(":", r"\072")


def _unique_name() -> str:
    """A Maildir file name as `mailbox.Maildir` makes one, with zero-padded microseconds so
    that names sort by delivery time (UIDs are given in name order)."""
    now = time.time()
    return f"{int(now)}.M{int(now % 1 * 1e6):06d}P{os.getpid()}Q{next(_COUNT)}.{_HOST}"


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

    async def capabilities(self) -> list[str]:
        return []  # no server

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

    async def prepare(
        self,
        message: EmailMessage | WireMessage,
        *,
        envelope_from: str,
        recipients: Sequence[str],
    ) -> _EmlPrepared:
        """Nothing to open: `finish` writes the files (`send`)."""
        return _EmlPrepared(self, message, envelope_from, recipients)

    async def close(self) -> None:
        return None


class _EmlPrepared:
    """`EmlDirSender.prepare`'s transaction: `send` when finished, nothing when aborted."""

    def __init__(
        self,
        sender: EmlDirSender,
        message: EmailMessage | WireMessage,
        envelope_from: str,
        recipients: Sequence[str],
    ) -> None:
        self._sender, self._message = sender, message
        self._envelope_from, self._recipients = envelope_from, recipients

    async def finish(self) -> SendResult:
        return await self._sender.send(
            self._message, envelope_from=self._envelope_from, recipients=self._recipients
        )

    def abort(self) -> None:
        return None
