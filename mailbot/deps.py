"""What every flow is given: settings and the adapters `app.build` chose, in one frozen value.

A leaf module: it names the ports and settings and imports no adapter, so flows can depend on
`Deps` without importing `app` (which picks the implementations).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailbot.edges.ports import Mailbox, Sender
from mailbot.settings import Settings

if TYPE_CHECKING:
    from mailbot.edges.db import Database
    from mailbot.edges.render import Renderer

__all__ = ["Deps"]


@dataclass(frozen=True)
class Deps:
    settings: Settings
    db: Database
    renderer: Renderer
    mailbox: Callable[..., Mailbox]  # (folder: str | None = None) -> Mailbox
    sender: Callable[[], Sender]
