"""Decides what one inbound message is: the ordered rule table of EMAIL-RULES.md → `Verdict`.

`RULES` is read top to bottom (Mailman's chain): each row is a small named predicate, the
`Kind` it yields and a description. A row with a kind ends the walk when it fires; a row
without one only records what it saw (routing) and the walk goes on. Every row that fired
is recorded in `Verdict.hits`, in order, and the deciding row writes `Verdict.reason`.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property

from mailbot.domain import autoreply, bounces, commands, coordinator_reply, forms, intents, tokens
from mailbot.domain.bounces import read_tag
from mailbot.domain.model import (
    ApplicationResult,
    BounceInfo,
    Command,
    FaqTopic,
    Inbound,
    Kind,
    Route,
    RouteHit,
    Verdict,
)


@dataclass(frozen=True)
class ClassifyContext:
    program_address: str  # e.g. coordinator@example.org
    secret: str  # for tokens.read_tag / tokens.is_our_message_id
    own_addresses: frozenset[str]  # addresses whose mail is our own (plus variants recognised)
    coordinators: frozenset[str] = frozenset()
    already_seen: bool = False  # the flow looked up Message-ID (or raw sha256) in the DB
    sender_known: bool = False  # From is a participant or coordinator we know


@dataclass(frozen=True)
class Match:
    """What a firing row found: the sentence for `Verdict.reason` and the details."""

    reason: str
    bounce: BounceInfo | None = None
    command: Command | None = None
    application: ApplicationResult | None = None
    faq: FaqTopic | None = None
    language: str | None = None  # the person's words tell it: en | fr | es


@dataclass
class State:
    """The message, the context and what earlier rows found (routes)."""

    msg: Inbound
    ctx: ClassifyContext
    routes: list[RouteHit] = field(default_factory=list)
    intent: intents.Intent | None = None  # read once, by the first row that needs it

    @property
    def today(self) -> date | None:
        return self.msg.date.date() if self.msg.date else None

    @cached_property
    def keyword(self) -> Command | None:
        """The keyword command of the subject or first line, read once."""
        return commands.parse_command(self.msg.subject, self.msg.text, today=self.today)

    def read_intent(self) -> intents.Intent:
        if self.intent is None:
            self.intent = intents.intent_with(
                self.msg.subject, self.msg.text, self.keyword, today=self.today
            )
        return self.intent

    @property
    def from_coordinator(self) -> bool:
        return bool(self.msg.from_addr) and self.msg.from_addr in self.ctx.coordinators

    def is_ours(self, address: str) -> bool:
        address = address.lower()
        own = self.ctx.own_addresses
        return (
            address in own
            or address in {a.lower() for a in own}
            or tokens.is_program_address(address, self.ctx.program_address)
        )

    @property
    def others(self) -> list[str]:
        """To/Cc recipients that are neither the program nor one of our own addresses."""
        return [a for a in (*self.msg.to, *self.msg.cc) if not self.is_ours(a)]


@dataclass(frozen=True)
class Rule:
    name: str
    kind: Kind | None  # None: the row records and the walk goes on
    description: str
    check: Callable[[State], Match | None]


# --------------------------------------------------------------------------- predicates


def _duplicate(s: State) -> Match | None:
    if not s.ctx.already_seen:
        return None
    if s.msg.message_id:
        return Match(f"Message-ID <{s.msg.message_id}> was seen before")
    return Match(f"a message with the same raw bytes (sha256 {s.msg.raw_sha256[:12]}…) was seen")


def _loop_sender(s: State) -> Match | None:
    if s.msg.from_addr and s.is_ours(s.msg.from_addr):
        return Match(f"From {s.msg.from_addr} is one of our own addresses")
    return None


def _loop_header(s: State) -> Match | None:
    for value in s.msg.headers.get("x-loop", ()):
        for addr in value.replace(",", " ").replace("<", " ").replace(">", " ").split():
            if "@" in addr and s.is_ours(addr):
                return Match(f"X-Loop names our address {addr.lower()}")
    names = sorted(n for n in s.msg.headers if n.startswith("x-mailbot-"))
    if names:
        return Match(f"carries our own header {names[0]}")
    return None


def _bounce(s: State) -> Match | None:
    info = bounces.read_bounce(
        s.msg, s.ctx.program_address, s.ctx.secret, own_addresses=s.ctx.own_addresses
    )
    if info is None:
        return None
    who = ", ".join(info.recipients) or "an unknown recipient"
    if s.msg.dsn and (info.status or info.recipients):
        actions = {b.get("action", "").lower() for b in s.msg.dsn} - {""}
        action = "delayed" if not info.permanent and "failed" not in actions else "failed"
        reason = f"DSN with Action: {action}, Status: {info.status or '?'} for {who}"
    elif info.token and not info.recipients:
        reason = f"sent to our bounce address (+b-{info.token}) without a readable report"
    else:
        kind = "permanent" if info.permanent else "transient"
        status = f", status {info.status}" if info.status else ""
        reason = f"plain-text {kind} bounce report{status} for {who}"
    if info.token and info.recipients:
        reason += f" (to our bounce address +b-{info.token})"
    return Match(reason, bounce=info)


def _automated_check(name: str) -> Callable[[State], Match | None]:
    check = {n: c for n, _d, c in autoreply.AUTOMATED_CHECKS}[name]

    def run(s: State) -> Match | None:
        reason = check(s.msg)
        if reason is None:
            return None
        if autoreply.is_out_of_office(s.msg):
            reason = f"out-of-office reply: {reason}"
        return Match(reason)

    return run


def _route_tags(s: State) -> Match | None:
    found: list[str] = []
    for via, addrs in (("to", s.msg.to), ("cc", s.msg.cc), ("delivered_to", s.msg.delivered_to)):
        for addr in addrs:
            tag = read_tag(addr, s.ctx.program_address, s.ctx.secret)
            if tag is None:
                continue
            hit = RouteHit(route=tag[0], token=tag[1], via=via)
            if all((h.route, h.token) != (hit.route, hit.token) for h in s.routes):
                s.routes.append(hit)
                found.append(f"+{hit.route.value}-{hit.token} in {via}")
    return Match("signed tag " + ", ".join(found)) if found else None


def _route_thread(s: State) -> Match | None:
    found: list[str] = []
    for via, ids in (("in_reply_to", s.msg.in_reply_to), ("references", s.msg.references)):
        for mid in ids:
            digest = tokens.is_our_message_id(mid, s.ctx.secret)
            if digest is None:
                continue
            if all(h.token != digest for h in s.routes if h.via in ("in_reply_to", "references")):
                s.routes.append(RouteHit(route=Route.REPLY, token=digest, via=via))
                found.append(f"{via} <{mid}>")
    return Match("answers our message " + ", ".join(found)) if found else None


def _pair_conversation(s: State) -> Match | None:
    pairs = [h for h in s.routes if h.route is Route.PAIR]
    others = s.others
    if pairs and others:
        return Match(
            f"partner conversation (pair tag +p-{pairs[0].token}, also to {others[0]}): "
            "recorded as contact, never read for commands"
        )
    return None


def _addressed_to_program(s: State) -> bool:
    """Commands are read only from mail whose To is the program (or a tag), or has no To."""
    return not s.msg.to or any(s.is_ours(a) for a in s.msg.to)


def _command(s: State) -> Match | None:
    if not _addressed_to_program(s):
        return None
    today = s.today
    if s.from_coordinator:
        cmd = s.keyword
    elif s.keyword is None:
        cmd = None  # no keyword: read_intent's sentences are for the rows below the form's
    else:  # a keyword, its PAUSE span read from the whole text (domain.intents)
        intent = s.read_intent()
        cmd = intent.command if intent.command and not intent.command.sentence else None
    if cmd is None and s.msg.from_addr and s.msg.from_addr in s.ctx.coordinators:
        # a coordinator's reply may hold many commands, one a line, after a line of their own
        cmd = coordinator_reply.first_command(s.msg.subject, s.msg.text, today=today)
    if cmd is None:
        return None
    return Match(f"command {cmd.name.value!r} in the {cmd.source}", command=cmd)


def _person_intent(s: State) -> intents.Intent | None:
    """What a participant's or a stranger's mail to the program asks for; never a
    coordinator's (their mail holds commands only)."""
    if not _addressed_to_program(s) or s.from_coordinator:
        return None
    return s.read_intent()


