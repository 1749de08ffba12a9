"""Rendered text + addressing → an `EmailMessage` with the headers EMAIL-RULES.md asks for.

Decides the outbound headers: Auto-Submitted, a Message-ID derived from the idempotency key,
X-Loop, threading, List-Unsubscribe on bulk mail. Display names with non-ASCII characters
are RFC 2047-encoded by the email package; CR/LF from user input never reaches a header.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime


@dataclass(frozen=True)
class Envelope:
    program_name: str
    program_address: str
    to: tuple[tuple[str, str], ...]  # (display name, address)
    cc: tuple[tuple[str, str], ...]
    reply_to: str
    message_id: str  # without <>
    in_reply_to: str = ""
    key: str = ""
    unsubscribe: str = ""  # mailto: address for List-Unsubscribe on bulk mail
    # (filename, mime type, text or bytes, content-id): a content-id puts an image inline
    attachments: tuple[tuple[str, str, str | bytes, str], ...] = ()


def one_line(text: str, limit: int = 200) -> str:
    """User-supplied text safe for a header: no CR/LF, no control characters, bounded."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(cleaned.split())[:limit]


def _address(name: str, addr: str) -> Address:
    local, _, domain = addr.rpartition("@")
    return Address(display_name=one_line(name, 100), username=local, domain=domain)


def build_message(
    env: Envelope, subject: str, text: str, html: str | None, now: datetime
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = _address(env.program_name, env.program_address)
    msg["To"] = [_address(n, a) for n, a in env.to]
    if env.cc:
        msg["Cc"] = [_address(n, a) for n, a in env.cc]
    if env.reply_to:
        msg["Reply-To"] = [_address("", a.strip()) for a in env.reply_to.split(",") if a.strip()]
    msg["Subject"] = one_line(subject, 250)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{env.message_id}>"
    if env.in_reply_to:
        msg["In-Reply-To"] = f"<{env.in_reply_to}>"
        msg["References"] = f"<{env.in_reply_to}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Loop"] = env.program_address
    if env.key:
        msg["X-Mailbot-Key"] = one_line(env.key, 300)
    if env.unsubscribe:
        # mailto only: RFC 8058 one-click needs an HTTPS endpoint, which mailbot does not run.
        msg["List-Unsubscribe"] = f"<mailto:{env.unsubscribe}?subject=WITHDRAW>"
        msg["Precedence"] = "bulk"
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    for filename, mime, data, cid in env.attachments:
        maintype, _, subtype = mime.partition("/")
        name = one_line(filename)
        if cid and html:
            html_part = msg.get_body(("html",))
            assert html_part is not None
            raw = data if isinstance(data, bytes) else data.encode()
            html_part.add_related(
                raw,
                maintype=maintype,
                subtype=subtype,
                cid=f"<{cid}>",
                filename=name,
                disposition="inline",
            )
        elif isinstance(data, str) and maintype == "text":
            msg.add_attachment(data, subtype=subtype, filename=name)
        else:
            raw = data if isinstance(data, bytes) else data.encode()
            msg.add_attachment(raw, maintype=maintype, subtype=subtype, filename=name)
    return msg
