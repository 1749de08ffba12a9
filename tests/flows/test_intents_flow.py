"""Sentences as people write them, end to end: commands, FAQ answers in the person's
language, and questions left for a person (issue 12, "every human message gets an answer")."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import select

from mailbot.edges.tables import CommandRow, InboundRow, PairMember
from tests.flows import test_commands_flow as base
from tests.flows.test_commands_flow import LEA, last, mail, partner_of, person, send, text
from tests.support.program import Program, instant

prog = base.prog  # the matched round of the commands flow tests

ANA = "ana@example.net"
WHEN = "2027-02-10T09:00:00Z"  # the test mails are dated 10 Feb 2027


def _kinds(p: Program, addr: str) -> list[str]:
    return list(p.query(select(InboundRow.kind).where(InboundRow.from_addr == addr)))


def answer(p: Program, addr: str, subject: str) -> EmailMessage:
    """The last mail to `addr` whose Subject starts with `subject` (topics go out too)."""
    return [m for m in p.sent_to(addr) if str(m["Subject"]).startswith(subject)][-1]


def test_pause_until_a_date_written_as_a_sentence(prog: Program) -> None:
    _, partner = partner_of(prog, ANA)
    send(prog, WHEN, mail(ANA, "Hello,\n\nPlease pause me until March 15, I am swamped.\n\nAna"))
    ana = person(prog, ANA)
    assert ana is not None and ana.status == "paused"
    assert ana.paused_until is not None and ana.paused_until.date().isoformat() == "2027-03-15"
    assert "2027-03-15" in text(answer(prog, ANA, "Received: PAUSE"))
    assert any("2027-03-15" in text(m) for m in prog.sent_to(partner))


def test_subject_pause_takes_the_duration_the_body_gives(prog: Program) -> None:
    send(prog, WHEN, mail(ANA, "for three weeks please", subject="Pause"))
    ana = person(prog, ANA)
    assert ana is not None and ana.paused_until == instant(WHEN) + timedelta(days=21)


def test_french_sentence_pause(prog: Program) -> None:
    body = "Bonjour,\nPouvez-vous mettre ma participation en pause pendant 3 semaines ?\nLéa"
    send(prog, WHEN, mail(LEA, body))
    lea = person(prog, LEA)
    assert lea is not None and lea.paused_until == instant(WHEN) + timedelta(days=21)
    assert last(prog, LEA)["Subject"].startswith("Bien reçu")


def test_a_question_about_pausing_is_answered_not_acted_on(prog: Program) -> None:
    send(prog, WHEN, mail(ANA, "Hi, how do I pause for a few weeks?"))
    ana = person(prog, ANA)
    assert ana is not None and ana.status == "active"
    faq = answer(prog, ANA, "How to pause")
    assert "PAUSE 3 weeks" in text(faq)
    assert faq["In-Reply-To"] is not None
    assert _kinds(prog, ANA)[-1] == "faq"


def test_who_is_my_partner_is_answered_in_french_with_name_and_country(prog: Program) -> None:
    _, partner_addr = partner_of(prog, LEA)
    partner = person(prog, partner_addr)
    assert partner is not None
    send(prog, WHEN, mail(LEA, "J'ai effacé le message de présentation. Qui est mon partenaire ?"))
    faq = answer(prog, LEA, "Votre partenaire")
    assert partner.name in text(faq)
    assert "+p-" in text(faq)  # the pair's tracking address, for Cc


def test_spanish_question_about_the_topic_sends_the_current_topic_again(prog: Program) -> None:
    send(prog, "2027-02-20T09:00:00Z", mail(ANA, "No recibí el tema, ¿me lo pueden reenviar?"))
    faq = answer(prog, ANA, "Your current topic")  # Ana's language is English
    assert "topic 1 of" in text(faq)


def test_a_withdrawal_written_as_a_sentence_is_recorded_as_one(prog: Program) -> None:
    send(prog, WHEN, mail(ANA, "I'm sorry but I have to leave the program, my job has changed."))
    [name] = prog.query(select(CommandRow.name).where(CommandRow.sender == ANA))
    assert name == "withdraw"


def test_a_question_is_for_a_person_and_never_partner_contact(prog: Program) -> None:
    before = prog.query(select(PairMember.last_wrote_at))
    send(prog, WHEN, mail(ANA, "My emails to my partner come back undelivered. What should I do?"))
    assert _kinds(prog, ANA)[-1] == "question"
    assert prog.query(select(PairMember.last_wrote_at)) == before


def test_a_mention_of_a_command_word_does_not_act(prog: Program) -> None:
    send(prog, WHEN, mail(ANA, "My partner paused her reply to think about it, is that normal?"))
    ana = person(prog, ANA)
    assert ana is not None and ana.status == "active"
    assert prog.query(select(CommandRow).where(CommandRow.sender == ANA)) == []


def test_a_stranger_asking_how_to_apply_is_answered_in_their_own_language(prog: Program) -> None:
    """Nobody knows a stranger's language but their words: French in, French out."""
    stranger = "camille@bibliotheque.example.fr"
    send(prog, WHEN, mail(stranger, "Bonjour, où trouver le formulaire d'inscription ?"))
    assert _kinds(prog, stranger) == ["faq"]
    assert last(prog, stranger)["Subject"].startswith("Poser sa candidature")
