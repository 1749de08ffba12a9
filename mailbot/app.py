"""Wires real adapters into one typed `Deps`; the only place that picks implementations.

The transport setting chooses real IMAP/SMTP servers or the local Maildir used by the demo.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from mailbot.deps import Deps
from mailbot.edges.db import Database
from mailbot.edges.render import Renderer
from mailbot.settings import Settings

if TYPE_CHECKING:
    from mailbot.edges.ports import Mailbox, Sender


def _imap_factory(settings: Settings) -> Callable[..., Mailbox]:
    from mailbot.edges.imap import ImapMailbox, ImapSettings

    s = settings.imap
    cfg = ImapSettings(
        host=s.host,
        port=s.port,
        username=s.username,
        password=s.password,
        tls=s.tls,  # type: ignore[arg-type]
        folder=s.folder,
        processed_folder=s.processed_folder,
        quarantine_folder=s.quarantine_folder,
        batch_size=s.batch_size,
        ca_file=s.ca_file or None,
        max_message_bytes=settings.program.max_message_bytes,
    )

    def factory(folder: str | None = None) -> Mailbox:
        return ImapMailbox(replace(cfg, folder=folder) if folder else cfg)

    return factory


def _smtp_factory(settings: Settings) -> Callable[[], Sender]:
    from mailbot.edges.smtp import SmtpSender, SmtpSettings

    s = settings.smtp
    cfg = SmtpSettings(
        host=s.host,
        port=s.port,
        username=s.username or None,
        password=s.password or None,
        tls=s.tls,  # type: ignore[arg-type]
        ca_file=s.ca_file or None,
    )
    return lambda: SmtpSender(cfg)


def maildir_paths(settings: Settings) -> tuple[Path, Path]:
    root = Path(settings.program.maildir)
    return root / "program", root / "sent"


def build(settings: Settings, *, templates: str | None = None) -> Deps:
    db = Database(settings.database.url)
    renderer = Renderer(templates or os.environ.get("MAILBOT_TEMPLATES") or None)
    if settings.program.transport == "maildir":
        from mailbot.edges.maildir import EmlDirSender, MaildirMailbox

        inbox, sent = maildir_paths(settings)
        limit = settings.program.max_message_bytes

        def mailbox(folder: str | None = None) -> Mailbox:
            return MaildirMailbox(inbox, limit, folder=folder)

        writer = EmlDirSender(sent)  # one numbering per folder for all delivery workers
        return Deps(settings, db, renderer, mailbox, lambda: writer)
    return Deps(settings, db, renderer, _imap_factory(settings), _smtp_factory(settings))


def lock_path(settings: Settings) -> Path:
    url = settings.database.url
    import hashlib

    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    base = Path(os.environ.get("MAILBOT_LOCK_DIR", "/tmp"))
    return base / f"mailbot-{digest}.lock"


@contextmanager
def single_instance(settings: Settings) -> Iterator[None]:
    """One daemon or tick per database at a time: the outbox's crash recovery relies on it."""
    path = lock_path(settings)
    with open(path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(
                f"another mailbot is running on this database (lock {path})"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
