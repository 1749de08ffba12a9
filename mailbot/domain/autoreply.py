"""Decides whether an inbound message was sent by a robot (RFC 3834 and the usual headers),
whether it is an out-of-office reply, and when an out-of-office reply says its sender is back.

Each check is a small named predicate returning the reason it fired, so the classifier can
record why; `AUTOMATED_CHECKS` lists them in the order they are tried.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from mailbot.domain.model import Inbound

AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-response")  # not -suppress
LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post")
ROBOT_LOCALPARTS = frozenset(
    {
        "mailer-daemon",
        "mail-daemon",
        "postmaster",
        "noreply",
        "no-reply",
        "no_reply",
        "do-not-reply",
        "donotreply",
        "do_not_reply",
    }
)

# Subject beginnings of out-of-office replies, lower-case, by language.
OOO_SUBJECT_PREFIXES: tuple[str, ...] = (
    # en
    "automatic reply",
    "auto-reply",
    "auto reply",
    "autoreply",
    "auto-response",
    "auto response",
    "autoresponse",
    "out of office",
    "out of the office",
    "ooo:",
    "away from the office",
    "vacation reply",
    "auto:",
    # fr
    "réponse automatique",
    "reponse automatique",
    "absence du bureau",
    "absent du bureau",
    "absente du bureau",
    "absent(e) du bureau",
    "absent·e du bureau",
    "hors du bureau",
    "absence :",
    "absence:",
    # es
    "respuesta automática",
    "respuesta automatica",
    "fuera de la oficina",
    "fuera de oficina",
    "fuera de mi oficina",
    "fuera del despacho",
    "ausente",
    # de
    "abwesenheitsnotiz",
    "automatische antwort",
    "abwesend",
    "nicht im büro",
    # nl
    "automatisch antwoord",
    "afwezig",
    "niet aanwezig",
    # sv / no / da
    "autosvar",
    "automatiskt svar",
    "automatisk svar",
    "automatisk besvarelse",
    "frånvaro",
    "inte på kontoret",
    "fravær",
    "ikke på kontoret",
    "ude af kontoret",
    # it
    "risposta automatica",
    "fuori sede",
    "fuori ufficio",
    # pt
    "resposta automática",
    "resposta automatica",
    "fora do escritório",
    "ausência",
    # pl
    "odpowiedź automatyczna",
    "odpowiedz automatyczna",
    "autoodpowiedź",
    "nieobecność",
)

Check = Callable[[Inbound], str | None]


def _localpart(address: str) -> str:
    return address.partition("@")[0].split("+", 1)[0].lower()


def auto_submitted(msg: Inbound) -> str | None:
    value = msg.header("auto-submitted").strip()
    token = value.split(";", 1)[0].strip().lower()
    if value and token != "no":
        return f"Auto-Submitted: {value}"
    return None


def precedence(msg: Inbound) -> str | None:
    value = msg.header("precedence").strip().lower()
    return f"Precedence: {value}" if value in AUTO_PRECEDENCE else None


def autoreply_header(msg: Inbound) -> str | None:
    for name in AUTO_HEADERS:
        if name in msg.headers:
            return f"{name} header present"
    return None


def list_headers(msg: Inbound) -> str | None:
    for name in LIST_HEADERS:
        if name in msg.headers:
            return f"mailing-list header {name} present"
    return None


def robot_sender(msg: Inbound) -> str | None:
    if msg.from_addr and _localpart(msg.from_addr) in ROBOT_LOCALPARTS:
        return f"sent by {msg.from_addr}"
    return None


def _subject_key(subject: str) -> str:
    s = subject.strip().lower().lstrip("[(*")
    return s


def ooo_subject(msg: Inbound) -> str | None:
    key = _subject_key(msg.subject)
    for prefix in OOO_SUBJECT_PREFIXES:
        if key.startswith(prefix):
            return f"subject begins with an out-of-office phrase ({msg.subject.strip()[:80]!r})"
    return None


def report(msg: Inbound) -> str | None:
    """Delivery and read receipts that are not failures (a failing DSN is a bounce first)."""
    ctype = msg.content_type
    if ctype == "multipart/report" or "disposition-notification" in msg.header("content-type"):
        return f"machine report ({ctype})"
    if "x-hmxmroriginalrecipient" in msg.returned_headers:
        # Hotmail's complaint feedback (JMRP): the reported mail attached in multipart/mixed
        return "complaint feedback report (X-HmXmrOriginalRecipient in the attached mail)"
    return None


AUTOMATED_CHECKS: tuple[tuple[str, str, Check], ...] = (
    ("auto_submitted", "RFC 3834 Auto-Submitted other than 'no'", auto_submitted),
    ("precedence", "Precedence: bulk, junk, list or auto_reply", precedence),
    ("autoreply_header", "X-Autoreply / X-Autorespond / X-Auto-Response", autoreply_header),
    ("list_headers", "List-Id / List-Unsubscribe / List-Post: a mailing list", list_headers),
    ("robot_sender", "From mailer-daemon, postmaster, noreply and the like", robot_sender),
    ("ooo_subject", "subject begins with a localised out-of-office phrase", ooo_subject),
    ("machine_report", "a delivery or read report that is not a failure", report),
)


def automated_reason(msg: Inbound) -> tuple[str, str] | None:
    """(check name, reason) of the first automated signal, or None for a person's mail."""
    for name, _description, check in AUTOMATED_CHECKS:
        reason = check(msg)
        if reason:
            return name, reason
    return None


