"""classify: the rule table, scenario by scenario, and every fixture in EXPECTED.tsv."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbot.contexts.samples import SAMPLES
from mailbot.domain import tokens
from mailbot.domain.classify import RULES, ClassifyContext, classify
from mailbot.domain.model import Inbound, Kind, Route, Verdict
from mailbot.edges.render import Renderer
from mailbot.mail.inspect import verdict_json
from mailbot.mail.parse import parse_message

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eml"
PROGRAM = "coordinator@example.org"
SECRET = "test-secret"
CTX = ClassifyContext(program_address=PROGRAM, secret=SECRET, own_addresses=frozenset({PROGRAM}))
PAIR = tokens.tag_address(PROGRAM, Route.PAIR, "12", SECRET)
REPLY_KEY = tokens.tag_address(PROGRAM, Route.REPLY, "k7", SECRET)
BOUNCE = tokens.tag_address(PROGRAM, Route.BOUNCE, "o1", SECRET)
OUR_MID = tokens.message_id_for("welcome:alice", "example.org", SECRET)


def mail(
    body: str = "Hello there.\n",
    *,
    frm: str = "Alice <alice@example.net>",
    to: str = PROGRAM,
    subject: str = "Hello",
    headers: str = "",
) -> Inbound:
    raw = (
        f"From: {frm}\nTo: {to}\nSubject: {subject}\nDate: Mon, 1 Mar 2027 10:00:00 +0000\n"
        f"Message-ID: <t-{abs(hash((frm, to, subject, headers, body)))}@example.net>\n"
        f"{headers}Content-Type: text/plain; charset=utf-8\n\n{body}"
    )
    return parse_message(raw.encode())


def verdict(msg: Inbound, **ctx: object) -> Verdict:
    base = {
        "program_address": PROGRAM,
        "secret": SECRET,
        "own_addresses": frozenset({PROGRAM, "alerts@example.org"}),
    }
    return classify(msg, ClassifyContext(**{**base, **ctx}))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the table


def test_rule_table_is_ordered_as_email_rules_says() -> None:
    names = [r.name for r in RULES]
    order = ["duplicate", "loop_own_sender", "bounce", "auto_submitted", "route_tag"]
    order += ["pair_conversation", "command", "application", "reply_routed", "unknown"]
    assert [names.index(n) for n in order] == sorted(names.index(n) for n in order)
    assert names[-1] == "unknown"
    assert all(r.description for r in RULES)
    assert len(set(names)) == len(names)


# --------------------------------------------------------------------------- rows, one by one

FORM = (
    "Name: Alice Martin\nCountry: Canada\nTime zone: America/Toronto\nInstitution: "
    "Toronto Public Library\nSector: public\nCareer stage: senior\nInterests: outreach\n"
)

CASES: list[tuple[str, Inbound, dict[str, object], Kind, str]] = [
    (
        "seen before beats everything",
        mail(FORM),
        {"already_seen": True},
        Kind.DUPLICATE,
        "duplicate",
    ),
    ("from the program", mail(frm=f"P <{PROGRAM}>"), {}, Kind.LOOP, "loop_own_sender"),
    ("from a plus variant", mail(frm=PAIR), {}, Kind.LOOP, "loop_own_sender"),
    ("from another own address", mail(frm="alerts@example.org"), {}, Kind.LOOP, "loop_own_sender"),
    ("x-loop names us", mail(headers=f"X-Loop: {PROGRAM}\n"), {}, Kind.LOOP, "loop_header"),
    ("x-mailbot header", mail(headers="X-Mailbot-Key: a\n"), {}, Kind.LOOP, "loop_header"),
    (
        "auto-submitted",
        mail(headers="Auto-Submitted: auto-generated\n"),
        {},
        Kind.AUTO_REPLY,
        "auto_submitted",
    ),
    ("precedence bulk", mail(headers="Precedence: bulk\n"), {}, Kind.AUTO_REPLY, "precedence"),
    ("list-id", mail(headers="List-Id: <x.lists.example>\n"), {}, Kind.AUTO_REPLY, "list_headers"),
    ("noreply sender", mail(frm="no-reply@shop.example"), {}, Kind.AUTO_REPLY, "robot_sender"),
    ("ooo subject", mail(subject="Out of Office: Hello"), {}, Kind.AUTO_REPLY, "ooo_subject"),
    (
        "robots are not read for commands",
        mail(subject="help", headers="Precedence: junk\n"),
        {},
        Kind.AUTO_REPLY,
        "precedence",
    ),
    ("command in subject", mail(subject="Re: STATUS"), {}, Kind.COMMAND, "command"),
    ("command on the first line", mail("withdraw\n\nthanks\n"), {}, Kind.COMMAND, "command"),
    ("application", mail(FORM), {}, Kind.APPLICATION, "application"),
    ("thread reply", mail(headers=f"In-Reply-To: <{OUR_MID}>\n"), {}, Kind.REPLY, "reply_routed"),
    ("reply key", mail(to=REPLY_KEY), {}, Kind.REPLY, "reply_routed"),
    ("known sender", mail(), {"sender_known": True}, Kind.REPLY, "reply_known_sender"),
    (
        "coordinator",
        mail(),
        {"coordinators": frozenset({"alice@example.net"})},
        Kind.REPLY,
        "reply_known_sender",
    ),
    ("stranger", mail(), {}, Kind.UNKNOWN, "unknown"),
    ("forged tag", mail(to="coordinator+r-k7-aaaaaaaaaa@example.org"), {}, Kind.UNKNOWN, "unknown"),
    (
        "tag of another program",
        mail(to="other+" + REPLY_KEY.split("+")[1]),
        {},
        Kind.UNKNOWN,
        "unknown",
    ),
    (
        "pair tag with the partner: never a command",
        mail("pause\n", to="bob@example.com", headers=f"Cc: {PAIR}\n"),
        {},
        Kind.REPLY,
        "pair_conversation",
    ),
    (
        "pair tag alone: to the program, a command",
        mail("pause\n", to=PAIR),
        {},
        Kind.COMMAND,
        "command",
    ),
    (
        "program only in Cc of a conversation: no command",
        mail("pause\n", to="bob@example.com", headers=f"Cc: {PROGRAM}\n"),
        {"sender_known": True},
        Kind.REPLY,
        "reply_known_sender",
    ),
    (
        "x-auto-response-suppress alone is a person",
        mail(headers="X-Auto-Response-Suppress: All\n"),
        {"sender_known": True},
        Kind.REPLY,
        "reply_known_sender",
    ),
    (
        "auto-submitted: no is a person",
        mail(headers="Auto-Submitted: no\n"),
        {},
        Kind.UNKNOWN,
        "unknown",
    ),
]


@pytest.mark.parametrize(
    ("msg", "ctx", "kind", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rows(msg: Inbound, ctx: dict[str, object], kind: Kind, rule: str) -> None:
    v = verdict(msg, **ctx)
    assert (v.kind, v.hits[-1]) == (kind, rule), v.reason
    assert v.automated is (kind in {Kind.DUPLICATE, Kind.LOOP, Kind.BOUNCE, Kind.AUTO_REPLY})
    assert v.reason.strip() and rule in v.hits


def test_duplicate_without_message_id_names_the_hash() -> None:
    msg = parse_message(b"From: a@example.net\n\nhi\n")
    v = verdict(msg, already_seen=True)
    assert v.kind is Kind.DUPLICATE and msg.raw_sha256[:12] in v.reason


def test_bounce_to_our_tag_records_the_token_and_never_answers() -> None:
    v = verdict(mail("we could not accept it\n", frm="filter@example.com", to=BOUNCE))
    assert v.kind is Kind.BOUNCE and v.automated
    assert v.bounce is not None and v.bounce.token == "o1" and not v.bounce.permanent


def test_out_of_office_to_our_bounce_tag_is_an_auto_reply_not_a_bounce() -> None:
    msg = mail(
        "Back on 2027-03-12.\n",
        to=BOUNCE,
        subject="Automatic reply: x",
        headers="Auto-Submitted: auto-replied\n",
    )
    v = verdict(msg)
    assert v.kind is Kind.AUTO_REPLY and v.bounce is None
    assert v.away_until is not None and v.away_until.date().isoformat() == "2027-03-12"
    assert any(h.route is Route.BOUNCE and h.token == "o1" for h in v.routes)


def test_routes_collects_tags_and_thread_without_duplicates() -> None:
    msg = mail(
        to=REPLY_KEY,
        headers=f"Cc: {PAIR}\nDelivered-To: {REPLY_KEY}\nIn-Reply-To: <{OUR_MID}>\n"
        f"References: <x@y> <{OUR_MID}>\n",
    )
    v = verdict(msg)
    got = [(h.route, h.token, h.via) for h in v.routes]
    digest = tokens.key_digest("welcome:alice")
    assert got == [
        (Route.REPLY, "k7", "to"),
        (Route.PAIR, "12", "cc"),
        (Route.REPLY, digest, "in_reply_to"),
    ]
    assert v.hits[:2] == ("route_tag", "route_thread")


def test_command_reason_and_payload() -> None:
    v = verdict(mail(subject="AW: pause 3 weeks"))
    assert v.kind is Kind.COMMAND and v.command is not None
    assert v.command.name.value == "pause" and v.command.args.get("days") == 21
    assert "pause" in v.reason and "subject" in v.reason


def test_pause_until_a_date_counts_from_the_date_of_the_mail() -> None:
    v = verdict(mail(subject="Re: PAUSE until 20 March"))  # sent on 1 March 2027
    assert v.command is not None and v.command.args == {"days": 19, "until": "2027-03-20"}


def test_invalid_application_names_the_fields() -> None:
    v = verdict(mail("Name: Bob\nSector: bakery\nCareer stage: senior\nInterests: bread\n"))
    assert v.kind is Kind.APPLICATION and v.application is not None
    assert not v.application.valid
    assert "country" in v.reason and "sector" in v.reason


# Outlook quotes the mail being answered without ">", under a header block like these.
OUTLOOK_HEADERS = {
    "en": "________________________________\nFrom: ILN Mentoring <{p}>\nSent: Monday, "
    "March 1, 2027 10:00 AM\nTo: Alice <alice@example.net>\nSubject: {s}\n\n",
    "fr": "De : ILN Mentoring <{p}>\nEnvoyé : lundi 1 mars 2027 10:00\nÀ : Alice "
    "<alice@example.net>\nObjet : {s}\n\n",
    "es": "-----Mensaje original-----\nDe: ILN Mentoring <{p}>\nEnviado: lunes, 1 de marzo "
    "de 2027 10:00\nPara: Alice <alice@example.net>\nAsunto: {s}\n\n",
}


@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_outlook_thanks_above_our_quoted_confirmation_is_not_an_application(lang: str) -> None:
    # Each such reply used to be stored as a new application and answered with a confirmation.
    confirmation = Renderer().render("confirmation", lang, SAMPLES["confirmation"][0])
    header = OUTLOOK_HEADERS[lang].format(p=PROGRAM, s=confirmation.subject)
    v = verdict(mail("Thank you! Looking forward to it.\n\nAlice\n\n" + header + confirmation.text))
    assert v.kind is not Kind.APPLICATION, v.reason


# --------------------------------------------------------------------------- the fixtures


def _expectations() -> list[tuple[str, str, str]]:
    rows = []
    for line in (FIXTURES / "EXPECTED.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, kind, extra = [*line.split("\t"), "", ""][:3]
            rows.append((name, kind, extra))
    return rows


EXPECTED = _expectations()


def test_every_fixture_has_an_expectation() -> None:
    on_disk = {p.name for p in FIXTURES.glob("*.eml")}
    assert on_disk == {name for name, _, _ in EXPECTED}
    assert len(on_disk) >= 45


def _check(key: str, op: str, want: str, msg: Inbound, v: Verdict) -> None:
    app, cmd, bounce = v.application, v.command, v.bounce
    if op == "~":
        actual = {
            "reason": v.reason,
            "defect": " | ".join(msg.defects),
            "text": msg.text,
            "subject": msg.subject,
        }[key]
        assert want in actual, (key, actual)
        return
    if key == "valid":
        assert app is not None and app.valid is (want == "true"), app
    elif key == "errors":
        assert app is not None
        assert {p.field.value for p in app.problems} == set(want.split(",")), app.problems
    elif key in ("email", "name", "country", "sector", "career_stage", "language"):
        assert app is not None and app.fields is not None
        assert app.fields.as_json()[key] == want
    elif key == "command":
        assert cmd is not None and cmd.name.value == want
    elif key == "source":
        assert cmd is not None and cmd.source == want
    elif key == "days":
        assert cmd is not None and cmd.args.get("days") == int(want)
    elif key == "recipients":
        assert bounce is not None and ",".join(bounce.recipients) == want
    elif key == "permanent":
        assert bounce is not None and bounce.permanent is (want == "true")
    elif key == "status":
        assert bounce is not None and bounce.status == want
    elif key == "token":
        assert bounce is not None and bounce.token == want
    elif key == "message_id":
        assert bounce is not None and bounce.message_id == want
    elif key == "message_id_in":
        assert msg.message_id == want
    elif key == "away_until":
        got = v.away_until.date().isoformat() if v.away_until else ""
        assert got == want
    elif key == "hit":
        assert want in v.hits
    elif key == "route":
        route, token = want.split(":", 1)
        assert any(h.route.value == route and h.token == token for h in v.routes), v.routes
    elif key == "routes":
        assert len(v.routes) == int(want)
    elif key == "automated":
        assert v.automated is (want == "true")
    elif key == "from":
        assert msg.from_addr == want
    elif key == "subject":
        assert msg.subject == want
    elif key == "date":
        assert (msg.date.isoformat() if msg.date else "") == want
    else:
        raise AssertionError(f"unknown expectation key {key!r} in EXPECTED.tsv")


@pytest.mark.parametrize(("name", "kind", "extra"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_fixture(name: str, kind: str, extra: str) -> None:
    msg = parse_message((FIXTURES / name).read_bytes())
    v = classify(msg, CTX)
    assert v.kind.value == kind, f"{name}: {v.reason} {v.hits}"
    for item in filter(None, (x.strip() for x in extra.split(";"))):
        op = "~" if "~" in item.split("=", 1)[0] else "="
        key, _, want = item.partition(op)
        _check(key, op, want, msg, v)
    out = verdict_json(name, v)
    json.dumps(out)  # the inspect object is plain JSON
    assert (out["file"], out["kind"], out["rules"]) == (name, kind, list(v.hits))


def test_inspect_json_keys_by_kind() -> None:
    def obj(fixture: str) -> dict[str, object]:
        return verdict_json(
            fixture, classify(parse_message((FIXTURES / fixture).read_bytes()), CTX)
        )

    app = obj("application_invalid_missing_and_unknown.eml")
    assert app["valid"] is False and set(app["errors"]) == {"country", "sector", "career_stage"}  # type: ignore[arg-type]
    assert isinstance(app["fields"], dict) and app["fields"]
    good = obj("application_thunderbird.eml")
    assert good["valid"] is True and good["errors"] == []
    assert good["fields"]["country"] == "NO"  # type: ignore[index]
    cmd = obj("command_subject_re_pause.eml")
    assert cmd["command"] == "pause" and cmd["args"] == {"days": 14}
    bounce = obj("bounce_postfix_dsn.eml")
    assert bounce["recipients"] == ["bob.smith@example.net"] and bounce["permanent"] is True
    ooo = obj("ooo_german.eml")
    assert ooo["away_until"] == "2027-03-12T00:00:00+00:00"
    assert "recipients" not in cmd and "command" not in bounce


# --------------------------------------------------------------------------- never raises


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_classify_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    v = classify(parse_message(raw), CTX)
    assert isinstance(v.kind, Kind) and v.hits


_RAW_FIXTURES = sorted(p.read_bytes() for p in FIXTURES.glob("*.eml"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_RAW_FIXTURES),
    st.lists(st.tuples(st.integers(0, 20000), st.binary(max_size=8)), max_size=6),
    st.integers(0, 20000),
)
def test_classify_never_raises_on_mutated_fixtures(
    raw: bytes, edits: list[tuple[int, bytes]], cut: int
) -> None:
    data = bytearray(raw[: max(cut, len(raw) // 2)])
    for pos, junk in edits:
        pos %= len(data) + 1
        data[pos : pos + len(junk)] = junk
    v = classify(parse_message(bytes(data)), CTX)
    assert isinstance(v.kind, Kind)