def _sentence_command(s: State) -> Match | None:
    intent = _person_intent(s)
    if intent is None or intent.command is None or not intent.command.sentence:
        return None
    cmd = intent.command
    return Match(
        f"command {cmd.name.value!r} read from a sentence in the {cmd.source}", command=cmd
    )


def _faq(s: State) -> Match | None:
    intent = _person_intent(s)
    if intent is None or intent.faq is None:
        return None
    if not s.ctx.sender_known and intent.faq is not FaqTopic.APPLY:
        return None  # a stranger's other questions are held for the coordinators (unknown)
    return Match(
        f"a question the FAQ answers: {intent.faq.value}", faq=intent.faq, language=intent.lang
    )


def _question(s: State) -> Match | None:
    """A participant's own words to the program that no row understood: for a person. Mail
    reaching us only by a pair's tracking address stays the pair's (reply_routed)."""
    intent = _person_intent(s)
    if intent is None or intent.kind is not intents.IntentKind.QUESTION:
        return None
    if not s.ctx.sender_known:
        return None
    if s.routes and all(h.route is Route.PAIR for h in s.routes):
        return None
    lang = f" ({intent.lang})" if intent.lang else ""
    return Match(
        f"a question for a person{lang}: no command or FAQ topic in it", language=intent.lang
    )


