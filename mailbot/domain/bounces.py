"""Decides whether an inbound message is a bounce, and which addresses failed how badly.

Three kinds of evidence, in this order: an RFC 3464 delivery-status report (read from
`Inbound.dsn`), the plain-text reports of old MTAs (qmail, Exim, Postfix without DSN, old
Exchange, Sendmail), and mail sent to our `+b-` bounce tag, whose token identifies the
outbox row. `Action: delayed` and 4.x.x statuses are bounces too, but not permanent.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace

from mailbot.domain import autoreply, tokens
from mailbot.domain.model import BounceInfo, Inbound, Route

_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_SMTP_CODE = re.compile(r"(?<![\d.#])([45])\d\d(?=[ -])")
_ADDRESS = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+", re.IGNORECASE)
_MESSAGE_ID_LINE = re.compile(r"^message-id:\s*<?([^<>\s]+@[^<>\s]+)>?", re.IGNORECASE | re.M)
_ROBOT_LOCALPARTS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
FAILED_ACTIONS = frozenset({"failed"})
DELAYED_ACTIONS = frozenset({"delayed"})

# Body phrases that open the failure report of an old MTA, lower-case.
FAILURE_PHRASES: tuple[str, ...] = (
    "this is the qmail-send program",  # qmail
    "delivery has failed to these recipients or groups",  # old Exchange
    "your message couldn't be delivered",  # Exchange Online, when not a DSN
    "your message wasn't delivered",
    "could not be delivered to one or more recipients",  # Postfix
    "a message that you sent could not be delivered",  # Exim
    "this message was created automatically by mail delivery software",  # Exim
    "the following addresses had permanent fatal errors",  # Sendmail
    "delivery to the following recipient failed permanently",  # old Gmail
    "delivery to the following recipients failed",
    "i'm afraid i wasn't able to deliver your message",  # qmail
    "message could not be delivered",
    "has not yet been delivered",  # Exim / Postfix delay warnings
    "delivery to the following recipient has been delayed",
)
# Subjects of bounce reports, used only together with a robot sender.
FAILURE_SUBJECTS: tuple[str, ...] = (
    "undelivered mail returned to sender",
    "mail delivery failed",
    "delivery status notification",
    "undeliverable",
    "returned mail",
    "failure notice",
    "delivery failure",
    "mail delivery failure",
    "warning: message",
    "delayed mail",
    "non remis",
    "unzustellbar",
    "no se puede entregar",
)
# Phrases saying the MTA is still trying: a transient report.
DELAY_PHRASES: tuple[str, ...] = (
    "has not yet been delivered",
    "delivery has been delayed",
    "has been delayed",
    "will continue trying",
    "will keep trying",
    "will retry",
    "still trying",
    "this is a temporary error",
    "temporary failure",
    "no action is required on your part",
)
# Lines after which a plain-text report quotes the original message.
COPY_MARKERS: tuple[str, ...] = (
    "--- below this line is a copy of the message",
    "------ this is a copy of the message",
    "----- original message -----",
    "-----original message-----",
    "original message headers:",
    "----- transcript of session follows -----",
    "--- the header of the original message is following",
    "------ this is a copy of your message",
    "----- original message follows -----",
    "------- returned message --------",
    "-----message d'origine-----",
    "----- message d'origine -----",
    "-----mensaje original-----",
    "----- mensaje original -----",
    "en-têtes de message d'origine",
    "encabezados del mensaje original",
)
# The quoted original's header block ("From: …" then "To: …", in en/fr/es), where the report
# ends even without a marker: its To/Cc addresses are the other recipients, not failures.
_QUOTED_HEADERS = re.compile(
    r"^[ \t>]*(from|de|von|to|à|a|para|an)[ \t]*:.*\n"
    r"[ \t>]*(from|de|to|à|a|para|cc|sent|date|envoyé|enviado|fecha|subject|objet|asunto)[ \t]*:",
    re.IGNORECASE | re.MULTILINE,
)


def _status_of(text: str) -> str:
    m = _STATUS.search(text)
    return ".".join(m.groups()) if m else ""


def _permanent(status: str, diagnostic: str, default: bool) -> bool:
    if status:
        return status.startswith("5")
    code = _SMTP_CODE.search(diagnostic)
    if code:
        return code.group(1) == "5"
    return default


def returned_message_id(msg: Inbound) -> str:
    """The Message-ID of the mail that bounced, from the returned headers or a quoted copy."""
    for value in msg.returned_headers.get("message-id", ()):
        mid = value.strip().strip("<>").strip()
        if mid:
            return mid
    lower = msg.text.lower()
    start = min((i for i in (lower.find(m) for m in COPY_MARKERS) if i >= 0), default=-1)
    if start >= 0:
        m = _MESSAGE_ID_LINE.search(msg.text, start)
        if m:
            return m.group(1)
    return ""


def read_dsn(msg: Inbound) -> BounceInfo | None:
    """An RFC 3464 report's failed (else delayed) recipients; None when nothing failed."""
    failed: list[dict[str, str]] = []
    delayed: list[dict[str, str]] = []
    for block in msg.dsn:
        action = block.get("action", "").strip().lower()
        status = _status_of(block.get("status", ""))
        if not action and status:
            action = "failed" if status.startswith("5") else "delayed"
        if action in FAILED_ACTIONS:
            failed.append(block)
        elif action in DELAYED_ACTIONS:
            delayed.append(block)
    chosen = failed or delayed
    if not chosen:
        return None
    recipients: list[str] = []
    for block in chosen:
        for name in ("original-recipient", "final-recipient", "x-actual-recipient"):
            addr = block.get(name, "").strip().strip("<>").lower()
            if "@" in addr:
                if addr not in recipients:
                    recipients.append(addr)
                break
    first = chosen[0]
    status = _status_of(first.get("status", ""))
    diagnostic = " ".join(first.get("diagnostic-code", "").split())[:500]
    if failed:
        permanent = any(
            _permanent(_status_of(b.get("status", "")), b.get("diagnostic-code", ""), True)
            for b in failed
        )
    else:
        permanent = False
    return BounceInfo(
        recipients=tuple(recipients),
        permanent=permanent,
        status=status,
        diagnostic=diagnostic,
        message_id=returned_message_id(msg),
    )


