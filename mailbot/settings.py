"""Configuration: TOML file + `MAILBOT_<SECTION>_<KEY>` environment overrides → frozen dataclasses.

Decides what a valid configuration is. A bad value names its key and what is wrong; secrets
(passwords, the signing secret) are accepted only from the environment, never from the file.
Every key, its default and its meaning is documented in `config/mailbot.example.toml`.
"""

from __future__ import annotations

import calendar
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email

from mailbot.domain.model import LANGUAGES
from mailbot.edges.providers import PROVIDERS, SendingLimits, preset, sending_limits

SECRET_KEYS = {
    ("imap", "password"),
    ("smtp", "password"),
    ("program", "secret"),
    ("oauth", "client_secret"),
    ("oauth", "refresh_token"),
}
TlsMode = Literal["none", "starttls", "ssl"]  # _validate holds imap.tls and smtp.tls to these
TLS_MODES = ("none", "starttls", "ssl")
TRANSPORTS = ("imap", "maildir")
AUTH_MODES = ("password", "oauth2")
OAUTH_MECHANISMS = ("xoauth2", "oauthbearer")
OAUTH_LOGIN_FLOWS = ("device", "loopback")


class ConfigError(ValueError):
    """A configuration problem, naming the key."""


@dataclass(frozen=True)
class ProgramSettings:
    name: str = "International Librarians Network"
    address: str = "coordinator@example.org"
    coordinators: tuple[str, ...] = ("director@example.org",)
    languages: tuple[str, ...] = LANGUAGES
    timezone: str = "UTC"
    secret: str = ""
    auto_approve: bool = False
    max_auto_replies_per_day: int = 5
    max_message_bytes: int = 10_000_000
    transport: str = "imap"  # imap | maildir (the demo's local mailbox)
    maildir: str = "var/maildir"  # used when transport = "maildir"
    topics: str = ""  # the topics file; "" = config/topics.toml beside the code


@dataclass(frozen=True)
class ImapSection:
    host: str = "127.0.0.1"
    port: int = 143
    username: str = ""
    password: str = ""
    auth: str = "password"  # password | oauth2 (SASL XOAUTH2/OAUTHBEARER, see [oauth])
    tls: TlsMode = "starttls"
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    # Partners' mail waits here for privacy.partner_mail_days instead of being expunged at
    # once; created on demand, used only when that setting is above 0.
    partner_hold_folder: str = "Partner-mail"
    batch_size: int = 200
    poll_seconds: int = 60
    idle: bool = True
    ca_file: str = ""
    # A message whose parsing or classifying takes longer is quarantined (flows.time_budget).
    message_budget_seconds: float = 10.0
    # authserv-ids (RFC 8601) our receiving server writes in Authentication-Results; DMARC is
    # read only from those fields. () = only the topmost field.
    authserv_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class SmtpSection:
    host: str = "127.0.0.1"
    port: int = 587
    username: str = ""
    password: str = ""
    auth: str = "password"  # password | oauth2 (SASL XOAUTH2/OAUTHBEARER, see [oauth])
    tls: TlsMode = "starttls"
    ca_file: str = ""
    give_up_after_days: float = 5.0  # transient failures are retried this long (RFC 5321: 4-5)
    # A row a crash left mid-send is sent once more, with the same Message-ID, this long after
    # (0: never by itself, only `mailbot outbox resend`).
    resend_uncertain_after_minutes: float = 15.0
    batch_size: int = 200
    connections: int = 4
    # Recipients the provider lets this mailbox send a minute / an hour / a day (0 = no cap);
    # by default the provider preset's (edges/providers.py). flows.send_window keeps to them.
    max_per_minute: int = 0
    max_per_hour: int = 0
    max_per_day: int = 0


@dataclass(frozen=True)
class OAuthSection:
    """OAuth2 logins (imap.auth / smtp.auth = "oauth2"): where and how to get access tokens."""

    token_endpoint: str = ""  # "{tenant}" is replaced by `tenant`
    device_authorization_endpoint: str = ""  # RFC 8628, for `mailbot oauth login`
    authorization_endpoint: str = ""  # the loopback redirect flow, for `mailbot oauth login`
    tenant: str = "organizations"  # Microsoft: the directory (tenant) id or domain
    client_id: str = ""
    client_secret: str = ""  # secret: MAILBOT_OAUTH_CLIENT_SECRET (none for public clients)
    refresh_token: str = ""  # secret: MAILBOT_OAUTH_REFRESH_TOKEN (else `mailbot oauth login`)
    scopes: tuple[str, ...] = ()
    mechanism: str = "xoauth2"  # xoauth2 | oauthbearer
    login_flow: str = "device"  # device | loopback
    refresh_before_seconds: int = 300  # renew an access token this long before it expires

    def endpoint(self, url: str) -> str:
        return url.replace("{tenant}", self.tenant)


