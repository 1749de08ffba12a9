"""domain.auth: a coordinator's reply acts only from the coordinator's own From, with DMARC as
our receiving server read it for that From domain (issue 11, item 2)."""

from __future__ import annotations

import pytest

from mailbot.domain.auth import (
    OTHER_DOMAIN,
    coordinator_may_act,
    dmarc_result,
    read_authentication_results,
)
from mailbot.domain.model import Kind, Route, RouteHit, Verdict
from mailbot.mail.parse import parse_message

COORDINATORS = frozenset({"director@example.org"})
TOKENS = frozenset({"c0"})
VERDICT = Verdict(Kind.REPLY, "reply", (), routes=(RouteHit(Route.REPLY, "c0", "to"),))
OURS = ("mx.example.org",)


def mail(sender: str, *results: str) -> bytes:
    fields = "".join(f"Authentication-Results: {r}\n" for r in results)
    return (
        f"{fields}From: {sender}\nTo: coordinator+r-c0@example.org\nSubject: APPROVE\n"
        "Message-ID: <m1@evil.example>\n\nAPPROVE\n"
    ).encode()


def may_act(raw: bytes, authserv_ids: tuple[str, ...] = OURS) -> tuple[bool, str]:
    return coordinator_may_act(parse_message(raw), VERDICT, COORDINATORS, TOKENS, authserv_ids)


@pytest.mark.parametrize(
    "sender",
    [
        "=?utf-8?q?director=40example.org?= <eve@evil.example>",
        "=?utf-8?q?director=40example.org?= <eve>",
        '"director@example.org" <eve@evil.example>',
        "director@example.org <eve@evil.example>",
        "director@example.org) <eve@evil.example>",
    ],
)
def test_a_coordinator_address_in_the_display_name_of_a_passing_domain_is_not_accepted(
    sender: str,
) -> None:
    raw = mail(sender, "mx.example.org; dmarc=pass header.from=evil.example")
    ok, why = may_act(raw)
    assert not ok and "not a coordinator" in why


def test_the_coordinator_with_dmarc_passing_for_their_domain_may_act() -> None:
    raw = mail(
        "Director <director@example.org>", "mx.example.org; dmarc=pass header.from=example.org"
    )
    assert may_act(raw) == (True, "coordinator, signed key present, DMARC pass")
    assert may_act(mail("director@example.org"))[0]  # no result reported: as before


def test_dmarc_failing_for_the_from_domain_is_refused() -> None:
    raw = mail(
        "director@example.org",
        "mx.example.org; dkim=none; dmarc=fail (p=reject dis=none) header.from=example.org",
    )
    ok, why = may_act(raw)
    assert not ok and "DMARC fail" in why


def test_a_result_for_another_from_domain_is_refused() -> None:
    # Our server read another From than we did: whatever it says is not about our sender.
    raw = mail("director@example.org", "mx.example.org; dmarc=pass header.from=evil.example")
    assert dmarc_result(parse_message(raw), OURS) == OTHER_DOMAIN
    ok, why = may_act(raw)
    assert not ok and "another From domain" in why


def test_authentication_results_of_another_authserv_id_are_ignored() -> None:
    # The sender's own field says pass; our server's (on top) says fail.
    raw = mail(
        "director@example.org",
        "mx.example.org; dmarc=fail header.from=example.org",
        "mx.evil.example; dmarc=pass header.from=example.org",
    )
    assert dmarc_result(parse_message(raw), OURS) == "fail"
    assert dmarc_result(parse_message(raw), ("mx.evil.example",)) == "pass"
    # Only a field written by someone else: nothing reported, and it cannot make a fail pass.
    forged = mail("director@example.org", "mx.example.org.evil; dmarc=pass header.from=example.org")
    assert dmarc_result(parse_message(forged), OURS) == ""
    below = mail(
        "director@example.org",
        "other.example; dmarc=pass header.from=example.org",
        "mx.example.org; dmarc=fail header.from=example.org",
    )
    assert not may_act(below)[0]


def test_without_configured_ids_only_the_topmost_field_counts() -> None:
    raw = mail(
        "director@example.org",
        "mx.example.org; dmarc=fail header.from=example.org",
        "x.example; dmarc=pass header.from=example.org",
    )
    assert dmarc_result(parse_message(raw)) == "fail"


def test_reading_an_authentication_results_field() -> None:
    assert read_authentication_results(
        'mx.example.org 1; spf=pass smtp.mailfrom=a@x.example; dkim=pass (good; "sig") '
        'header.d=x.example; dmarc = fail reason="p=reject; x" (comment (nested)) '
        "header.from=X.Example"
    ) == (
        "mx.example.org",
        [
            ("spf", "pass", {"smtp.mailfrom": "a@x.example"}),
            ("dkim", "pass", {"header.d": "x.example"}),
            ("dmarc", "fail", {"header.from": "X.Example"}),
        ],
    )
    assert read_authentication_results("mx.example.org; none") == ("mx.example.org", [])
    assert read_authentication_results("") == ("", [])
    assert read_authentication_results("(" * 100_000)[0] == ""
