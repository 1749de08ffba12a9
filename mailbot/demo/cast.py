"""The demo's applicants: who applies, on which day, with what form.

Decides, from a seed only: ~40 people from many countries, forms in English, French and Spanish,
some with partner wishes, a few whose first form has problems and who send a corrected one a
couple of days later. Days are counted from the round's start (day 0); application days are
negative. `mailbot.demo.world` turns the forms into RFC 5322 messages.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

SEED = 2027

# (name, mailbox, form language, country as the person writes it, institution)
_PEOPLE: tuple[tuple[str, str, str, str, str], ...] = (
    ("Kofi Mensah", "kofi.mensah@ug.example.edu.gh", "en", "Ghana", "Balme Library"),
    ("Amélie Dubois", "amelie.dubois@bm-lyon.example.fr", "fr", "France", "Médiathèque de Lyon"),
    ("Lucía Fernández", "lucia@agn.example.mx", "es", "México", "Archivo General de la Nación"),
    ("Priya Raman", "priya.raman@example.in", "en", "India", "Chennai Museum"),
    ("Tom Baker", "tom.baker@leeds.example.uk", "en", "United Kingdom", "Leeds Central Library"),
    ("Aroha Ngata", "aroha@library.example.nz", "en", "New Zealand", "Wellington City Libraries"),
    ("Moussa Diop", "moussa.diop@ucad.example.sn", "fr", "Sénégal", "Bibliothèque de l'UCAD"),
    ("Camila Rojas", "camila.rojas@example.cl", "es", "Chile", "Biblioteca Nacional de Chile"),
    ("Hana Sato", "hana.sato@example.jp", "en", "Japan", "Osaka Prefectural Library"),
    ("Wanjiru Kamau", "wanjiru@knls.example.ke", "en", "Kenya", "Kenya National Library"),
    ("Lukas Becker", "lukas.becker@example.de", "en", "Germany", "Stadtbibliothek Köln"),
    ("Sofía Gómez", "sofia.gomez@example.co", "es", "Colombia", "Biblioteca Luis Ángel Arango"),
    ("Yasmine Alaoui", "yasmine@bnrm.example.ma", "fr", "Maroc", "Bibliothèque nationale"),
    ("Mateo Silva", "mateo.silva@example.uy", "es", "Uruguay", "Biblioteca de la Udelar"),
    ("Grace Okafor", "grace.okafor@unilag.example.ng", "en", "Nigeria", "University of Lagos"),
    ("Jonas Lindqvist", "jonas@example.se", "en", "Sweden", "Malmö stadsbibliotek"),
    ("Nadia Haddad", "nadia.haddad@example.lb", "fr", "Liban", "Bibliothèque de l'USJ"),
    ("Diego Torres", "diego.torres@example.pe", "es", "Perú", "Biblioteca Municipal de Lima"),
    ("Maria Santos", "maria.santos@example.ph", "en", "Philippines", "Ateneo de Manila Library"),
    ("Liam O'Brien", "liam.obrien@example.ie", "en", "Ireland", "Trinity College Library"),
    ("Élodie Martin", "elodie.martin@example.be", "fr", "Belgique", "KBR"),
    ("Valentina Cruz", "valentina.cruz@example.ar", "es", "Argentina", "Biblioteca del Congreso"),
    ("Siosaia Tonga", "siosaia@usp.example.fj", "en", "Fiji", "USP Library"),
    ("Nguyen Thi Lan", "lan.nguyen@example.vn", "en", "Vietnam", "National Library of Vietnam"),
    ("Awa Koné", "awa.kone@example.ci", "fr", "Côte d'Ivoire", "Bibliothèque nationale"),
    ("Andrés Morales", "andres.morales@example.ec", "es", "Ecuador", "Biblioteca Aurelio Espinosa"),
    ("Emily Chen", "emily.chen@example.sg", "en", "Singapore", "NLB Singapore"),
    ("Thabo Nkosi", "thabo.nkosi@example.za", "en", "South Africa", "UCT Libraries"),
    ("Claire Fontaine", "claire.fontaine@example.ch", "fr", "Suisse", "Bibliothèque de Genève"),
    ("Isabel Ruiz", "isabel.ruiz@example.es", "es", "España", "Biblioteca de Catalunya"),
    ("Sarah Miller", "sarah.miller@example.us", "en", "United States", "Denver Public Library"),
    ("Ahmed Hassan", "ahmed.hassan@example.eg", "en", "Egypt", "Bibliotheca Alexandrina"),
    ("Jean-Baptiste Noël", "jb.noel@example.ht", "fr", "Haïti", "Bibliothèque haïtienne"),
    ("Ana Paula Lima", "anapaula@example.br", "en", "Brazil", "Biblioteca Mário de Andrade"),
    ("Sanne de Vries", "sanne@example.nl", "en", "Netherlands", "KB Den Haag"),
    ("Rahel Tesfaye", "rahel@example.et", "en", "Ethiopia", "Addis Ababa University Library"),
    ("Olivia Brown", "olivia.brown@example.au", "en", "Australia", "State Library Victoria"),
    ("Marisol Pérez", "marisol.perez@example.gt", "es", "Guatemala", "Biblioteca Nacional"),
    ("Chloé Ngo", "chloe.ngo@example.ca", "fr", "Canada", "BAnQ"),
    ("Dewi Lestari", "dewi.lestari@example.id", "en", "Indonesia", "Perpustakaan Nasional"),
)

_SECTORS = {
    "en": ("academic", "public", "school", "special", "government", "archives", "museum"),
    "fr": ("universitaire", "public", "scolaire", "spécialisé", "archives", "musée"),
    "es": ("universitario", "público", "escolar", "especializado", "archivos", "museo"),
}
_STAGES = {
    "en": ("new professional", "mid-career", "senior", "student"),
    "fr": ("début de carrière", "mi-carrière", "sénior"),
    "es": ("inicio de carrera", "mitad de carrera", "sénior"),
}
_INTERESTS = {
    "en": (
        "research data",
        "open access",
        "digitisation",
        "makerspaces",
        "children's services",
        "information literacy",
        "rare books",
        "community outreach",
        "metadata",
        "copyright",
    ),
    "fr": (
        "médiation numérique",
        "jeunesse",
        "numérisation",
        "fonds anciens",
        "accès ouvert",
        "éducation aux médias",
    ),
    "es": (
        "preservación digital",
        "gestión documental",
        "alfabetización informacional",
        "bibliotecas escolares",
        "acceso abierto",
        "fomento de la lectura",
    ),
}
_LABELS = {
    "en": {
        "name": "Name",
        "country": "Country",
        "institution": "Institution",
        "sector": "Sector",
        "stage": "Career stage",
        "interests": "Interests",
        "partner_sector": "Partner sector",
        "partner_interests": "Partner interests",
        "about": "About me",
    },
    "fr": {
        "name": "Nom",
        "country": "Pays",
        "institution": "Établissement",
        "sector": "Secteur",
        "stage": "Étape de carrière",
        "interests": "Intérêts",
        "partner_sector": "Secteur du partenaire",
        "partner_interests": "Intérêts du partenaire",
        "about": "À propos de moi",
    },
    "es": {
        "name": "Nombre",
        "country": "País",
        "institution": "Institución",
        "sector": "Sector",
        "stage": "Etapa profesional",
        "interests": "Intereses",
        "partner_sector": "Sector de la pareja",
        "partner_interests": "Intereses de la pareja",
        "about": "Sobre mí",
    },
}
_GREETING = {"en": "Hello,", "fr": "Bonjour,", "es": "Hola:"}
_ABOUT = {
    "en": "I would like to learn how colleagues elsewhere work.",
    "fr": "J'aimerais découvrir comment travaillent des collègues ailleurs.",
    "es": "Me gustaría conocer cómo trabajan colegas de otros países.",
}
APPLY_FIRST_DAY = -28  # days before the round's start on which applications begin to arrive
APPLY_LAST_DAY = -11  # applications close a week and a half before the start
FIX_AFTER_DAYS = 2  # an applicant told what to fix sends the corrected form this much later


@dataclass(frozen=True)
class Applicant:
    name: str
    email: str
    language: str
    form: str  # the valid form's body
    day: int  # round day the (first) form is sent
    first_form: str | None = None  # a form with problems, sent first; the valid one follows
    wishes: bool = False  # the form states partner wishes


def _form(lang: str, fields: Sequence[tuple[str, str]], name: str) -> str:
    labels = _LABELS[lang]
    lines = [f"{labels[k]}: {v}" for k, v in fields]
    return f"{_GREETING[lang]}\n\n" + "\n".join(lines) + f"\n\n-- \n{name}\n"


def applicants(seed: int = SEED) -> list[Applicant]:
    """Every simulated applicant, in the order their first mail is sent."""
    rng = random.Random(seed)
    out: list[Applicant] = []
    for i, (name, email, lang, country, institution) in enumerate(_PEOPLE):
        interests = rng.sample(_INTERESTS[lang], 3)
        fields: list[tuple[str, str]] = [
            ("name", name),
            ("country", country),
            ("institution", institution),
            ("sector", rng.choice(_SECTORS[lang])),
            ("stage", rng.choice(_STAGES[lang])),
            ("interests", ", ".join(interests)),
        ]
        wishes = i % 4 == 1
        if wishes:
            fields.append(("partner_sector", rng.choice(_SECTORS[lang])))
            fields.append(("partner_interests", rng.choice(_INTERESTS[lang])))
        if i % 3 == 0:
            fields.append(("about", _ABOUT[lang]))
        first: str | None = None
        if i % 10 == 4:  # a few forms with problems, one per kind
            broken = list(fields)
            kind = (i // 10) % 4
            if kind == 0:  # no country at all
                broken = [f for f in broken if f[0] != "country"]
            elif kind == 1:  # a sector the program does not know
                broken = [(k, "bibliothèques" if k == "sector" else v) for k, v in broken]
            elif kind == 2:  # career stage and institution forgotten
                broken = [f for f in broken if f[0] not in ("stage", "institution")]
            else:  # a country that does not exist
                broken = [(k, "Atlantis" if k == "country" else v) for k, v in broken]
            first = _form(lang, broken, name)
        day = APPLY_FIRST_DAY + (i * (APPLY_LAST_DAY - APPLY_FIRST_DAY - FIX_AFTER_DAYS)) // len(
            _PEOPLE
        )
        out.append(Applicant(name, email, lang, _form(lang, fields, name), day, first, wishes))
    return out