@dataclass(frozen=True)
class DatabaseSection:
    url: str = "sqlite:///var/mailbot.sqlite3"


@dataclass(frozen=True)
class ScheduleSection:
    deliver_every_seconds: int = 30
    digest_weekday: int = 0  # Monday
    digest_hour: int = 8  # in program.timezone
    topic_hour: int = 9  # in each recipient's own zone


@dataclass(frozen=True)
class MatchingSection:
    cap_share: float = 0.20
    odd: str = "trio"  # trio | defer
    weight_shared_interest: float = 1.5
    weight_wish_met: float = 3.0
    weight_zone_overlap: float = 0.25
    weight_common_language: float = 1.0


@dataclass(frozen=True)
class LadderSection:
    # Silence thresholds in days; 0 = derived from the round's topic_every_days r
    # (domain.ladder.thresholds: quiet = one_sided = 2r, second = 3r, stalled = 4r).
    quiet_days: int = 0
    one_sided_days: int = 0
    second_nudge_days: int = 0
    stalled_days: int = 0
    first_week_days: int = 7
    nudge_cooldown_days: int = 7
    auto_resolve: bool = True  # an exhausted pair is resolved by the program, not flagged
    silent_cycles_to_exclude: int = 3
    bounce_threshold: float = 3.0
    bounce_forget_days: int = 30


@dataclass(frozen=True)
class PoolSection:
    """The waiting pool of a running round (`domain.waiting_pool`)."""

    wait_days: int = 28  # nobody waits longer for a partner: then carried to the next round
    min_days_left: int = 28  # no new pair in a round's last days: they are carried instead
    late_join_share: float = 0.5  # a late form joins the running round in this first share of it


@dataclass(frozen=True)
class PrivacySection:
    """How long personal data and program mail are kept (`domain.retention`, docs/PRIVACY.md)."""

    retain_months: int = 24  # inactive and in no running or future round this long → erased
    processed_mail_days: int = 90  # handled (and quarantined) program mail kept this long
    # Partners' conversation, once recorded: 0 = expunged at once; N = moved to
    # imap.partner_hold_folder and removed N days after it arrived.
    partner_mail_days: int = 0


@dataclass(frozen=True)
class RoundSettings:
    name: str
    applications_open: date
    applications_close: date
    matching_date: date
    start: date
    end: date
    topic_every_days: int = 14


@dataclass(frozen=True)
class Settings:
    program: ProgramSettings = field(default_factory=ProgramSettings)
    imap: ImapSection = field(default_factory=ImapSection)
    smtp: SmtpSection = field(default_factory=SmtpSection)
    oauth: OAuthSection = field(default_factory=OAuthSection)
    database: DatabaseSection = field(default_factory=DatabaseSection)
    schedule: ScheduleSection = field(default_factory=ScheduleSection)
    matching: MatchingSection = field(default_factory=MatchingSection)
    ladder: LadderSection = field(default_factory=LadderSection)
    pool: PoolSection = field(default_factory=PoolSection)
    privacy: PrivacySection = field(default_factory=PrivacySection)
    rounds: tuple[RoundSettings, ...] = ()
    source: str = "<defaults>"
    provider: str = "generic"  # microsoft365 | google | gmail | generic: presets, see providers

    @property
    def program_domain(self) -> str:
        return self.program.address.rpartition("@")[2]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.program.timezone)

    @property
    def partner_hold(self) -> str:
        """The folder recorded partner mail waits in; "" when it is expunged at once."""
        return self.imap.partner_hold_folder if self.privacy.partner_mail_days else ""

    @property
    def lapsed_hold(self) -> str:
        """The holding folder partner mail may still wait in from when `partner_mail_days` was
        above 0 (emptied and deleted by the retention pass, searched by DELETE MY DATA until
        then); "" while partner mail is held, or when the name is blank or another program
        folder's (never to be emptied)."""
        i, hold = self.imap, self.imap.partner_hold_folder
        taken = {i.folder, i.processed_folder, i.quarantine_folder}
        if self.privacy.partner_mail_days or not hold.strip() or hold.upper() == "INBOX":
            return ""
        return "" if hold in taken else hold

    @property
    def program_folders(self) -> tuple[str, ...]:
        """The folders mail is filed in (Processed, Quarantine, the holding folder when partner
        mail is held), each once."""
        i = self.imap
        return tuple(
            dict.fromkeys(
                f for f in (i.processed_folder, i.quarantine_folder, self.partner_hold) if f
            )
        )


