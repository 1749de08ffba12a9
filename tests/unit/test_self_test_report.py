"""The self-test's report: the capability line (what mailbot uses, what is missing, the SASL
list), the test mail told by its Message-ID, and where expunged mail may live on."""

from __future__ import annotations

from pathlib import Path

from mailbot.edges.imap import _listed_folders
from mailbot.edges.maildir import MaildirMailbox
from mailbot.flows.self_test import IMAP_CAPS, describe_caps, is_test_mail, kept_after_expunge


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


def test_a_sent_copy_is_not_kept_expunged_mail_but_any_other_folder_is() -> None:
    holding = {
        "[Gmail]/Sent Mail": frozenset({"\\sent", "\\hasnochildren"}),
        "[Gmail]/All Mail": frozenset({"\\all", "\\hasnochildren"}),
        "Deleted": frozenset(),
    }
    assert kept_after_expunge(holding) == ["Deleted", "[Gmail]/All Mail"]
    assert kept_after_expunge({"Sent": frozenset({"\\sent"})}) == []
    # filed by a daemon running meanwhile, before the self-test removed it: not kept mail
    assert kept_after_expunge({"Processed": frozenset()}, frozenset({"Processed"})) == []
    assert kept_after_expunge({}) == []


def test_list_answers_are_read_with_quoted_literal_and_nil_delimited_names() -> None:
    lines: list[bytes | bytearray] = [
        b'(\\HasNoChildren) "/" INBOX',
        b'(\\HasNoChildren \\Trash) "/" "Deleted Messages"',
        b'(\\HasChildren \\Noselect) "/" "[Gmail]"',
        b'(\\All \\HasNoChildren) "/" "[Gmail]/All Mail"',
        b'() "/" "say \\"hi\\""',
        b"(\\HasNoChildren) NIL Flat",
        b'(\\HasNoChildren) "/" {11}',
        bytearray(b'Odd "name"'),
        b"List completed (0.001 + 0.000 secs).",
    ]
    folders = _listed_folders(lines)
    assert folders["INBOX"] == {"\\hasnochildren"}
    assert folders["Deleted Messages"] == {"\\hasnochildren", "\\trash"}
    assert "\\noselect" in folders["[Gmail]"]
    assert "\\all" in folders["[Gmail]/All Mail"]
    assert folders['say "hi"'] == frozenset()
    assert "Flat" in folders and 'Odd "name"' in folders
    assert len(folders) == 7  # the tagged line is no folder


async def test_maildir_finds_a_message_id_in_every_folder_that_holds_it(tmp_path: Path) -> None:
    box = MaildirMailbox(tmp_path / "md", folders=("Processed", "Trash"))
    await box.connect()
    mine = b"From: a@example.org\r\nMessage-ID: <Kept.1@example.org>\r\n\r\nbody\r\n"
    other = (
        b"From: a@example.org\r\nMessage-ID: <other@example.org>\r\n\r\n<kept.1@example.org>\r\n"
    )
    await box.append(mine, "Trash")
    await box.append(other, "INBOX")  # named in its body only: not held
    await box.append(other, "Processed")
    assert await box.folders_holding("kept.1@example.org") == {"Trash": frozenset()}
    await box.append(mine, "INBOX")
    assert set(await box.folders_holding("kept.1@example.org")) == {"Trash", "INBOX"}
