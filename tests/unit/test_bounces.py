"""bounces: which addresses failed, how badly, and which outbox row the bounce belongs to."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from mailbot.domain import tokens
from mailbot.domain.bounces import read_bounce, read_dsn, read_text_bounce
from mailbot.domain.model import BounceInfo, Inbound, Route
from mailbot.mail.parse import parse_message

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eml"
PROGRAM = "coordinator@example.org"
SECRET = "test-secret"
BOUNCE = tokens.tag_address(PROGRAM, Route.BOUNCE, "o9", SECRET)
MID1 = "mb.542f05f2237ffd0193f51c2a.563glfoao3@example.org"


def fixture(name: str) -> Inbound:
    return parse_message((FIXTURES / name).read_bytes())


def dsn(blocks: str, *, to: str = BOUNCE, text: str = "report\n") -> Inbound:
    raw = (
        f"From: MAILER-DAEMON@mx.example.org\nTo: {to}\nSubject: Delivery report\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        f"--B\nContent-Type: text/plain\n\n{text}"
        f"--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
        f"{blocks}\n--B--\n"
    )
    return parse_message(raw.encode())


def bounce(msg: Inbound) -> BounceInfo | None:
    return read_bounce(msg, PROGRAM, SECRET, own_addresses={PROGRAM})


@pytest.mark.parametrize(
    ("name", "recipients", "permanent", "status"),
    [
        ("bounce_postfix_dsn.eml", ("bob.smith@example.net",), True, "5.1.1"),
        ("bounce_exim_dsn.eml", ("wei.zhang@lib.example.cn",), True, "5.2.1"),
        ("bounce_sendmail_dsn.eml", ("m.garcia@univ.example.edu",), True, "5.1.1"),
        ("bounce_office365_dsn.eml", ("hanna.virtanen@contoso.example.com",), True, "5.1.10"),
        ("bounce_gmail_dsn.eml", ("nobody.here@gmail.example.com",), True, "5.1.1"),
        ("bounce_delayed_4xx_dsn.eml", ("ana.silva@lento.example.br",), False, "4.4.1"),
        ("bounce_qmail_plain_text.eml", ("fatima.zahra@isp.example.com",), True, "5.1.1"),
        ("bounce_exchange_plain_text.eml", ("p.devries@corp.example.com",), True, "5.1.1"),
        ("bounce_postfix_plain_text.eml", ("olga.ivanova@old.example.net",), True, "5.2.2"),
        ("bounce_exim_plain_text_delay.eml", ("kofi.mensah@slow.example.gh",), False, "4.7.1"),
    ],
)
def test_fixture_bounces(
    name: str, recipients: tuple[str, ...], permanent: bool, status: str
) -> None:
    info = bounce(fixture(name))
    assert info is not None
    assert (info.recipients, info.permanent, info.status) == (recipients, permanent, status)
    assert "coordinator" not in " ".join(info.recipients)


def test_returned_message_id_from_rfc822_part_headers_part_and_quoted_copy() -> None:
    assert bounce(fixture("bounce_postfix_dsn.eml")).message_id == MID1  # type: ignore[union-attr]
    assert bounce(fixture("bounce_office365_dsn.eml")).message_id == MID1  # type: ignore[union-attr]
    assert bounce(fixture("bounce_qmail_plain_text.eml")).message_id == MID1  # type: ignore[union-attr]


def test_token_of_our_bounce_tag_is_recorded() -> None:
    assert bounce(fixture("bounce_sendmail_dsn.eml")).token == "o4522"  # type: ignore[union-attr]
    info = bounce(fixture("bounce_to_b_tag_unreadable.eml"))
    assert info is not None and info.token == "o4521"
    assert info.recipients == () and info.permanent is False


def test_original_recipient_preferred_and_lower_cased() -> None:
    info = read_dsn(
        dsn(
            "Original-Recipient: rfc822;Carol@Example.NET\nFinal-Recipient: rfc822; "
            "carol.forwarded@mail.example.net\nAction: failed\nStatus: 5.1.1\n"
        )
    )
    assert info is not None and info.recipients == ("carol@example.net",)


def test_failed_4xx_is_not_permanent_and_delayed_is_a_bounce() -> None:
    info = read_dsn(dsn("Final-Recipient: rfc822; a@x.example\nAction: failed\nStatus: 4.2.2\n"))
    assert info is not None and info.permanent is False and info.status == "4.2.2"
    delayed = read_dsn(
        dsn("Final-Recipient: rfc822; a@x.example\nAction: delayed\nStatus: 4.4.7\n")
    )
    assert delayed is not None and delayed.permanent is False


def test_failed_recipients_win_over_delayed_ones() -> None:
    info = read_dsn(
        dsn(
            "Final-Recipient: rfc822; slow@x.example\nAction: delayed\nStatus: 4.4.7\n\n"
            "Final-Recipient: rfc822; gone@x.example\nAction: failed\nStatus: 5.1.1\n"
        )
    )
    assert info is not None and info.recipients == ("gone@x.example",) and info.permanent


def test_success_dsn_is_not_a_bounce() -> None:
    msg = dsn(
        "Final-Recipient: rfc822; a@x.example\nAction: delivered\nStatus: 2.0.0\n", to=PROGRAM
    )
    assert read_dsn(msg) is None and bounce(msg) is None


def test_status_without_action_is_read_from_the_class() -> None:
    info = read_dsn(dsn("Final-Recipient: rfc822; a@x.example\nStatus: 5.7.1\n"))
    assert info is not None and info.permanent


def test_a_person_forwarding_a_bounce_is_not_a_bounce() -> None:
    msg = parse_message(
        b"From: Alice <alice@example.net>\nTo: coordinator@example.org\n"
        b"Subject: Fwd: Undelivered Mail Returned to Sender\n\n"
        b"Is this my partner's address?\n\n"
        b"I'm sorry to have to inform you that your message could not\n"
        b"be delivered to one or more recipients.\n\n<bob@example.com>: User unknown 550 5.1.1\n"
    )
    assert read_text_bounce(msg) is None and bounce(msg) is None


def test_plain_text_bounce_excludes_our_own_and_robot_addresses() -> None:
    msg = parse_message(
        f"From: MAILER-DAEMON@mx.example.net\nTo: {BOUNCE}\nSubject: failure notice\n\n"
        "Hi. This is the qmail-send program at mx.example.net.\n"
        f"<gone@example.net>:\nSorry, no mailbox here by that name. (#5.1.1)\n"
        f"Reply to postmaster@mx.example.net or {PROGRAM}.\n".encode()
    )
    info = bounce(msg)
    assert info is not None and info.recipients == ("gone@example.net",)


@pytest.mark.parametrize(
    "original",
    [
        "-----Message d'origine-----\nFrom: ILN <coordinator@example.org>\n",
        "-----Mensaje original-----\nDe: ILN <coordinator@example.org>\n",
        "En-têtes de message d'origine :\n\nFrom: ILN <coordinator@example.org>\n",
        "Encabezados del mensaje original:\n\nDe: ILN <coordinator@example.org>\n",
        "From: ILN <coordinator@example.org>\n",  # no marker: the quoted header block
    ],
)
def test_plain_text_bounce_stops_at_the_quoted_original(original: str) -> None:
    # The partner in the quoted To: and the Message-ID used to be counted as failing too.
    msg = parse_message(
        f"From: postmaster@corp.example.fr\nTo: {BOUNCE}\nSubject: Non remis : Votre binôme\n"
        "Content-Type: text/plain; charset=utf-8\n\n"
        "Votre message n'a pas pu être remis.\n\njean.dupont@corp.example.fr\n"
        "Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'\n\n"
        f"{original}To: jean.dupont@corp.example.fr; marie.curie@lib.example.fr\n"
        f"Message-ID: <{MID1}>\n".encode()
    )
    info = bounce(msg)
    assert info is not None and info.recipients == ("jean.dupont@corp.example.fr",)
    assert info.status == "5.1.1"


def test_plain_text_bounce_never_counts_a_message_id_as_a_recipient() -> None:
    msg = parse_message(
        f"From: MAILER-DAEMON@mx.example.net\nTo: {BOUNCE}\nSubject: failure notice\n\n"
        "Hi. This is the qmail-send program at mx.example.net.\n"
        f"<gone@example.net>:\nSorry, no mailbox here by that name. (#5.1.1)\n"
        f"Message-ID: <{MID1}>\n".encode()
    )
    info = bounce(msg)
    assert info is not None and info.recipients == ("gone@example.net",)


def test_ip_addresses_are_not_status_codes() -> None:
    msg = parse_message(
        f"From: MAILER-DAEMON@mx.example.net\nTo: {BOUNCE}\nSubject: Mail delivery failed\n\n"
        "A message that you sent could not be delivered to one or more of its recipients.\n"
        "  gone@example.net\n    host 10.2.5.4 refused\n".encode()
    )
    info = bounce(msg)
    assert info is not None and info.status == "" and info.permanent


def test_ordinary_mail_is_not_a_bounce() -> None:
    msg = parse_message(b"From: a@example.net\nTo: coordinator@example.org\nSubject: hi\n\nhello\n")
    assert bounce(msg) is None


def test_out_of_office_to_the_bounce_tag_is_not_a_bounce() -> None:
    assert bounce(fixture("ooo_to_bounce_tag.eml")) is None


def test_forged_bounce_tag_gives_no_token() -> None:
    forged = "coordinator+b-o9-aaaaaaaaaa@example.org"
    msg = parse_message(f"From: x@example.net\nTo: {forged}\nSubject: x\n\nhello\n".encode())
    assert bounce(msg) is None


EXCHANGE_REPORT = """Your message

  To:      john.doe@example.com
  Subject: Your partner for the 2027A round
  Sent:    Mon, 1 Mar 2027 10:00:00 +0000

did not reach the following recipient(s):

john.doe@example.com on Mon, 1 Mar 2027 10:00:05 +0000
    The e-mail account does not exist at the organization this message was sent to.
    <mail.example.com #5.1.1>
"""


def test_exchange_style_report_opening_with_the_mails_headers_names_the_recipient() -> None:
    """No failure phrase before the failed mail's own To:/Subject: block: the block does not
    end the report there (it would name nobody, and both partners would be scored)."""
    msg = EmailMessage()
    msg["From"] = "postmaster@example.com"
    msg["To"] = "coordinator@example.org"
    msg["Subject"] = "Undeliverable: Your partner for the 2027A round"
    msg["Message-ID"] = "<ndr1@example.com>"
    msg.set_content(EXCHANGE_REPORT)
    info = read_text_bounce(parse_message(bytes(msg)))
    assert info is not None
    assert info.recipients == ("john.doe@example.com",), info