_SECTIONS: dict[str, type] = {
    "program": ProgramSettings,
    "imap": ImapSection,
    "smtp": SmtpSection,
    "oauth": OAuthSection,
    "database": DatabaseSection,
    "schedule": ScheduleSection,
    "matching": MatchingSection,
    "ladder": LadderSection,
    "pool": PoolSection,
    "privacy": PrivacySection,
}

# Keys that once existed, with what replaced them: named instead of "unknown key".
_RETIRED: dict[str, dict[str, str]] = {
    "smtp": {"max_attempts": "replaced by smtp.give_up_after_days (retries end by time now)"},
}


def _coerce(key: str, raw: Any, default: Any) -> Any:
    """Turn a TOML or environment value into the type of the default, or say why not."""
    kind = type(default)
    if isinstance(raw, str) and kind is not str:
        text = raw.strip()
        if kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ConfigError(f"{key}: expected true or false, got {raw!r}")
        if kind is tuple:
            return tuple(p.strip() for p in text.split(",") if p.strip())
        try:
            return kind(text)
        except ValueError:
            raise ConfigError(f"{key}: expected {kind.__name__}, got {raw!r}") from None
    if kind is tuple:
        if not isinstance(raw, list | tuple) or not all(isinstance(x, str) for x in raw):
            raise ConfigError(f"{key}: expected a list of strings, got {raw!r}")
        return tuple(raw)
    if kind is float and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    if not isinstance(raw, kind) or (kind is int and isinstance(raw, bool)):
        raise ConfigError(f"{key}: expected {kind.__name__}, got {raw!r}")
    return raw


def _section(
    name: str,
    table: Mapping[str, Any],
    env: Mapping[str, str],
    preset: Mapping[str, Any] | None = None,
) -> Any:
    """The section from the file's table and the environment; `preset` (the provider's
    values) stands in for the built-in defaults."""
    cls = _SECTIONS[name]
    known = {f.name: f for f in fields(cls)}
    for old in sorted(set(table) & set(_RETIRED.get(name, {}))):
        raise ConfigError(f"{name}.{old}: {_RETIRED[name][old]}; remove it")
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(f"{name}.{unknown[0]}: unknown key (known: {', '.join(known)})")
    values: dict[str, Any] = {}
    for fname, f in known.items():
        key = f"{name}.{fname}"
        if (name, fname) in SECRET_KEYS and fname in table:
            raise ConfigError(
                f"{key}: secrets are read only from the environment "
                f"(MAILBOT_{name.upper()}_{fname.upper()}), remove it from the file"
            )
        default = f.default
        raw: Any = table.get(fname, (preset or {}).get(fname, default))
        env_name = f"MAILBOT_{name.upper()}_{fname.upper()}"
        if env_name in env:
            raw = env[env_name]
        values[fname] = _coerce(key, raw, default)
    return cls(**values)


def _date(key: str, raw: Any) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ConfigError(f"{key}: expected a date YYYY-MM-DD, got {raw!r}") from None


def _rounds(items: Any) -> tuple[RoundSettings, ...]:
    if not isinstance(items, list):
        raise ConfigError("rounds: expected [[rounds]] tables")
    out: list[RoundSettings] = []
    for i, item in enumerate(items):
        where = f"rounds[{i}]"
        if not isinstance(item, dict) or "name" not in item:
            raise ConfigError(f"{where}.name: missing")
        start = _date(f"{where}.start", item.get("start"))
        opens = _date(f"{where}.applications_open", item.get("applications_open", start))
        closes = _date(f"{where}.applications_close", item.get("applications_close", start))
        matching = _date(f"{where}.matching_date", item.get("matching_date", closes))
        end = _date(f"{where}.end", item["end"]) if "end" in item else _add_months(start, 4)
        every = item.get("topic_every_days", 14)
        if not isinstance(every, int) or every < 1:
            raise ConfigError(f"{where}.topic_every_days: expected a positive integer")
        if not opens <= closes <= matching <= start < end:
            raise ConfigError(
                f"{where}: dates must satisfy applications_open <= applications_close "
                "<= matching_date <= start < end"
            )
        out.append(RoundSettings(str(item["name"]), opens, closes, matching, start, end, every))
    names = [r.name for r in out]
    if len(set(names)) != len(names):
        raise ConfigError("rounds: round names must be unique")
    return tuple(sorted(out, key=lambda r: r.applications_open))