def _is_robot(msg: Inbound) -> bool:
    local = msg.from_addr.partition("@")[0]
    return local in _ROBOT_LOCALPARTS or msg.header("return-path").strip() == "<>"


def read_text_bounce(
    msg: Inbound,
    is_ours: Callable[[str], bool] = lambda _a: False,
    to_bounce_tag: bool = False,
) -> BounceInfo | None:
    """A plain-text bounce from an MTA that sends no DSN; None when it does not look like one.

    A failure phrase counts only from a robot (mailer-daemon, postmaster, empty Return-Path),
    under a bounce subject or sent to our bounce tag, so a person forwarding a bounce to the
    coordinators is not taken for one. Recipients are the addresses quoted between the
    failure text and the copy of the original message (a marker such as "-----Message
    d'origine-----", or its first quoted From:/To: header block), without our own (`is_ours`),
    the bounce's sender, robot addresses and Message-IDs.
    """
    lower = msg.text.lower()
    subject = msg.subject.lower().strip()
    robot = _is_robot(msg)
    bounce_subject = subject.startswith(FAILURE_SUBJECTS)
    starts = [i for i in (lower.find(p) for p in FAILURE_PHRASES) if i >= 0]
    if starts:
        if not (robot or bounce_subject or to_bounce_tag):
            return None
    elif not (robot and bounce_subject):
        return None
    start = min(starts) if starts else 0
    ends = [i for i in (lower.find(m, start) for m in COPY_MARKERS) if i >= 0]
    # Only a header block after the first address: an old Exchange report opens with the
    # header block of the mail that failed ("To: john@…", "Subject: …"), failure below it.
    first = _ADDRESS.search(lower, start)
    if quoted := _QUOTED_HEADERS.search(lower, first.end() if first else start):
        ends.append(quoted.start())
    end = min(ends) if ends else min(len(lower), start + 4000)
    report = msg.text[start:end]

    recipients: list[str] = []
    for m in _ADDRESS.finditer(report):
        addr = m.group(0).strip(".").lower()
        local = addr.partition("@")[0]
        if (
            addr in recipients
            or addr == msg.from_addr
            or local in _ROBOT_LOCALPARTS
            or is_ours(addr)
            or report[max(0, m.start() - 14) : m.start()]
            .lower()
            .rstrip(" \t<")
            .endswith("message-id:")
        ):
            continue
        recipients.append(addr)

    report_lower = report.lower()
    delayed = any(p in report_lower or p in subject for p in DELAY_PHRASES)
    status = _status_of(report)
    permanent = _permanent(status, report, default=not delayed)
    if delayed and not status.startswith("5"):
        permanent = False
    diagnostic = ""
    for line in report.splitlines():
        if _STATUS.search(line) or _SMTP_CODE.search(line):
            diagnostic = " ".join(line.split())[:500]
            break
    return BounceInfo(
        recipients=tuple(recipients),
        permanent=permanent,
        status=status,
        diagnostic=diagnostic,
        message_id=returned_message_id(msg),
    )


def read_tag(address: str, program_address: str, secret: str) -> tuple[Route, str] | None:
    """`tokens.read_tag`, safe for any decoded address: our tags are ASCII, and the
    constant-time compare under it raises TypeError for a non-ASCII signature."""
    if not address.isascii():
        return None
    return tokens.read_tag(address, program_address, secret)


def bounce_token(msg: Inbound, program_address: str, secret: str) -> str:
    """The payload of a valid `+b-` tag in Delivered-To, To or Cc, else ""."""
    if not program_address:
        return ""
    for addr in (*msg.delivered_to, *msg.to, *msg.cc):
        tag = read_tag(addr, program_address, secret)
        if tag is not None and tag[0] is Route.BOUNCE:
            return tag[1]
    return ""


def read_bounce(
    msg: Inbound,
    program_address: str = "",
    secret: str = "",
    own_addresses: Iterable[str] = (),
) -> BounceInfo | None:
    """The bounce this message reports, or None.

    Mail to our `+b-` tag counts even without a readable report (recipients empty, not
    permanent: the token tells the flow which outbox row and address it was), except an
    out-of-office reply, which RFC 3834 sends to the envelope sender too: that is an
    auto-reply, not a failure.
    """
    own = frozenset(a.lower() for a in own_addresses)

    def is_ours(addr: str) -> bool:
        return addr in own or bool(
            program_address and tokens.is_program_address(addr, program_address)
        )

    token = bounce_token(msg, program_address, secret)
    info = read_dsn(msg) or read_text_bounce(msg, is_ours, to_bounce_tag=bool(token))
    if info is None:
        if not token or autoreply.is_out_of_office(msg):
            return None
        info = BounceInfo(recipients=(), permanent=False, message_id=returned_message_id(msg))
    if token:
        info = replace(info, token=token)
    return info