def is_automated(msg: Inbound) -> bool:
    return automated_reason(msg) is not None


def is_out_of_office(msg: Inbound) -> bool:
    """An out-of-office or vacation reply (as opposed to a list or a notification)."""
    auto = msg.header("auto-submitted").split(";", 1)[0].strip().lower()
    return (
        auto == "auto-replied"
        or ooo_subject(msg) is not None
        or autoreply_header(msg) is not None
        or msg.header("precedence").strip().lower() == "auto_reply"
    )


# --------------------------------------------------------------------------- away until

_MONTHS: dict[str, int] = {}
for _num, _names in enumerate(
    (
        "january jan janvier janv enero ene januar jänner januari gennaio gen janeiro "
        "stycznia styczeń",
        "february feb février fevrier févr fevr febrero februar februari febbraio fevereiro fev "
        "lutego luty",
        "march mar mars marzo märz maerz maart março marco marca marzec marts",
        "april apr avril abril aprile kwietnia kwiecień",
        "may mai mayo mei maj maggio maio maja",
        "june jun juin junio juni giugno junho czerwca czerwiec",
        "july jul juillet julio juli luglio julho lipca lipiec",
        "august aug août aout agosto augustus augusti sierpnia sierpień",
        "september sep sept septembre septiembre setiembre settembre setembro września wrzesień",
        "october oct octobre octubre oktober oktobre ottobre outubro października październik",
        "november nov novembre noviembre novembro listopada listopad",
        "december dec décembre decembre diciembre dezember desember dicembre dezembro grudnia "
        "grudzień",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _num

# Grouped by first letter, longest first within a group: the same matches as one flat
# alternation of ~130 names, which was tried name by name at every word (1.4 µs a character).
_MONTH_GROUPS: dict[str, list[str]] = {}
for _name in sorted(_MONTHS, key=len, reverse=True):
    _MONTH_GROUPS.setdefault(_name[0], []).append(re.escape(_name[1:]))
_MONTH_RE = "|".join(f"{re.escape(k)}(?:{'|'.join(v)})" for k, v in _MONTH_GROUPS.items())
_ORD = r"(?:st|nd|rd|th|er|e|º|\.)?"
_DATE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ymd", re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")),
    ("dmy_num", re.compile(r"(?<![\d./])(\d{1,2})[./](\d{1,2})[./](\d{4}|\d{2})(?![\d])")),
    (
        "d_month_y",
        re.compile(
            rf"(?<!\d)(\d{{1,2}}){_ORD}\s*(?:de\s+|of\s+)?({_MONTH_RE})\b\.?"
            rf"(?:,?\s*(?:de\s+)?(\d{{4}}))?",
            re.IGNORECASE,
        ),
    ),
    (
        "month_d_y",
        re.compile(
            rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}}){_ORD}(?!\d)(?:,?\s*(\d{{4}}))?",
            re.IGNORECASE,
        ),
    ),
)

