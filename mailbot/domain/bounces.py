"""Decides whether an inbound message is a bounce, and which addresses failed how badly.

Three kinds of evidence, in this order: an RFC 3464 delivery-status report (read from
`Inbound.dsn`), the plain-text reports of MTAs that send none (read by their structure in
`bounce_text`: X-Failed-Recipients, quoted DSN fields, SMTP transcripts, the report between
its failure phrase and the returned copy), and mail sent to our `+b-` bounce tag, whose token
identifies the outbox row. `Action: delayed` and 4.x.x statuses are bounces too, but not
permanent.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace

from mailbot.domain import autoreply, bounce_text, tokens
from mailbot.domain.model import BounceInfo, Inbound, Route

_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_SMTP_CODE = re.compile(r"(?<![\d.#])([45])\d\d(?=[ -])")
_MESSAGE_ID_LINE = re.compile(r"^message-id:\s*<?([^<>\s]+@[^<>\s]+)>?", re.IGNORECASE | re.M)
_ROBOT_LOCALPARTS = frozenset(
    {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "post_master", "double-bounce"}
)
# In a From or Return-Path header (lower-case): a mail system, even without an address
# ("From: MAILER-DAEMON <>", "From: mailer-daemon").
ROBOT_WORDS: tuple[str, ...] = (
    "mailer-daemon",
    "mailer daemon",
    "mail-daemon",
    "mailerdaemon",
    "postmaster",
    "post_master",
    "double-bounce",
    "mail delivery",
    "mail.delivery",
    "delivery subsystem",
)
# One pass over a header for all of them (a regex alternation of the literal words).
_ROBOT_WORD = re.compile("|".join(re.escape(w) for w in ROBOT_WORDS))
FAILED_ACTIONS = frozenset({"failed"})
DELAYED_ACTIONS = frozenset({"delayed"})

# Body phrases that open the failure report of an MTA that sends no DSN, lower-case.
FAILURE_PHRASES: tuple[str, ...] = (
    "this is the qmail-send program",  # qmail
    "delivery has failed to these recipients or groups",  # old Exchange
    "did not reach the following recipient",  # Exchange 2003
    "the following recipient(s) could not be reached",
    "undeliverable to ",
    "your message couldn't be delivered",  # Exchange Online, when not a DSN
    "your message wasn't delivered",
    "could not be delivered to one or more recipients",  # Postfix
    "a message that you sent could not be delivered",  # Exim
    "a message that you sent contained one or more recipient addresses",  # Exim
    "this message was created automatically by mail delivery software",  # Exim
    "this message was created automatically by mail delivery system",
    "the following addresses had permanent fatal errors",  # Sendmail
    "the following addresses had fatal errors",
    "the following addresses had delivery problems",
    "the following addresses had delivery errors",
    "the following address(es) failed",
    "delivery to the following recipient failed permanently",  # old Gmail
    "delivery to the following recipients failed",
    "i'm afraid i wasn't able to deliver your message",  # qmail
    "message could not be delivered",
    "could not be delivered to",
    "could not be delivered",
    "unable to deliver message to",
    "unable to deliver your message",
    "there was an error delivering your mail",  # DragonFly Mail Agent
    "we had trouble delivering your message",
    "following recipients returned permanent errors",
    "was rejected by a remote mail server",  # au (EZweb)
    "your message cannot be delivered to the following recipients",  # PMDF
    "failed addresses follow",
    "delivery to the following recipients was aborted",
    "delevery to the following recipients was aborted",
    "the following recipients were not delivered",
    "your message to the following recipients",
    "has not yet been delivered",  # Exim / Postfix delay warnings
    "delivery to the following recipient has been delayed",
    "transcript of session follows",  # Sendmail, also when it quotes nothing else
    "returned mail: ",
    '"notificationtype":"bounce"',  # Amazon SES notification by mail
)
# Subjects of bounce reports (beginnings), used only together with a robot sender.
FAILURE_SUBJECTS: tuple[str, ...] = (
    "undelivered mail returned to sender",
    "mail delivery failed",
    "delivery status notification",
    "undeliverable",
    "undelivered",
    "returned mail",
    "failure notice",
    "delivery failure",
    "mail delivery failure",
    "warning: message",
    "delayed mail",
    "non remis",
    "unzustellbar",
    "no se puede entregar",
    "mail system error",
    "message delivery has failed",
    "delivery status",
    "delivery notification",
    "failed delivery",
    "failure delivery",
    "permanent delivery failure",
    "mail could not be delivered",
    "mail failure",
    "mail failed",
    "nondeliverable",
    "non-delivery",
    "there was an error sending your mail",
)
# Words anywhere in a subject that say the mail came back.
SUBJECT_WORDS: tuple[str, ...] = (
    "delivery failure",
    "delivery failed",
    "undeliverable",
    "undelivered",
    "returned mail",
    "could not send",
    "not delivered",
    "delivery status notification",
    "配信",  # ja: 配信エラー, 配信不能
    "送信できません",
    "不達",
    "エラー",
)
# Phrases saying the MTA is still trying: a transient report.
DELAY_PHRASES: tuple[str, ...] = (
    "has not yet been delivered",
    "delivery has been delayed",
    "has been delayed",
    "will continue trying",
    "will keep trying",
    "will retry",
    "will be retried",
    "still trying",
    "this is a temporary error",
    "temporary failure",
    "no action is required on your part",
    "this is a warning message only",
)
# Lines after which a plain-text report quotes the original message.
COPY_MARKERS: tuple[str, ...] = (
    "--- below this line is a copy of the message",
    "------ this is a copy of the message",
    "----- original message -----",
    "-----original message-----",
    "original message headers:",
    "--- the header of the original message is following",
    "------ this is a copy of your message",
    "----- original message follows -----",
    "original message follows.",
    "------- returned message --------",
    "----- unsent message follows -----",
    "message headers follow",
    "message text follows",
    "-----message d'origine-----",
    "----- message d'origine -----",
    "-----mensaje original-----",
    "----- mensaje original -----",
    "en-têtes de message d'origine",
    "encabezados del mensaje original",
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
    return dsn_info(msg.dsn, msg)


def _dsn_address(value: str) -> str:
    """The address of a recipient field: as it stands when it is one address (it may be
    UTF-8, RFC 6533), else the first address in it (a pipe, a source route, "rfc/822;")."""
    value = value.strip().strip("<>").strip().lower()
    local, _at, domain = value.partition("@")
    if (
        local
        and "." in domain
        and "@" not in domain
        and not any(c.isspace() or c in ";:<>,|" for c in value)
    ):
        return value
    found = bounce_text.first_address(value)
    return found[2] if found else ""


def dsn_info(blocks: Iterable[dict[str, str]], msg: Inbound) -> BounceInfo | None:
    """The failed (else delayed) recipients of delivery-status blocks; None when none."""
    failed: list[dict[str, str]] = []
    delayed: list[dict[str, str]] = []
    for block in blocks:
        action = block.get("action", "").strip().lower()
        status = _status_of(block.get("status", ""))
        if status.startswith("2"):
            continue  # delivered or relayed, whatever the Action says
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
            addr = _dsn_address(block.get(name, "")[:1000])
            if addr:
                if addr not in recipients:
                    recipients.append(addr)
                break
    first = chosen[0]
    status = _status_of(first.get("status", ""))
    diagnostic = " ".join(first.get("diagnostic-code", "")[:2000].split())[:500]
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


def is_robot(msg: Inbound) -> bool:
    """Sent by a mail system: a robot local part or display name, or a null Return-Path."""
    local = msg.from_addr.partition("@")[0]
    if local in _ROBOT_LOCALPARTS:
        return True
    return_path = msg.header("return-path").strip().lower()
    if return_path == "<>" or (return_path and _ROBOT_WORD.search(return_path)):
        return True
    sender = msg.header("from")[:300].lower()
    return _ROBOT_WORD.search(sender) is not None


def _bounce_subject(subject: str) -> bool:
    return subject.startswith(FAILURE_SUBJECTS) or any(w in subject for w in SUBJECT_WORDS)


def _ranked(
    found: Iterable[tuple[int, int, str]], weak: frozenset[str], is_ours: Callable[[str], bool]
) -> list[str]:
    """The addresses found, without our own; robots and `weak` ones only if nothing else."""
    strong: list[str] = []
    fallback: list[str] = []
    for _s, _e, addr in found:
        if is_ours(addr):
            continue
        if addr in weak or addr.partition("@")[0] in _ROBOT_LOCALPARTS:
            fallback.append(addr)
        else:
            strong.append(addr)
    return list(dict.fromkeys(strong or fallback))


def _report_end(text: str, lower: str, start: int) -> int:
    """Where the report that begins at `start` ends: a copy marker, or the header block of the
    quoted original after the first address (an old Exchange report opens with the header
    block of the mail that failed, "To: john@…", "Subject: …", failure below it)."""
    ends = [i for i in (lower.find(m, start) for m in COPY_MARKERS) if i >= 0]
    first = bounce_text.first_address(text[start:])
    quoted = bounce_text.header_block_start(text, start + first[1] if first else start)
    if quoted >= 0:
        ends.append(quoted)
    return min(ends) if ends else min(len(text), start + 8000)


def _evidence(msg: Inbound, text: str, robot: bool) -> bool:
    """A robot's message is a failure report when anything in it is shaped like one."""
    head = text[:8000]
    return bool(
        _STATUS.search(head)
        or _SMTP_CODE.search(head)
        or msg.returned_headers
        or bounce_text.dsn_blocks(head)
    )


