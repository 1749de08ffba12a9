"""Whether a participant's own mail to the program is evidence that their pair is in touch.

Must not: do I/O or read the clock.

Mail carrying a pair's tracking address always counts (`flows.activity`). A message to the
program counts for the sender's pair only when it answers program mail *about the pair* -- the
introduction, a topic, a check-in, a nudge -- and is not a question: "thanks, we talked about
it on Friday" says the pair is talking; "where is the form?" or "could I have a new partner?"
says nothing about the partner. A reply to any other program mail (a confirmation, STATUS, the
survey, an answer to a question) never counts, nor does an empty reply (only the quoted mail).
Commands (IN TOUCH, YES) are read by their own handlers, never here.
"""

from __future__ import annotations

from mailbot.domain.textutil import own_lines

# Program mail about a pair: a reply to it may say the pair is talking.
PAIR_MAIL = frozenset(
    {"introduction", "topic", "checkin", "nudge_quiet", "nudge_one_sided", "nudge_second"}
)
_QUESTION_MARKS = ("?", "¿", "？")


def own_text(text: str) -> str:
    """What the writer typed: the lines above the quoted mail and the signature (quoted lines
    in between are skipped: an answer may be written inline)."""
    return "\n".join(own_lines(text, skip_quoted=True, outlook_headers=True)).strip()


def is_question(text: str) -> bool:
    """A question mark in what the writer typed (any of the three languages' forms)."""
    own = own_text(text)
    return any(mark in own for mark in _QUESTION_MARKS)


def reply_is_contact(replied_to: frozenset[str] | set[str], text: str) -> bool:
    """A reply to program mail (its templates `replied_to`) counts as contact in the sender's
    pair: it answers mail about the pair and says something that is not a question."""
    if not replied_to & PAIR_MAIL:
        return False
    own = own_text(text)
    return bool(own) and not any(mark in own for mark in _QUESTION_MARKS)
