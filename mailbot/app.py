"""Wires real adapters into one typed `Deps`; the only place that picks implementations.

The transport setting chooses real IMAP/SMTP servers or the local Maildir used by the demo;
`imap.auth` / `smtp.auth = "oauth2"` gives them a shared OAuth2 token source per login.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mailbot.deps import Deps
from mailbot.edges.db import Database
from mailbot.edges.heartbeat import state_file
from mailbot.edges.render import Renderer
from mailbot.settings import Settings, oauth_used

if TYPE_CHECKING:
    from mailbot.edges.oauth import DbRefreshTokens, OAuthClient, TokenSource
    from mailbot.edges.ports import Mailbox, Sender


def oauth_client(settings: Settings) -> OAuthClient:
    from mailbot.edges.oauth import OAuthClient

    o = settings.oauth
    return OAuthClient(
        token_endpoint=o.endpoint(o.token_endpoint),
        client_id=o.client_id,
        client_secret=o.client_secret or None,
        scopes=o.scopes,
    )


def refresh_token_store(settings: Settings, db: Database) -> DbRefreshTokens:
    from mailbot.edges.oauth import DbRefreshTokens

    return DbRefreshTokens(db, settings.oauth.client_id, settings.program.secret)


def _token_sources(settings: Settings, db: Database) -> dict[str, TokenSource]:
    """One token source per OAuth2 login (normally one: the program mailbox), by username."""
    from mailbot.edges.oauth import TokenSource

    if not oauth_used(settings):
        return {}
    users = {settings.imap.username} if settings.imap.auth == "oauth2" else set()
    if settings.smtp.auth == "oauth2" and settings.smtp.username:
        users.add(settings.smtp.username)
    client, store = oauth_client(settings), refresh_token_store(settings, db)
    o = settings.oauth
    return {
        user.lower(): TokenSource(
            client, user, store, o.refresh_token, refresh_before=o.refresh_before_seconds
        )
        for user in sorted(users)
    }


def _imap_factory(
    settings: Settings, tokens: dict[str, TokenSource] | None = None
) -> Callable[..., Mailbox]:
    from mailbot.edges.imap import ImapMailbox, ImapSettings

    s = settings.imap
    cfg = ImapSettings(
        host=s.host,
        port=s.port,
        username=s.username,
        password=s.password,
        tls=s.tls,
        folder=s.folder,
        processed_folder=s.processed_folder,
        quarantine_folder=s.quarantine_folder,
        hold_folder=settings.partner_hold,
        batch_size=s.batch_size,
        ca_file=s.ca_file or None,
        max_message_bytes=settings.program.max_message_bytes,
        auth="oauth2" if s.auth == "oauth2" else "password",
        oauth_mechanism=_mechanism(settings),
    )
    source = (tokens or {}).get(s.username.lower()) if s.auth == "oauth2" else None

    def factory(folder: str | None = None) -> Mailbox:
        return ImapMailbox(replace(cfg, folder=folder) if folder else cfg, source)

    return factory


def _mechanism(settings: Settings) -> Literal["xoauth2", "oauthbearer"]:
    return "oauthbearer" if settings.oauth.mechanism == "oauthbearer" else "xoauth2"


def _smtp_factory(
    settings: Settings, tokens: dict[str, TokenSource] | None = None
) -> Callable[[], Sender]:
    from mailbot.edges.smtp import SmtpSender, SmtpSettings

    s = settings.smtp
    cfg = SmtpSettings(
        host=s.host,
        port=s.port,
        username=s.username or None,
        password=s.password or None,
        tls=s.tls,
        ca_file=s.ca_file or None,
        auth="oauth2" if s.auth == "oauth2" else "password",
        oauth_mechanism=_mechanism(settings),
    )
    source = (tokens or {}).get(s.username.lower()) if s.auth == "oauth2" else None
    return lambda: SmtpSender(cfg, source)


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

        folders = settings.program_folders

        def mailbox(folder: str | None = None) -> Mailbox:
            return MaildirMailbox(inbox, limit, folder=folder, folders=folders)

        writer = EmlDirSender(sent)  # one numbering per folder for all delivery workers
        return Deps(settings, db, renderer, mailbox, lambda: writer)
    tokens = _token_sources(settings, db)
    return Deps(
        settings, db, renderer, _imap_factory(settings, tokens), _smtp_factory(settings, tokens)
    )


def lock_path(settings: Settings) -> Path:
    return state_file(settings.database.url, "lock")


def heartbeat_path(settings: Settings) -> Path:
    return state_file(settings.database.url, "health")


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