def read_text_bounce(
    msg: Inbound,
    is_ours: Callable[[str], bool] = lambda _a: False,
    to_bounce_tag: bool = False,
) -> BounceInfo | None:
    """A plain-text bounce from an MTA that sends no DSN; None when it does not look like one.

    It must come from a robot (mailer-daemon, postmaster, a null Return-Path), carry a
    bounce subject or an `X-Failed-Recipients` header, or be sent to our bounce tag, so a
    person forwarding a bounce to the coordinators is not taken for one; and it must say so:
    a failure phrase, a bounce subject, `X-Failed-Recipients`, or (from a robot) a status
    or SMTP reply code, a returned message or quoted delivery-status fields.

    Recipients, by the first of these that names any: `X-Failed-Recipients`; delivery-status
    fields quoted in the text (a DSN that lost its MIME structure); the RCPT TO refused in an
    SMTP transcript; the addresses of the report (from the failure phrase to the copy of the
    original); the To of the returned message. Never our own (`is_ours`), the bounce's own
    sender and recipients (the original's sender), robots, senders and Message-IDs.
    """
    subject = msg.subject.lower().strip()
    robot = is_robot(msg)
    bounce_subject = _bounce_subject(subject)
    failed_header = " ".join(msg.headers.get("x-failed-recipients", ()))[:2000]
    # The cheap gate first: most mail is no report, and its text is then never scanned.
    if not (robot or bounce_subject or to_bounce_tag or failed_header):
        return None
    if autoreply.ooo_subject(msg) and not failed_header:
        return None
    if "feedback-report" in msg.header("content-type").lower():
        return None  # an abuse or authentication failure report (RFC 5965), not a bounce
    text = msg.text[: bounce_text.MAX_SCAN]
    lower = text.lower()
    starts = [i for i in (lower.find(p) for p in FAILURE_PHRASES) if i >= 0]
    if not (
        starts
        or (failed_header and (robot or bounce_subject))
        or (robot and bounce_subject)
        or ((robot or to_bounce_tag) and _evidence(msg, text, robot))
    ):
        return None
    # The bounce goes back to the original's sender: its own To is no failed recipient, nor a
    # robot; both are taken only when the report names nobody else.
    weak = frozenset((*msg.to, *msg.delivered_to, msg.from_addr))
    start = min(starts) if starts else 0
    end = _report_end(text, lower, start)
    report = text[start:end]

    status = ""
    recipients = _ranked(bounce_text.addresses(failed_header), weak, is_ours)
    if not recipients:
        quoted = dsn_info(bounce_text.dsn_blocks(text), msg)
        if quoted is not None:
            recipients = _ranked(((0, 0, a) for a in quoted.recipients), weak, is_ours)
            status = quoted.status
    if not recipients:
        refused = bounce_text.transcript_failures(report)
        recipients = _ranked(((0, 0, a) for a in refused), weak, is_ours)
    if not recipients:
        spans = list(bounce_text.addresses(report))
        senders = {a for s, _e, a in spans if bounce_text.names_sender(report, s)}
        recipients = _ranked((x for x in spans if x[2] not in senders), weak, is_ours)
    if not recipients:
        returned_to = " ".join(msg.returned_headers.get("to", ()))[:2000]
        spans = list(bounce_text.addresses(returned_to))
        spans = spans or [(0, 0, a) for a in bounce_text.quoted_to(text[end:])]
        recipients = _ranked(spans, frozenset(), is_ours)

    report_lower = report.lower()
    delayed = any(p in report_lower or p in subject for p in DELAY_PHRASES)
    status = status or _status_of(report)
    permanent = _permanent(status, report, default=not delayed)
    if delayed and not status.startswith("5"):
        permanent = False
    diagnostic = ""
    for line in report[:20_000].splitlines():
        if _STATUS.search(line) or _SMTP_CODE.search(line):
            diagnostic = " ".join(line[:2000].split())[:500]
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