def _application(s: State) -> Match | None:
    result = forms.read_application(
        s.msg.text, from_addr=s.msg.from_addr, from_name=s.msg.from_name
    )
    if result is None:
        return None
    if result.valid:
        return Match("a complete application form", application=result)
    fields = ", ".join(dict.fromkeys(p.field.value for p in result.problems)) or "?"
    return Match(f"an application form with problems in: {fields}", application=result)


def _reply_routed(s: State) -> Match | None:
    if not s.routes:
        return None
    h = s.routes[0]
    if h.via in ("in_reply_to", "references"):
        return Match(f"a reply to one of our messages (digest {h.token} in {h.via})")
    what = {
        Route.PAIR: "a pair's tracking address",
        Route.REPLY: "a reply key",
        Route.BOUNCE: "our bounce address",
    }[h.route]
    return Match(f"a reply to {what} (+{h.route.value}-{h.token} in {h.via})")


def _reply_known_sender(s: State) -> Match | None:
    if s.ctx.sender_known or (s.msg.from_addr and s.msg.from_addr in s.ctx.coordinators):
        return Match(f"from a known sender {s.msg.from_addr}")
    return None


def _unknown(s: State) -> Match | None:
    who = s.msg.from_addr or "a missing sender"
    return Match(f"nothing recognised in mail from {who}: held for the coordinators")


# --------------------------------------------------------------------------- the table

