"""The self-test's capability line: what mailbot uses, what is missing, the SASL list."""

from __future__ import annotations

from mailbot.flows.self_test import IMAP_CAPS, describe_caps, is_test_mail


def test_capabilities_line_names_missing_ones_and_sasl_mechanisms() -> None:
    line = describe_caps(
        "imap h:1", ["IMAP4rev1", "idle", "UIDPLUS", "AUTH=XOAUTH2", "AUTH=PLAIN"], IMAP_CAPS
    )
    assert line.startswith("imap h:1: IDLE UIDPLUS")
    assert "(not offered: MOVE QRESYNC CONDSTORE)" in line
    assert line.endswith("SASL: PLAIN XOAUTH2")


def test_only_our_message_id_is_the_test_mail() -> None:
    head = b"From: a@x\r\nMessage-ID: <mb.1.abc@example.org>\r\n\r\n"
    assert is_test_mail(head, "mb.1.abc@example.org")
    assert not is_test_mail(head, "mb.2.abc@example.org")