def _add_months(d: date, months: int) -> date:
    month = d.month - 1 + months
    year = d.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _check_address(key: str, value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ConfigError(f"{key}: not an email address: {value!r} ({exc})") from None


def _validate(s: Settings) -> Settings:
    p = s.program
    address = _check_address("program.address", p.address)
    coordinators = tuple(_check_address("program.coordinators", c) for c in p.coordinators)
    if not coordinators:
        raise ConfigError("program.coordinators: at least one coordinator address is needed")
    if address in coordinators:
        raise ConfigError(
            "program.coordinators: use the coordinators' own addresses, not the program "
            "address (mail from the program address is treated as our own, a loop)"
        )
    for lang in p.languages:
        if lang not in LANGUAGES:
            raise ConfigError(f"program.languages: {lang!r} is not one of {', '.join(LANGUAGES)}")
    try:
        ZoneInfo(p.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"program.timezone: unknown IANA time zone {p.timezone!r}") from None
    if p.transport not in TRANSPORTS:
        raise ConfigError(f"program.transport: expected one of {', '.join(TRANSPORTS)}")
    if p.max_auto_replies_per_day < 1:
        raise ConfigError("program.max_auto_replies_per_day: must be at least 1")
    for sec in ("imap", "smtp"):
        tls = getattr(s, sec).tls
        if tls not in TLS_MODES:
            raise ConfigError(f"{sec}.tls: expected one of {', '.join(TLS_MODES)}, got {tls!r}")
        port = getattr(s, sec).port
        if not 0 < port < 65536:
            raise ConfigError(f"{sec}.port: {port} is not a TCP port")
    if not 0 < s.smtp.give_up_after_days <= 30:
        raise ConfigError(
            "smtp.give_up_after_days: expected more than 0 and at most 30 days "
            "(RFC 5321 suggests 4 to 5)"
        )
    if not 0 <= s.smtp.resend_uncertain_after_minutes <= 7 * 24 * 60:
        raise ConfigError(
            "smtp.resend_uncertain_after_minutes: expected 0 (only by hand) to a week of minutes"
        )
    if not 1 <= s.smtp.connections <= 32:
        raise ConfigError("smtp.connections: expected 1 to 32 connections at once")
    for cap in ("max_per_minute", "max_per_hour", "max_per_day"):
        if getattr(s.smtp, cap) < 0:
            raise ConfigError(f"smtp.{cap}: expected 0 (no cap) or more recipients")
    _validate_oauth(s)
    _validate_ladder(s.ladder)
    if not 1 <= s.imap.batch_size <= 500:
        raise ConfigError("imap.batch_size: keep it between 1 and 500 (aioimaplib is quadratic)")
    if not 0 < s.imap.message_budget_seconds <= 3600:
        raise ConfigError("imap.message_budget_seconds: expected more than 0, at most 3600")
    for authserv_id in s.imap.authserv_ids:
        if not authserv_id or any(c in authserv_id for c in ' \t;()"'):
            raise ConfigError(
                f"imap.authserv_ids: {authserv_id!r} is not an authserv-id "
                "(the first word of your server's Authentication-Results, e.g. mx.example.org)"
            )
    if not 0 < s.matching.cap_share <= 1:
        raise ConfigError("matching.cap_share: expected a share between 0 and 1")
    if s.matching.odd not in ("trio", "defer"):
        raise ConfigError("matching.odd: expected trio or defer")
    if s.pool.wait_days < 1 or s.pool.min_days_left < 0:
        raise ConfigError("pool.wait_days: at least 1 day; pool.min_days_left: 0 or more")
    if not 0 <= s.pool.late_join_share <= 1:
        raise ConfigError("pool.late_join_share: expected a share between 0 and 1")
    if not 1 <= s.privacy.retain_months <= 120:
        raise ConfigError("privacy.retain_months: expected 1 to 120 months")
    if not 1 <= s.privacy.processed_mail_days <= 3650:
        raise ConfigError("privacy.processed_mail_days: expected 1 to 3650 days")
    _validate_partner_hold(s)
    if not s.database.url:
        raise ConfigError("database.url: empty")
    prog = ProgramSettings(**{**p.__dict__, "address": address, "coordinators": coordinators})
    return Settings(**{**s.__dict__, "program": prog})


def _with_limits(
    presets: Mapping[str, Mapping[str, Any]], limits: SendingLimits
) -> dict[str, Mapping[str, Any]]:
    """The provider's sending limits as defaults of smtp.max_per_minute/hour/day."""
    caps = {
        "max_per_minute": limits.per_minute or 0,
        "max_per_hour": limits.per_hour or 0,
        "max_per_day": limits.per_day or 0,
    }
    return {**presets, "smtp": {**caps, **presets.get("smtp", {})}}


def oauth_used(s: Settings) -> bool:
    """Whether IMAP or SMTP logs in with OAuth2 (SMTP without a username does not log in)."""
    return s.imap.auth == "oauth2" or (s.smtp.auth == "oauth2" and bool(s.smtp.username))


def _validate_partner_hold(s: Settings) -> None:
    days, hold = s.privacy.partner_mail_days, s.imap.partner_hold_folder
    if not 0 <= days <= 3650:
        raise ConfigError(
            f"privacy.partner_mail_days: expected 0 (expunged at once) to 3650 days, got {days}"
        )
    if not days:
        return
    if not hold.strip():
        raise ConfigError("imap.partner_hold_folder: empty (needed when partner_mail_days > 0)")
    # Held mail moved into the watched folder would be read again for ever; into Processed or
    # Quarantine it would be emptied on their schedule, not partner_mail_days'.
    taken = {s.imap.folder, s.imap.processed_folder, s.imap.quarantine_folder, "INBOX"}
    if hold.upper() == "INBOX" or hold in taken:
        raise ConfigError(
            f"imap.partner_hold_folder: {hold!r} is already the watched, Processed or "
            "Quarantine folder; partner mail needs a folder of its own"
        )


def _validate_ladder(lad: LadderSection) -> None:
    steps = ("quiet_days", "one_sided_days", "second_nudge_days", "stalled_days")
    for key in (*steps, "first_week_days", "nudge_cooldown_days"):
        if getattr(lad, key) < 0:
            raise ConfigError(f"ladder.{key}: expected 0 or more days")
    first = max(lad.quiet_days, lad.one_sided_days)
    if lad.second_nudge_days and first > lad.second_nudge_days:
        raise ConfigError("ladder.second_nudge_days: must not come before the first nudge")
    if lad.stalled_days and max(first, lad.second_nudge_days) > lad.stalled_days:
        raise ConfigError("ladder.stalled_days: must not come before the nudges")


def _validate_oauth(s: Settings) -> None:
    if s.provider not in PROVIDERS:
        raise ConfigError(f"provider: expected one of {', '.join(PROVIDERS)}, got {s.provider!r}")
    for sec in ("imap", "smtp"):
        auth = getattr(s, sec).auth
        if auth not in AUTH_MODES:
            raise ConfigError(f"{sec}.auth: expected one of {', '.join(AUTH_MODES)}, got {auth!r}")
    o = s.oauth
    if o.mechanism not in OAUTH_MECHANISMS:
        raise ConfigError(f"oauth.mechanism: expected one of {', '.join(OAUTH_MECHANISMS)}")
    if o.login_flow not in OAUTH_LOGIN_FLOWS:
        raise ConfigError(f"oauth.login_flow: expected one of {', '.join(OAUTH_LOGIN_FLOWS)}")
    if not 0 <= o.refresh_before_seconds <= 3000:
        raise ConfigError("oauth.refresh_before_seconds: expected 0 to 3000 seconds")
    if not oauth_used(s):
        return
    if not o.token_endpoint:
        raise ConfigError('oauth.token_endpoint: needed for auth = "oauth2" (or set provider)')
    if not o.client_id:
        raise ConfigError(
            'oauth.client_id: needed for auth = "oauth2" (the app registration\'s client id)'
        )
    if s.imap.auth == "oauth2" and not s.imap.username:
        raise ConfigError('imap.username: the mailbox\'s address is needed for auth = "oauth2"')


def load(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the file (or embedded defaults when None), apply the environment, validate."""
    env = os.environ if env is None else env
    path = path or env.get("MAILBOT_CONFIG") or None
    data: dict[str, Any] = {}
    source = "<defaults>"
    if path:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {p}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from None
        source = str(p)
    unknown = sorted(set(data) - set(_SECTIONS) - {"rounds", "provider"})
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown section")
    provider = env.get("MAILBOT_PROVIDER", data.get("provider", "generic"))
    if provider not in PROVIDERS:
        raise ConfigError(f"provider: expected one of {', '.join(PROVIDERS)}, got {provider!r}")
    presets = _with_limits(preset(provider), sending_limits(provider))
    sections = {
        name: _section(name, data.get(name, {}), env, presets.get(name)) for name in _SECTIONS
    }
    rounds = _rounds(data.get("rounds", []))
    settings = _validate(Settings(**sections, rounds=rounds, source=source, provider=provider))
    if not settings.program.secret:
        raise ConfigError(
            "program.secret: set MAILBOT_PROGRAM_SECRET (signs reply addresses; keep it stable)"
        )
    return settings