RULES: tuple[Rule, ...] = (
    # 1. The same Message-ID (or raw hash) was processed before: record, do nothing.
    Rule("duplicate", Kind.DUPLICATE, "Message-ID or raw sha256 seen before", _duplicate),
    # 2. Our own mail came back to us: never answer it.
    Rule("loop_own_sender", Kind.LOOP, "From is the program or one of our addresses", _loop_sender),
    Rule("loop_header", Kind.LOOP, "X-Loop naming us, or an X-Mailbot-* header", _loop_header),
    # 3. Delivery failures: DSN, old MTAs' plain text, or mail to our +b- bounce tag.
    Rule("bounce", Kind.BOUNCE, "a delivery failure or delay report", _bounce),
    # 4. Robots: RFC 3834, list headers, robot senders, out-of-office subjects.
    *(
        Rule(name, Kind.AUTO_REPLY, description, _automated_check(name))
        for name, description, _check in autoreply.AUTOMATED_CHECKS
    ),
    # 5. Routing by address and thread: recorded, the walk goes on.
    Rule("route_tag", None, "a signed plus-tag in To, Cc or Delivered-To", _route_tags),
    Rule("route_thread", None, "In-Reply-To/References point at our Message-ID", _route_thread),
    #    A pair's tracking address copied on mail to the partner: contact, never commands.
    Rule("pair_conversation", Kind.REPLY, "+p- tag with another recipient", _pair_conversation),
    # 6. Only now read what the sender asks for.
    Rule("command", Kind.COMMAND, "a command in the subject or first line", _command),
    Rule("application", Kind.APPLICATION, "an application form in the text", _application),
    #    Sentences as people write them (domain.intents): a command, an FAQ topic, a question.
    Rule("sentence_command", Kind.COMMAND, "a command written as a sentence", _sentence_command),
    Rule("faq", Kind.FAQ, "a question the FAQ answers", _faq),
    Rule("question", Kind.QUESTION, "a participant's question for a person", _question),
    Rule("reply_routed", Kind.REPLY, "answers our mail, a reply key or a pair", _reply_routed),
    Rule(
        "reply_known_sender", Kind.REPLY, "from a participant or coordinator", _reply_known_sender
    ),
    # 7. Anything else is held for the coordinators.
    Rule("unknown", Kind.UNKNOWN, "nothing recognised", _unknown),
)

_AUTOMATED_KINDS = frozenset({Kind.DUPLICATE, Kind.LOOP, Kind.BOUNCE, Kind.AUTO_REPLY})


def classify(msg: Inbound, ctx: ClassifyContext, rules: tuple[Rule, ...] = RULES) -> Verdict:
    """Walk `RULES` top to bottom; the first row with a kind that fires decides. (`rules`: the
    same table with a row's check made cheaper for mail a caller already knows more about,
    as `domain.partner_mail` does; never a different verdict.)"""
    state = State(msg=msg, ctx=ctx)
    hits: list[str] = []
    for rule in rules:
        match = rule.check(state)
        if match is None:
            continue
        hits.append(rule.name)
        if rule.kind is None:
            continue
        away = None
        if rule.kind is Kind.AUTO_REPLY and autoreply.is_out_of_office(msg):
            away = autoreply.away_until(msg, msg.date)
        if rule.kind in (Kind.BOUNCE, Kind.AUTO_REPLY) and ctx.program_address:
            # Routing is still worth knowing for robots: an out-of-office reply copied to a
            # pair's tracking address tells which pair is affected.
            _route_tags(state)
            _route_thread(state)
        return Verdict(
            kind=rule.kind,
            reason=match.reason,
            hits=tuple(hits),
            application=match.application,
            command=match.command,
            faq=match.faq,
            language=match.language,
            bounce=match.bounce,
            routes=tuple(state.routes),
            away_until=away,
            automated=rule.kind in _AUTOMATED_KINDS,
        )
    raise AssertionError("the last rule always fires")  # pragma: no cover


# The rows above "faq" read nothing about the sender (ClassifyContext.sender_known): a verdict
# one of them decides holds whoever sent the message.
_SENDER_BLIND = frozenset(r.name for r in RULES[: [r.name for r in RULES].index("faq")])


@dataclass(frozen=True)
class Ahead:
    """A message's verdicts worked out before the database is read (intake's reader): as mail
    from a stranger, and as mail from a known sender; both assume it was not seen before (a
    duplicate is classified again, where the first row decides at once)."""

    stranger: Verdict
    known: Verdict

    def verdict(self, sender_known: bool) -> Verdict:
        return self.known if sender_known else self.stranger


def classify_ahead(msg: Inbound, ctx: ClassifyContext) -> Ahead:
    """`msg` classified for both answers to "is the sender known?"; the second walk only when
    the first was decided by a row that asks (FAQ, question, reply, unknown)."""
    stranger = classify(msg, replace(ctx, already_seen=False, sender_known=False))
    if stranger.hits[-1] in _SENDER_BLIND:
        return Ahead(stranger, stranger)
    return Ahead(stranger, classify(msg, replace(ctx, already_seen=False, sender_known=True)))
