"""Intents: commands, FAQ topics and questions read from sentences as people write them."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.domain.commands import needs_confirmation
from mailbot.domain.intents import IntentKind, read_intent
from mailbot.domain.model import CommandName as C
from mailbot.domain.model import FaqTopic as F

TODAY = date(2027, 3, 1)

COMMANDS = [
    # English
    ("please pause me until March 15", C.PAUSE, {"days": 14, "until": "2027-03-15"}),
    ("Please pause me until 15 March, I am swamped at work.", C.PAUSE,
     {"days": 14, "until": "2027-03-15"}),
    ("pause me for three weeks please", C.PAUSE, {"days": 21}),
    ("I need to take a break for 2 weeks.", C.PAUSE, {"days": 14}),
    ("Could you put me on hold for a month?", C.PAUSE, {"days": 30}),
    ("I'd like to pause my participation.", C.PAUSE, {"days": 14}),
    ("We are taking a short break until April.", C.PAUSE, {"days": 31, "until": "2027-04-01"}),
    ("I have to leave the program", C.WITHDRAW, {}),
    ("I'm sorry but I have to leave the program, my job has changed.", C.WITHDRAW, {}),
    ("Please remove me from the program.", C.WITHDRAW, {}),
    ("I can no longer take part.", C.WITHDRAW, {}),
    ("I've decided to withdraw.", C.WITHDRAW, {}),
    ("can I get a new partner", C.REMATCH, {}),
    ("Could I please have a new partner? Mine has stopped answering.", C.REMATCH, {}),
    ("I would like to change my partner.", C.REMATCH, {}),
    ("My partner has not answered for weeks. Could I have a new partner?", C.REMATCH, {}),
    ("I'm back", C.RESUME, {}),
    ("We're back from holiday.", C.RESUME, {}),
    ("Please end my pause.", C.RESUME, {}),
    ("Please delete my personal data.", C.DELETE_MY_DATA, {}),
    ("Yes, we are in touch, we had a video call last week.", C.IN_TOUCH, {}),
    ("We talk on WhatsApp every week.", C.IN_TOUCH, {}),
    ("My partner hasn't replied to any of my emails.", C.SILENT, {}),
    ("What's my status?", C.STATUS, {}),
    ("Did you receive my application?", C.STATUS, {}),
    ("I would like to join the next round.", C.CONTINUE, {}),
    # French
    ("je dois quitter le programme", C.WITHDRAW, {}),
    ("Je dois quitter le programme, je change de poste. Merci pour tout.", C.WITHDRAW, {}),
    ("J'aimerais me retirer.", C.WITHDRAW, {}),
    ("Merci de me désinscrire.", C.WITHDRAW, {}),
    ("Je ne peux plus participer au programme.", C.WITHDRAW, {}),
    ("Pouvez-vous mettre ma participation en pause pendant 3 semaines ?", C.PAUSE, {"days": 21}),
    ("Je voudrais faire une pause jusqu'au 20 mars.", C.PAUSE,
     {"days": 19, "until": "2027-03-20"}),
    ("Pourrais-je avoir un nouveau partenaire ? Le mien ne répond plus.", C.REMATCH, {}),
    ("Je voudrais changer de partenaire.", C.REMATCH, {}),
    ("Je suis de retour !", C.RESUME, {}),
    ("Oui, nous sommes en contact, nous nous sommes appelés.", C.IN_TOUCH, {}),
    ("Ma partenaire ne répond plus à mes messages.", C.SILENT, {}),
    ("Supprimez mes données s'il vous plaît.", C.DELETE_MY_DATA, {}),
    ("Quel est mon statut ?", C.STATUS, {}),
    # Spanish
    ("¿puedo cambiar de pareja?", C.REMATCH, {}),
    ("¿Puedo cambiar de pareja? La mía ya no contesta.", C.REMATCH, {}),
    ("Quisiera otra pareja.", C.REMATCH, {}),
    ("estoy de vuelta", C.RESUME, {}),
    ("Ya volví de las vacaciones.", C.RESUME, {}),
    ("Lo siento, tengo que dejar el programa por motivos de trabajo.", C.WITHDRAW, {}),
    ("Quiero darme de baja.", C.WITHDRAW, {}),
    ("Ya no puedo participar.", C.WITHDRAW, {}),
    ("Por favor, pausen mi participación hasta el 15 de marzo.", C.PAUSE,
     {"days": 14, "until": "2027-03-15"}),
    ("Necesito hacer una pausa de tres semanas.", C.PAUSE, {"days": 21}),
    ("Sí, estamos en contacto, hablamos la semana pasada.", C.IN_TOUCH, {}),
    ("Mi compañera no me contesta desde hace semanas.", C.SILENT, {}),
    ("Borren mis datos, por favor.", C.DELETE_MY_DATA, {}),
    ("¿Recibieron mi solicitud?", C.STATUS, {}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "name", "args"), COMMANDS)
def test_commands_written_as_sentences(text: str, name: C, args: dict) -> None:
    intent = read_intent("", f"Hello,\n\n{text}\n\nBest,\nAna", today=TODAY)
    assert intent.kind is IntentKind.COMMAND, intent
    assert intent.command is not None
    assert (intent.command.name, intent.command.args) == (name, args)
    assert intent.command.sentence


FAQ = [
    ("how do I pause?", F.PAUSE),
    ("Is it possible to take a break for a while?", F.PAUSE),
    ("Comment mettre ma participation en pause ?", F.PAUSE),
    ("¿Cómo puedo pausar mi participación?", F.PAUSE),
    ("Is it possible to change partner? We don't have much in common.", F.CHANGE_PARTNER),
    ("How can I get a new partner?", F.CHANGE_PARTNER),
    ("Est-il possible de changer de partenaire ? Nous avons peu en commun.", F.CHANGE_PARTNER),
    ("¿Es posible cambiar de pareja? Tenemos poco en común.", F.CHANGE_PARTNER),
    ("How do I leave the program?", F.LEAVE),
    ("What happens if I withdraw?", F.LEAVE),
    ("Comment me désinscrire ?", F.LEAVE),
    ("¿Qué pasa si me doy de baja?", F.LEAVE),
    ("Where can I find the application form for the next round?", F.APPLY),
    ("Hello, I heard about the network at a conference. How do I apply?", F.APPLY),
    ("Could a colleague of mine join the program now?", F.APPLY),
    ("Où puis-je trouver le formulaire pour la prochaine session ?", F.APPLY),
    ("Une collègue peut-elle rejoindre le programme maintenant ?", F.APPLY),
    ("¿Dónde encuentro el formulario para la próxima ronda?", F.APPLY),
    ("¿Cómo puedo inscribirme?", F.APPLY),
    ("I deleted the introduction by mistake. Who is my partner again?", F.WHO_IS_MY_PARTNER),
    ("J'ai effacé le message de présentation. Qui est mon partenaire ?", F.WHO_IS_MY_PARTNER),
    ("Borré el correo de presentación. ¿Quién es mi pareja?", F.WHO_IS_MY_PARTNER),
    ("I did not get this fortnight's topic, could you send it again?", F.TOPIC),
    ("When is the next topic coming?", F.TOPIC),
    ("Je n'ai pas reçu le sujet de cette quinzaine, pouvez-vous le renvoyer ?", F.TOPIC),
    ("No recibí el tema de esta quincena, ¿me lo pueden reenviar?", F.TOPIC),
    ("How often are we supposed to write to each other? Is once a month ok?", F.HOW_OFTEN),
    ("À quelle fréquence devons-nous nous écrire ?", F.HOW_OFTEN),
    ("¿Con qué frecuencia debemos escribirnos?", F.HOW_OFTEN),
]


@pytest.mark.parametrize(("text", "topic"), FAQ)
def test_faq_questions(text: str, topic: F) -> None:
    intent = read_intent("", text, today=TODAY)
    assert (intent.kind, intent.faq) == (IntentKind.FAQ, topic), intent


QUESTIONS = [
    "My partner paused her reply to think about it, is that normal?",
    "My emails to my partner come back undelivered. What should I do?",
    "I don't want to leave the program, I just wanted to say the topics are great.",
    "If I have to leave the program later, will my partner be told?",
    "Why did you pause me?",
    "I am not sure whether to take a break or carry on, what do you suggest?",
    "Please pause me until I'm back from leave.",  # an until without a date: a person decides
    "Pause me for two weeks, or maybe I need to leave the program.",  # two commands
    "Mes messages à mon partenaire me reviennent non distribués. Que dois-je faire ?",
    "Je ne veux pas quitter le programme, mais mon travail m'occupe beaucoup.",
    "Mis correos a mi pareja vuelven sin entregar. ¿Qué debo hacer?",
    "No quiero dejar el programa, solo quería comentar algo.",
    "I have to leave early today for a doctor's appointment, sorry for the short note.",
    "Je dois quitter mon poste le mois prochain, je vous donnerai ma nouvelle adresse.",
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_what_is_not_understood_is_a_question_for_a_person(text: str) -> None:
    intent = read_intent("", text, today=TODAY)
    assert intent.kind is IntentKind.QUESTION, intent


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Re: Your partner", "Thanks!\n\nOn Mon, 1 Mar 2027, ILN <p@example.org> wrote:\n> x"),
        ("", "Merci beaucoup !\nMarie"),
        ("", "Ok, gracias."),
        ("Re: Survey", "Satisfaction: 5\nMost valuable: the topics\nChoice: 1\n"),
        ("", ""),
        ("", "> How do I pause?\n> I have to leave the program"),  # only quoted text
        ("", "-- \nI have to leave the program"),  # only a signature
    ],
)
def test_nothing_to_answer(subject: str, body: str) -> None:
    assert read_intent(subject, body, today=TODAY).kind is IntentKind.NONE


def test_a_reply_subject_is_our_words_not_theirs() -> None:
    intent = read_intent("Re: How do I pause? - ILN", "Thanks!", today=TODAY)
    assert intent.kind is IntentKind.NONE


def test_subject_pause_takes_its_duration_from_the_body() -> None:
    intent = read_intent("Pause", "Hi,\nplease pause me until March 15, thanks", today=TODAY)
    assert intent.command is not None and not intent.command.sentence
    assert intent.command.args == {"days": 14, "until": "2027-03-15"}
    intent = read_intent("Re: PAUSE", "for three weeks please", today=TODAY)
    assert intent.command is not None and intent.command.args == {"days": 21}
    intent = read_intent("PAUSE 10 days", "I will be away until March 30", today=TODAY)
    assert intent.command is not None and intent.command.args == {"days": 10}
    intent = read_intent("PAUSE", "", today=TODAY)
    assert intent.command is not None and intent.command.args == {"days": 14}


def test_subject_pause_with_an_unreadable_until_in_the_body_is_a_question() -> None:
    assert read_intent("Pause", "until I'm back", today=TODAY).kind is IntentKind.QUESTION


def test_keywords_are_read_as_before() -> None:
    intent = read_intent("WITHDRAW", "", today=TODAY)
    assert intent.command is not None and intent.command.name is C.WITHDRAW
    assert not intent.command.sentence and not needs_confirmation(intent.command)


def test_irreversible_commands_from_sentences_need_confirmation() -> None:
    for text in ("I have to leave the program", "Please delete my data"):
        command = read_intent("", text, today=TODAY).command
        assert command is not None and needs_confirmation(command)
    command = read_intent("", "please pause me for a week", today=TODAY).command
    assert command is not None and not needs_confirmation(command)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("How often are we supposed to write?", "en"),
        ("À quelle fréquence devons-nous nous écrire ?", "fr"),
        ("¿Con qué frecuencia debemos escribirnos?", "es"),
        ("Pourquoi est-ce que mon partenaire ne me répond pas ?", "fr"),
    ],
)
def test_the_language_is_told(text: str, lang: str) -> None:
    assert read_intent("", text, today=TODAY).lang == lang


def test_a_long_message_is_read_in_linear_time() -> None:
    import time

    text = ("word " * 50 + "my partner is nice. ") * 200
    started = time.perf_counter()
    read_intent("", text, today=TODAY)
    assert time.perf_counter() - started < 0.5


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text())
def test_read_intent_never_raises(subject: str, body: str) -> None:
    intent = read_intent(subject, body, today=TODAY)
    assert isinstance(intent.kind, IntentKind)
