"""What the simulated people of `benchmarks.round` write, in English, French and Spanish.

Decides nothing: word lists and message texts — the application form's labels and values, free-text
questions, commands written as sentences and as keywords, answers to the program's mail.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

LABELS = {
    "en": (
        "Name", "Country", "Time zone", "Institution", "Sector", "Career stage", "Interests",
        "Partner sector", "Partner career stage", "Partner interests", "About me",
    ),
    "fr": (
        "Nom", "Pays", "Fuseau horaire", "Établissement", "Secteur", "Étape de carrière",
        "Intérêts", "Secteur du partenaire", "Étape de carrière du partenaire",
        "Intérêts du partenaire", "À propos de moi",
    ),
    "es": (
        "Nombre", "País", "Zona horaria", "Institución", "Sector", "Etapa profesional",
        "Intereses", "Sector de la pareja", "Etapa profesional de la pareja",
        "Intereses de la pareja", "Sobre mí",
    ),
}  # fmt: skip
SECTORS = {
    "fr": {
        "academic": "universitaire", "public": "public", "school": "scolaire",
        "special": "spécialisé", "government": "gouvernemental", "archives": "archives",
        "museum": "musée", "student": "étudiant", "other": "autre",
    },
    "es": {
        "academic": "universitario", "public": "público", "school": "escolar",
        "special": "especializado", "government": "gubernamental", "archives": "archivos",
        "museum": "museo", "student": "estudiante", "other": "otro",
    },
}  # fmt: skip
STAGES = {
    "fr": {
        "student": "étudiant", "new professional": "début de carrière",
        "mid-career": "mi-carrière", "senior": "sénior",
    },
    "es": {
        "student": "estudiante", "new professional": "inicio de carrera",
        "mid-career": "mitad de carrera", "senior": "sénior",
    },
}  # fmt: skip
GREETING = {"en": "Hello,", "fr": "Bonjour,", "es": "Hola:"}
SUBJECT_APPLY = {"en": "Application", "fr": "Candidature", "es": "Solicitud"}
ABOUT = {
    "en": "I would like to learn how colleagues elsewhere work.",
    "fr": "J'aimerais découvrir comment travaillent des collègues ailleurs.",
    "es": "Me gustaría conocer cómo trabajan colegas de otros países.",
}
FIRST = (
    "Ana", "Kofi", "Mia", "Sam", "Léa", "Raj", "Aroha", "Moussa", "Camila", "Hana", "Wanjiru",
    "Lukas", "Sofía", "Yasmine", "Mateo", "Grace", "Jonas", "Nadia", "Diego", "Maria", "Liam",
    "Élodie", "Valentina", "Siosaia", "Lan", "Awa", "Andrés", "Emily", "Thabo", "Claire",
)  # fmt: skip
LAST = (
    "García", "Mensah", "Walker", "Tane", "Dubois", "Iyer", "Ngata", "Diop", "Rojas", "Sato",
    "Kamau", "Becker", "Gómez", "Alaoui", "Silva", "Okafor", "Lindqvist", "Haddad", "Torres",
    "Santos", "O'Brien", "Martin", "Cruz", "Tonga", "Nguyen", "Koné", "Morales", "Chen", "Nkosi",
)  # fmt: skip

TALK = {
    "en": "Thanks for your message! Here is how we handle this at my library: ...",
    "fr": "Merci pour ton message ! Voici comment nous faisons dans ma bibliothèque : ...",
    "es": "¡Gracias por tu mensaje! Así lo hacemos en mi biblioteca: ...",
}

# Free-text questions to the program: (shape, text). The shape names the message in the report.
QUESTIONS = {
    "en": (
        ("q-how-often", "How often are we supposed to write to each other? Is once a month ok?"),
        ("q-who-partner", "I deleted the introduction by mistake. Who is my partner again?"),
        ("q-form", "Where can I find the application form for the next round?"),
        ("q-topic", "I did not get this fortnight's topic, could you send it again?"),
        ("q-colleague", "Could a colleague of mine join the program now?"),
        ("q-change", "Is it possible to change partner? We don't have much in common."),
    ),
    "fr": (
        ("q-how-often", "À quelle fréquence devons-nous nous écrire ? Une fois par mois, ça va ?"),
        ("q-who-partner", "J'ai effacé le message de présentation. Qui est mon partenaire ?"),
        ("q-form", "Où puis-je trouver le formulaire pour la prochaine session ?"),
        ("q-topic", "Je n'ai pas reçu le sujet de cette quinzaine, pouvez-vous le renvoyer ?"),
        ("q-colleague", "Une collègue peut-elle rejoindre le programme maintenant ?"),
        ("q-change", "Est-il possible de changer de partenaire ? Nous avons peu en commun."),
    ),
    "es": (
        ("q-how-often", "¿Con qué frecuencia debemos escribirnos? ¿Una vez al mes está bien?"),
        ("q-who-partner", "Borré el correo de presentación. ¿Quién es mi pareja?"),
        ("q-form", "¿Dónde encuentro el formulario para la próxima ronda?"),
        ("q-topic", "No recibí el tema de esta quincena, ¿me lo pueden reenviar?"),
        ("q-colleague", "¿Puede una colega unirse al programa ahora?"),
        ("q-change", "¿Es posible cambiar de pareja? Tenemos poco en común."),
    ),
}
ASK_BEFORE_APPLYING = {
    "en": "Hello, I heard about the network at a conference. How do I apply?",
    "fr": "Bonjour, j'ai entendu parler du réseau lors d'un congrès. Comment puis-je m'inscrire ?",
    "es": "Hola, supe de la red en un congreso. ¿Cómo puedo inscribirme?",
}
PARTNER_SILENT = {  # a one-sided writer asks the program for help, in a sentence
    "en": "My partner has not answered any of my emails for weeks. Could I have a new partner?",
    "fr": "Ma partenaire ne répond plus à mes messages depuis des semaines. "
    "Pourrais-je avoir un autre partenaire ?",
    "es": "Mi pareja no responde a mis correos desde hace semanas. ¿Puedo cambiar de pareja?",
}
PARTNER_BOUNCES = {
    "en": "My emails to my partner come back undelivered. What should I do?",
    "fr": "Mes messages à mon partenaire me reviennent non distribués. Que dois-je faire ?",
    "es": "Mis correos a mi pareja vuelven sin entregar. ¿Qué debo hacer?",
}

# Commands as people write them: verb -> language -> (sentence, keyword form). A sentence needs
# understanding; the keyword is what the program's HELP teaches.
COMMANDS = {
    "pause": {
        "en": ("Please pause me until {until_en}, I am swamped at work.", "PAUSE {weeks} weeks"),
        "fr": ("Pouvez-vous mettre ma participation en pause pendant {weeks} semaines ?",
               "PAUSE {weeks} semaines"),
        "es": ("Por favor, pausen mi participación hasta el {until_es}.", "PAUSA {weeks} semanas"),
    },
    "withdraw": {
        "en": ("I'm sorry but I have to leave the program, my job has changed.", "WITHDRAW"),
        "fr": ("Je dois quitter le programme, je change de poste. Merci pour tout.", "RETIRER"),
        "es": ("Lo siento, tengo que dejar el programa por motivos de trabajo.", "BAJA"),
    },
    "rematch": {
        "en": ("Could I please have a new partner? Mine has stopped answering.", "REMATCH"),
        "fr": ("Pourrais-je avoir un nouveau partenaire ? Le mien ne répond plus.",
               "NOUVEAU PARTENAIRE"),
        "es": ("¿Puedo cambiar de pareja? La mía ya no contesta.", "NUEVA PAREJA"),
    },
}  # fmt: skip
MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
MONTHS_ES = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)

IN_TOUCH = {  # (sentence, keyword)
    "en": ("Yes, we are in touch, we had a video call last week.", "IN TOUCH"),
    "fr": ("Oui, nous sommes en contact, nous nous sommes appelés.", "EN CONTACT"),
    "es": ("Sí, estamos en contacto, hablamos la semana pasada.", "EN CONTACTO"),
}
SILENT = {"en": "SILENT", "fr": "SILENCIEUX", "es": "SIN RESPUESTA"}
YES = {"en": "YES", "fr": "OUI", "es": "SÍ"}
NO = {"en": "NO", "fr": "NON", "es": "NO"}
REMATCH_WORD = {"en": "REMATCH", "fr": "NOUVEAU PARTENAIRE", "es": "NUEVA PAREJA"}
SURVEY = {
    "en": "Satisfaction: {s}\nMost valuable: {v}\nChoice: {c}\n",
    "fr": "Satisfaction : {s}\nLe plus précieux : {v}\nChoix : {c}\n",
    "es": "Satisfacción: {s}\nLo más valioso: {v}\nOpción: {c}\n",
}
VALUABLE = {
    "en": "seeing how another library works",
    "fr": "découvrir une autre façon de travailler",
    "es": "conocer otra manera de trabajar",
}
AWAY = {
    "en": ("Automatic reply: out of the office", "I am away until {back} with no access to email."),
    "fr": ("Réponse automatique : absence", "Je suis absente jusqu'au {back}, sans courriel."),
    "es": ("Respuesta automática: fuera de la oficina", "Estoy fuera hasta el {back}."),
}  # fmt: skip
