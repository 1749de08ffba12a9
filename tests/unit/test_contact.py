"""A reply to program mail counts as partner contact only when it is about the pair and not a
question (issue 12: "never count a message to the program as partner contact")."""

from __future__ import annotations

import pytest

from mailbot.domain.contact import is_question, own_text, reply_is_contact

QUOTE = (
    "\n\nOn Mon, 1 Mar 2027, ILN <coordinator@example.org> wrote:\n"
    "> Topic 3: what is your day like?\n"
)


@pytest.mark.parametrize(
    ("replied_to", "text", "counts"),
    [
        ({"topic"}, "Thanks, we talked about it by video on Friday." + QUOTE, True),
        ({"nudge_one_sided"}, "Sorry! I answered Ana yesterday, all good.", True),
        ({"topic"}, "Where can I find the form?" + QUOTE, False),  # a question
        ({"nudge_quiet"}, "¿Puedo cambiar de pareja" + QUOTE, False),
        ({"checkin"}, "Could I have a new partner? Mine never answers.", False),
        ({"confirmation"}, "Thanks, looking forward to it.", False),  # not about the pair
        ({"status", "survey"}, "ok", False),
        (set(), "We are in touch.", False),  # a reply to nothing we know
        ({"topic"}, QUOTE, False),  # only the quoted mail
    ],
)
def test_reply_is_contact(replied_to: set[str], text: str, counts: bool) -> None:
    assert reply_is_contact(replied_to, text) is counts


def test_the_quoted_mail_and_signature_are_not_the_writers() -> None:
    text = "All fine here.\n-- \nAna? Librarian" + QUOTE
    assert own_text(text) == "All fine here."
    assert not is_question(text)
