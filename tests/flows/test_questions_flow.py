# ruff: noqa: F811  (`prog` is the fixture imported from test_commands_flow)
"""A participant's question reaches a person, end to end on a matched round (issue 12: every
human message gets an answer).

A question the program cannot answer is ONE open item for the coordinators, with the
person's context; the person is told at once, in their language, that a coordinator will
reply. `ANSWER <id> <text>` from a coordinator mails the text to the person, framed in their
language and threaded to their question, and closes it; an ANSWER for an unknown or already
answered question is refused with the reason. An urgent question is mailed to the
coordinators at once. A question sent as a reply to program mail is forwarded and is not
partner contact.
"""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import select

from mailbot.domain import tokens
from mailbot.domain.model import Route
from mailbot.edges.tables import PairMember, Person, Question
from tests.flows.test_commands_flow import (  # noqa: F401
    DIRECTOR,
    LEA,
    PROGRAM,
    coordinator_key,
    later,
    mail,
    partner_of,
    person,
    prog,
    send,
    text,
)
from tests.support.program import SECRET, Program

ANA = "ana@example.net"
T = "2027-02-10T09:00:00Z"


def questions(prog: Program) -> list[Question]:
    return prog.query(select(Question).order_by(Question.id))


def answers_to(prog: Program, addr: str, message_id: str) -> list[EmailMessage]:
    return [m for m in prog.sent_to(addr) if str(m["In-Reply-To"]) == message_id]


def coordinator_mail(prog: Program, word: str) -> list[EmailMessage]:
    return [m for m in prog.sent_to(DIRECTOR) if word in str(m["Subject"])]


def test_a_question_is_held_told_answered_and_closed(prog: Program) -> None:
    asking = mail(
        LEA,
        "Bonjour,\n\nEst-ce que je peux inviter une collègue à nos échanges ?\n\nMerci\n-- \nLéa",
        subject="Une question",
    )
    message_id = str(next(ln for ln in asking.decode().splitlines() if ln.startswith("Message")))
    message_id = message_id.split(":", 1)[1].strip()
    send(prog, T, asking)

    [q] = questions(prog)
    assert q.state == "open" and not q.urgent
    assert "inviter une collègue" in q.text and "Léa" not in q.text.split("Merci")[1]
    assert q.subject == "Une question" and q.language == "fr"
    [told] = answers_to(prog, LEA, message_id)  # threaded to her message
    assert "Un coordinateur vous répondra" in text(told)
    assert not coordinator_mail(prog, "Urgent question")  # not urgent: it waits for the digest

    # The digest (the week's, due at this tick) lists it with its one-reply answer and who asked.
    [digest] = coordinator_mail(prog, "digest")[-1:]
    body = text(digest)
    assert f"ANSWER {q.id}" in body and LEA in body and "inviter une collègue" in body

    send(
        prog,
        "2027-02-10T10:00:00Z",
        mail(DIRECTOR, f"ANSWER {q.id} Oui, bien sûr : une collègue peut se joindre à vous.",
             to=coordinator_key()),
    )  # fmt: skip
    answer = answers_to(prog, LEA, message_id)[-1]
    body = text(answer)
    assert "a répondu à la question que vous avez envoyée le 2027-02-10" in body
    assert "Oui, bien sûr : une collègue peut se joindre à vous." in body
    assert answer["Subject"].startswith("Re: Une question")
    [q] = questions(prog)
    assert q.state == "answered" and q.text == "" and q.answered_by == DIRECTOR
    assert "Done" in str(prog.sent_to(DIRECTOR)[-1]["Subject"])

    # Answered already, or no such question: refused, with the reason; nothing sent.
    heard = len(prog.sent_to(LEA))
    send(prog, "2027-02-10T11:00:00Z", mail(DIRECTOR, f"ANSWER {q.id} Again", to=coordinator_key()))
    assert "already answered" in text(prog.sent_to(DIRECTOR)[-1])
    send(prog, "2027-02-10T12:00:00Z", mail(DIRECTOR, "ANSWER 999 Hello", to=coordinator_key()))
    assert "there is no question 999" in text(prog.sent_to(DIRECTOR)[-1])
    assert len(prog.sent_to(LEA)) == heard


def test_an_answer_needs_a_coordinator_and_their_key(prog: Program) -> None:
    send(prog, T, mail(ANA, "Could you tell me more about the closing event?"))
    [q] = questions(prog)
    send(prog, later(T), mail(ANA, f"ANSWER {q.id} I answer myself", to=coordinator_key()))
    send(prog, later(T, 10), mail(DIRECTOR, f"ANSWER {q.id} No key"))
    assert questions(prog)[0].state == "open"


def test_an_urgent_question_is_mailed_to_the_coordinators_at_once(prog: Program) -> None:
    pair_id, _ = partner_of(prog, ANA)
    send(
        prog,
        T,
        mail(ANA, "My partner keeps sending me inappropriate messages. What should I do?"),
    )
    [q] = questions(prog)
    assert q.urgent and q.forwarded_at is not None
    [forwarded] = coordinator_mail(prog, f"(question {q.id})")
    body = text(forwarded)
    assert f"ANSWER {q.id} <your answer>" in body and ANA in body
    assert "inappropriate messages" in body
    assert f"pair {pair_id} (active)" in body and "Léa Dubois (France)" in body
    reply_to = forwarded["Reply-To"].addresses[0].addr_spec
    assert tokens.read_tag(reply_to, PROGRAM, SECRET) == (Route.REPLY, "c0")

    send(prog, later(T), mail(DIRECTOR, f"ANSWER {q.id} We will call you today.", to=reply_to))
    assert "We will call you today." in text(prog.sent_to(ANA)[-1])
    assert questions(prog)[0].state == "answered"


def test_a_question_in_reply_to_program_mail_is_held_and_is_not_contact(prog: Program) -> None:
    found = person(prog, ANA)
    assert found is not None
    own_key = tokens.tag_address(PROGRAM, Route.REPLY, f"u{found.id}", SECRET)

    def wrote() -> list[object]:
        return prog.query(select(PairMember.last_wrote_at).where(PairMember.person_id == found.id))

    before = wrote()
    send(
        prog,
        T,
        mail(ANA, "Is there a certificate at the end of the round?\n\nOn Mon, we wrote:\n> Topic",
             to=own_key, subject="Re: Topic 1 of 9"),
    )  # fmt: skip
    [q] = questions(prog)
    assert q.text == "Is there a certificate at the end of the round?"
    assert wrote() == before  # a question to the program is never partner contact


def test_a_second_message_joins_the_open_question(prog: Program) -> None:
    send(prog, T, mail(ANA, "Could you tell me more about the closing event?"))
    send(prog, later(T), mail(ANA, "And will there be a recording of it?"))
    [q] = questions(prog)
    assert "closing event" in q.text and "recording" in q.text


def test_deleting_their_data_takes_their_question_with_it(prog: Program) -> None:
    send(prog, T, mail(ANA, "Could you tell me more about the closing event?"))
    send(prog, later(T), mail(ANA, "DELETE MY DATA"))
    found = prog.query(select(Person).where(Person.email == ANA))[0]
    send(prog, later(T, 10), mail(ANA, f"DELETE MY DATA {found.delete_token}"))
    assert questions(prog) == []