# Words that introduce the day someone is back (or away until), lower-case, by language.
_RETURN_WORDS = re.compile(
    r"\b(?:back|return|returning|returns|until|till|til|through|thru|reachable|available"
    r"|retour|jusqu'au|jusqu’au|jusqu'à|rentre|reviens|reprendrai|"
    r"hasta|regreso|regresaré|regresare|volveré|volvere|vuelta|vuelvo|"
    r"bis|zurück|zuruck|wieder|ab|"
    r"tillbaka|åter|tilbake|tilbage|igen|t\.o\.m|"
    r"terug|t/m|tot|weer|"
    r"rientro|rientrerò|fino|tornerò|torno|"
    r"retorno|volto|até|regresso|"
    r"powrót|powrot|wracam|dnia)\b",
    re.IGNORECASE,
)
_QUOTE_START = re.compile(
    r"^(?:>|-{2,}\s*original message|-----ursprüngliche|de\s*:|from\s*:"
    r"|on .* wrote:|le .* a écrit)",
    re.IGNORECASE | re.MULTILINE,
)


def _dates_in(text: str) -> list[tuple[int, int, int, int, int]]:
    """(year, 0 when not given; month, day, start, end) for every date-looking span."""
    found: list[tuple[int, int, int, int, int]] = []
    for kind, pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            g = m.groups()
            try:
                if kind == "ymd":
                    y, mo, d = int(g[0]), int(g[1]), int(g[2])
                elif kind == "dmy_num":
                    d, mo, y = int(g[0]), int(g[1]), int(g[2])
                    if mo > 12 >= d:  # written month first (US style)
                        d, mo = mo, d
                    if y < 100:
                        y += 2000
                elif kind == "d_month_y":
                    d, mo = int(g[0]), _MONTHS[g[1].lower()]
                    y = int(g[2]) if g[2] else 0
                else:
                    mo, d = _MONTHS[g[0].lower()], int(g[1])
                    y = int(g[2]) if g[2] else 0
            except (KeyError, ValueError):
                continue
            found.append((y, mo, d, m.start(), m.end()))
    return found


def _strip_quoted(text: str) -> str:
    m = _QUOTE_START.search(text)
    return text[: m.start()] if m else text


def away_until(msg: Inbound, now_hint: datetime | None) -> datetime | None:
    """The day an out-of-office reply says its sender is back (00:00 UTC), or None if unsure.

    Only dates shortly after a word such as "back", "until", "retour", "hasta", "bis" count;
    the latest of them wins. A date without a year needs `now_hint` (usually the message's
    Date) and is taken as its next occurrence; dates in the past or more than a year ahead
    of `now_hint` are not believed.
    """
    text = unicodedata.normalize("NFC", f"{msg.subject}\n{_strip_quoted(msg.text[:5000])}")
    best: date | None = None
    today = now_hint.astimezone(UTC).date() if now_hint else None
    for y, mo, d, start, _end in _dates_in(text):
        window = text[max(0, start - 50) : start]
        if not _RETURN_WORDS.search(window):
            continue
        if not y:
            if today is None:
                continue
            y = today.year
            try:
                if date(y, mo, d) < today - timedelta(days=7):
                    y += 1
            except ValueError:
                continue
        try:
            when = date(y, mo, d)
        except ValueError:
            continue
        if today is not None and not (
            today - timedelta(days=1) <= when <= today + timedelta(days=400)
        ):
            continue
        if best is None or when > best:
            best = when
    if best is None:
        return None
    return datetime(best.year, best.month, best.day, tzinfo=UTC)
