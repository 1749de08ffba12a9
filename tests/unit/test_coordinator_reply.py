"""A coordinator's reply read as one command per line: quotes, signatures and typos."""

from __future__ import annotations

from mailbot.domain.coordinator_reply import first_command, read_reply
from mailbot.domain.model import CommandName as C

BODY = """Hi all,

CLOSE 12
LIAISE 13 Hello both,
how are you doing?
CLOES 14

REMATCH 15
ANSWER 7 The form is at
https://example.org/form

Thanks,
Maria

On Mon, 3 Jun 2024, Program <p@example.org> wrote:
> PAIRS THAT NEED YOU
>     CLOSE 99
"""


def test_one_command_a_line_with_texts_continued_and_the_quote_ignored() -> None:
    lines = read_reply("Re: Weekly digest", BODY)
    assert [(line.text, line.command and line.command.name) for line in lines] == [
        ("CLOSE 12", C.CLOSE),
        ("LIAISE 13 Hello both,", C.LIAISE),
        ("CLOES 14", None),  # a typo is reported, never sent on as LIAISE text
        ("REMATCH 15", C.REMATCH),
        ("ANSWER 7 The form is at", C.ANSWER),
    ]
    assert lines[1].command is not None
    assert lines[1].command.args["text"] == "Hello both,\nhow are you doing?"
    assert lines[4].command is not None
    assert lines[4].command.args == {
        "item": "7",
        "text": "The form is at\nhttps://example.org/form",
    }


def test_answers_between_quoted_lines_count_unmarked_quotes_stop() -> None:
    inline = "CLOSE 1\n\nOn Mon, 3 Jun 2024, P wrote:\n> CLOSE 99\nREMATCH 2\n> x\n"
    assert [line.text for line in read_reply("", inline)] == ["CLOSE 1", "REMATCH 2"]
    outlook = "CLOSE 1\n-----Original Message-----\nFrom: x\n    CLOSE 99\n"
    assert [line.text for line in read_reply("", outlook)] == ["CLOSE 1"]
    signed = "CLOSE 1\n-- \nMaria\nCLOSE 98\n"
    assert [line.text for line in read_reply("", signed)] == ["CLOSE 1"]


def test_the_subject_first_and_the_first_command_is_what_the_classifier_records() -> None:
    assert [line.text for line in read_reply("CLOSE 3", "NOTE 4 hi")] == ["CLOSE 3", "NOTE 4 hi"]
    command = first_command("Re: digest", "Here are my answers:\nCLOSE 5\n")
    assert command is not None and (command.name, command.args) == (C.CLOSE, {"pair": "5"})
    assert first_command("Re: digest", "Thanks!\n") is None