_SUCCESS_ACTIONS = frozenset({"delivered", "relayed", "expanded"})


def _reports_success(blocks: Iterable[dict[str, str]]) -> bool:
    """Delivery-status blocks that all say delivered, relayed or expanded (or 2.x.x)."""
    said = [
        b.get("action", "").strip().lower() in _SUCCESS_ACTIONS
        or _status_of(b.get("status", "")).startswith("2")
        for b in blocks
        if b.get("action") or b.get("status")
    ]
    return bool(said) and all(said)


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
    info = read_dsn(msg)
    if info is None and _reports_success(msg.dsn):
        # A DSN that reports only delivery or relaying is a success report, not a bounce.
        if not token or autoreply.is_out_of_office(msg):
            return None
        return BounceInfo(
            recipients=(), permanent=False, message_id=returned_message_id(msg), token=token
        )
    if info is None or not info.recipients:
        # A DSN whose recipient fields name no address (a pipe, a source route): the text
        # of the report, or its X-Failed-Recipients, may.
        text = read_text_bounce(msg, is_ours, to_bounce_tag=bool(token))
        if info is None:
            info = text
        elif text is not None and text.recipients:
            info = replace(info, recipients=text.recipients)
    if info is None:
        if not token or autoreply.is_out_of_office(msg):
            return None
        info = BounceInfo(recipients=(), permanent=False, message_id=returned_message_id(msg))
    if token:
        info = replace(info, token=token)
    return info
