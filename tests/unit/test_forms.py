"""Application forms: scenarios of how applicants really fill them in, and what they are told."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.domain import vocab
from mailbot.domain.forms import looks_like_application, parse_application, split_interests
from mailbot.domain.model import CareerStage, Field, Problem, Sector
from mailbot.domain.textutil import fold

FROM = "Alice.Martin@Example.ORG"

EN_FORM = """\
Name: Alice Martin
Country: United States
Time zone: America/Chicago
Language: en
Institution: Springfield Public Library
Sector: public
Career stage: mid-career
Interests: outreach, local history; digital preservation
Partner sector: academic
Partner career stage: any
Partner interests: open access
About me: I run the local history room.
"""

FR_FORM = """\
Bonjour, voici ma candidature :

Nom : Élodie Durand
Pays : Côte d'Ivoire
Fuseau horaire :
Langue :
Établissement : Université Félix Houphouët-Boigny
Secteur : bibliothèque universitaire
Étape de carrière : nouvelle professionnelle
Intérêts : catalogage, numérisation
Secteur du partenaire : peu importe
Étape de carrière du partenaire : mi-carrière
Intérêts du partenaire :
À propos de moi : Je travaille à la bibliothèque centrale.
J'aime les archives sonores.

Cordialement,
--
Élodie Durand
Bibliothécaire
"""

ES_FORM = """\
Hola, aquí va mi solicitud:

Nombre: Juan Pérez
País: México
Zona horaria: UTC-6
Idioma: español
Institución: UNAM
Sector: académica
Etapa profesional: recién titulado
Intereses: datos abiertos, acceso abierto
Sector de la pareja: cualquiera
Etapa profesional de la pareja: sénior
Intereses de la pareja: bibliometría
Sobre mí: Trabajo en la biblioteca central.
"""


def test_english_form() -> None:
    result = parse_application(EN_FORM, from_addr=FROM)
    assert result.valid
    assert result.language == "en"
    assert result.fields is not None
    assert result.fields.as_json() == {
        "name": "Alice Martin",
        "email": "alice.martin@example.org",
        "country": "US",
        "timezone": "America/Chicago",
        "language": "en",
        "institution": "Springfield Public Library",
        "sector": "public",
        "career_stage": "mid-career",
        "interests": ["outreach", "local history", "digital preservation"],
        "partner_sector": "academic",
        "partner_career_stage": None,
        "partner_interests": ["open access"],
        "about": "I run the local history room.",
    }


def test_french_form_under_a_greeting_above_a_signature() -> None:
    result = parse_application(FR_FORM, from_addr=FROM)
    assert result.problems == ()
    assert result.language == "fr"
    f = result.fields
    assert f is not None
    assert f.name == "Élodie Durand"
    assert f.country == "CI"
    assert f.timezone == "Africa/Abidjan"  # blank time zone: the country's zone
    assert f.language == "fr"
    assert f.sector is Sector.ACADEMIC
    assert f.career_stage is CareerStage.NEW_PROFESSIONAL
    assert f.partner_sector is None
    assert f.partner_career_stage is CareerStage.MID_CAREER
    assert f.partner_interests == ()
    # "About me" runs over lines and stops at the closing ("Cordialement,") or the "--" line.
    assert f.about == ("Je travaille à la bibliothèque centrale.\nJ'aime les archives sonores.")


def test_spanish_form() -> None:
    result = parse_application(ES_FORM, from_addr=FROM)
    assert result.valid
    assert result.language == "es"
    f = result.fields
    assert f is not None
    assert (f.country, f.timezone, f.language) == ("MX", "Etc/GMT+6", "es")
    assert (f.sector, f.career_stage) == (Sector.ACADEMIC, CareerStage.NEW_PROFESSIONAL)
    assert f.partner_sector is None
    assert f.partner_career_stage is CareerStage.SENIOR
    assert f.interests == ("datos abiertos", "acceso abierto")
    assert f.partner_interests == ("bibliometría",)


def test_raw_keeps_values_as_found_under_canonical_field_names() -> None:
    result = parse_application(FR_FORM, from_addr=FROM)
    assert result.raw["country"] == "Côte d'Ivoire"
    assert result.raw["sector"] == "bibliothèque universitaire"
    assert result.raw["timezone"] == ""
    assert "email" not in result.raw


LINE_STYLES: dict[str, Callable[[str, str], str]] = {
    "plain": lambda label, value: f"{label}: {value}",
    "upper": lambda label, value: f"{label.upper()}: {value}",
    "french_colon": lambda label, value: f"{label} : {value}",
    "dash_bullet": lambda label, value: f"- {label}: {value}",
    "star_bullet": lambda label, value: f"* {label}: {value}",
    "dot_bullet": lambda label, value: f"• {label}: {value}",
    "numbered": lambda label, value: f"3. {label}: {value}",
    "md_bold_inside": lambda label, value: f"**{label}:** {value}",
    "md_bold_outside": lambda label, value: f"**{label}**: {value}",
    "md_italic": lambda label, value: f"*{label}*: {value}",
    "html_bold": lambda label, value: f"<b>{label}</b>: {value}",
    "html_strong_inside": lambda label, value: f"<p><strong>{label}:</strong> {value}</p>",
    "table_pipe": lambda label, value: f"{label} | {value}",
    "table_pipe_row": lambda label, value: f"| {label} | {value} |",
    "table_tab": lambda label, value: f"{label}\t{value}",
    "html_cells": lambda label, value: f"<tr><td>{label}</td><td>{value}</td></tr>",
    "indented": lambda label, value: f"    {label}:   {value}",
}

FIELD_VALUES = [
    ("Name", "Alice Martin"),
    ("Country", "USA"),
    ("Timezone", "UTC+5"),
    ("Institution", "Springfield &amp; District Library"),
    ("Sector", "academic"),
    ("Career stage", "senior"),
    ("Interests", "outreach, cataloguing"),
    ("Partner sector", "museum"),
]


@pytest.mark.parametrize("style", sorted(LINE_STYLES))
def test_label_styles(style: str) -> None:
    render = LINE_STYLES[style]
    body = "Hello, here is my application:\n\n"
    body += "\n".join(render(label, value) for label, value in FIELD_VALUES)
    result = parse_application(body, from_addr=FROM)
    assert result.problems == ()
    f = result.fields
    assert f is not None
    assert f.name == "Alice Martin"
    assert f.country == "US"
    assert f.timezone == "Etc/GMT-5"
    assert f.institution == "Springfield & District Library"  # HTML entities decoded
    assert f.sector is Sector.ACADEMIC
    assert f.career_stage is CareerStage.SENIOR
    assert f.interests == ("outreach", "cataloguing")
    assert f.partner_sector is Sector.MUSEUM


def test_reply_quoting_the_blank_form_reads_only_the_writers_lines() -> None:
    body = (
        "Name: Bob Li\nCountry: China\nInstitution: Fudan\nSector: academic\n"
        "Career stage: student\nInterests: rare books\n\n"
        "On Mon, 3 Jun 2024, ILN <program@example.org> wrote:\n"
        "> Name:\n> Country: France\n> Sector: public\n> About me: quoted\n"
    )
    result = parse_application(body, from_addr="bob@example.cn")
    assert result.valid
    assert result.fields is not None
    assert result.fields.country == "CN"
    assert result.fields.sector is Sector.ACADEMIC
    assert result.fields.about == ""
    assert result.fields.timezone == "Asia/Shanghai"


def test_email_field_in_the_form_never_signs_up_another_address() -> None:
    body = EN_FORM + "Email: mallory@evil.example\n"
    result = parse_application(body, from_addr="alice@example.org")
    assert result.fields is not None
    assert result.fields.email == "alice@example.org"
    assert "mallory" not in repr(result)


@pytest.mark.parametrize("from_addr", ["", "not an address", "alice@", "a b@example.org"])
def test_invalid_sender_is_a_problem(from_addr: str) -> None:
    result = parse_application(EN_FORM, from_addr=from_addr)
    assert not result.valid
    assert result.fields is None
    assert result.problems == (Problem(Field.EMAIL, "invalid", from_addr),)


@pytest.mark.parametrize("from_addr", ["anna@xn--mller-kva.de", "Anna@XN--MLLER-KVA.DE"])
def test_email_is_the_from_address_as_received_even_with_an_idn_domain(from_addr: str) -> None:
    # Intake finds people by the From address as received: "müller.de" would never match.
    result = parse_application(EN_FORM, from_addr=from_addr)
    assert result.fields is not None
    assert result.fields.email == "anna@xn--mller-kva.de"


def test_name_falls_back_to_the_display_name() -> None:
    body = EN_FORM.replace("Name: Alice Martin\n", "")
    result = parse_application(body, from_addr=FROM, from_name="  Alice   M. ")
    assert result.fields is not None
    assert result.fields.name == "Alice M."
    missing = parse_application(body, from_addr=FROM, from_name="")
    assert missing.problems == (Problem(Field.NAME, "missing"),)


def test_blank_form_reports_every_required_field_in_form_order() -> None:
    blank = (
        "Name:\nCountry:\nTime zone:\nLanguage:\nInstitution:\nSector:\nCareer stage:\n"
        "Interests:\nPartner sector:\nPartner career stage:\nPartner interests:\nAbout me:\n"
    )
    result = parse_application(blank, from_addr=FROM)
    assert result.fields is None
    assert [(p.field, p.code) for p in result.problems] == [
        (Field.NAME, "missing"),
        (Field.COUNTRY, "missing"),
        (Field.INSTITUTION, "missing"),
        (Field.SECTOR, "missing"),
        (Field.CAREER_STAGE, "missing"),
        (Field.INTERESTS, "missing"),
    ]


def test_unknown_values_are_reported_with_what_was_given_optional_fields_too() -> None:
    body = (
        "Name: Zed\nCountry: Narnia\nTime zone: Mars/Olympus\nLanguage: Klingon\n"
        "Institution: Cair Paravel\nSector: banking\nCareer stage: wizard\n"
        "Interests: lions\nPartner sector: dragons\nPartner career stage: elder\n"
    )
    result = parse_application(body, from_addr=FROM)
    assert result.fields is None
    assert result.problems == (
        Problem(Field.COUNTRY, "unknown_value", "Narnia"),
        Problem(Field.TIMEZONE, "unknown_value", "Mars/Olympus"),
        Problem(Field.LANGUAGE, "unknown_value", "Klingon"),
        Problem(Field.SECTOR, "unknown_value", "banking"),
        Problem(Field.CAREER_STAGE, "unknown_value", "wizard"),
        Problem(Field.PARTNER_SECTOR, "unknown_value", "dragons"),
        Problem(Field.PARTNER_CAREER_STAGE, "unknown_value", "elder"),
    )


@pytest.mark.parametrize(
    ("label", "value", "fld"),
    [
        ("Name", "A" * 201, Field.NAME),
        ("Institution", "B" * 301, Field.INSTITUTION),
        ("About me", "word " * 500, Field.ABOUT),
        ("Interests", ", ".join(f"topic {i}" for i in range(11)), Field.INTERESTS),
        ("Interests", "x" * 61, Field.INTERESTS),
        ("Partner interests", "y" * 61, Field.PARTNER_INTERESTS),
    ],
)
def test_too_long(label: str, value: str, fld: Field) -> None:
    kept = [line for line in EN_FORM.splitlines() if not line.startswith(label + ":")]
    body = f"{label}: {value}\n" + "\n".join(kept)
    result = parse_application(body, from_addr=FROM)
    assert [(p.field, p.code) for p in result.problems] == [(fld, "too_long")]


def test_ten_interests_are_fine() -> None:
    body = EN_FORM + "Interests: " + ", ".join(f"topic {i}" for i in range(10))
    body = body.replace("Interests: outreach, local history; digital preservation\n", "")
    result = parse_application(body, from_addr=FROM)
    assert result.fields is not None and len(result.fields.interests) == 10


def test_first_non_blank_value_wins_when_a_label_repeats() -> None:
    body = "Country:\n" + EN_FORM + "Country: France\n"
    result = parse_application(body, from_addr=FROM)
    assert result.fields is not None
    assert result.fields.country == "US"


@pytest.mark.parametrize(
    ("country", "timezone"),
    [("Nigeria", "Africa/Lagos"), ("Canada", "America/Toronto"), ("Antarctica", None)],
)
def test_time_zone_defaults_to_the_countrys_main_zone(country: str, timezone: str | None) -> None:
    body = EN_FORM.replace("Time zone: America/Chicago", "Time zone: -").replace(
        "Country: United States", f"Country: {country}"
    )
    result = parse_application(body, from_addr=FROM)
    assert result.fields is not None
    assert result.fields.timezone == timezone


def test_form_language_is_the_majority_of_labels_and_language_field_wins_for_the_answer() -> None:
    mixed = ES_FORM.replace("Idioma: español", "Idioma: French")
    result = parse_application(mixed, from_addr=FROM)
    assert result.language == "fr"
    assert result.fields is not None and result.fields.language == "fr"
    # A bad Language value is a problem; the answer goes out in the form's language.
    bad = parse_application(ES_FORM.replace("español", "esperanto"), from_addr=FROM)
    assert bad.language == "es"
    assert bad.problems == (Problem(Field.LANGUAGE, "unknown_value", "esperanto"),)


@pytest.mark.parametrize(
    ("default", "expected"),
    [("en", "en"), ("es", "es"), ("fr", "en"), ("de", "en")],
)
def test_language_tie_goes_to_the_default(default: str, expected: str) -> None:
    # "Sector" and "Institution" are English and Spanish / English and French; "Sector" twice
    # and "Country"+"País" give en=3, es=3, fr=0.
    body = "Country: France\nPaís: Francia\nSector: public\nSector: public\n"
    result = parse_application(body, from_addr=FROM, default_language=default)
    assert result.language == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "outreach, cataloguing; digital preservation",
            ["outreach", "cataloguing", "digital preservation"],
        ),
        ("Outreach,  OUTREACH , outreach.", ["outreach"]),
        ("rare books and manuscripts", ["rare books and manuscripts"]),
        ("outreach, rare books and manuscripts", ["outreach", "rare books", "manuscripts"]),
        ("catalogage, numérisation et archives", ["catalogage", "numérisation", "archives"]),
        ("datos, gestión y preservación", ["datos", "gestión", "preservación"]),
        ("Numérisation, numerisation", ["numérisation"]),
        (" , ;", []),
    ],
)
def test_split_interests(value: str, expected: list[str]) -> None:
    assert split_interests(value) == expected


def test_hard_wrapped_interests_line_continues() -> None:
    wrapped = (
        "Interests: information literacy, outreach to rural communities, digital\n"
        "preservation, open access\n"
    )
    body = EN_FORM.replace("Interests: outreach, local history; digital preservation\n", wrapped)
    result = parse_application(body, from_addr=FROM)
    assert result.fields is not None
    assert result.fields.interests == (
        "information literacy",
        "outreach to rural communities",
        "digital preservation",
        "open access",
    )


def test_short_value_does_not_swallow_the_next_line() -> None:
    body = EN_FORM.replace("Sector: public\n", "Sector: public\nThanks a lot!\n")
    result = parse_application(body, from_addr=FROM)
    assert result.fields is not None and result.fields.sector is Sector.PUBLIC


def test_signature_ends_the_form() -> None:
    body = EN_FORM + "-- \nName: Someone Else\nCountry: France\n"
    result = parse_application(body, from_addr=FROM)
    assert result.fields is not None
    assert (result.fields.name, result.fields.country) == ("Alice Martin", "US")


@pytest.mark.parametrize(
    "closing",
    [
        "Thank you,\nAlice\n",
        "Thank you!\nAlice\n",
        "All the best,\nAlice\n",
        "Thanks so much!\n",
        "Get Outlook for iOS\n",
        "Sent from Outlook\n",
        "Sent from Mail for Windows\n",
        "Envoyé de mon iPad\n",
        "Merci d'avance,\nÉlodie\n",
        "Merci d’avance,\nÉlodie\n",
        "Muchas gracias,\nJuan\n",
        "Un cordial saludo,\nJuan\n",
    ],
)
def test_about_me_ends_at_a_closing_or_a_mail_app_footer(closing: str) -> None:
    # "About me" is repeated to the partner in the introduction: no "Thank you, Alice" in it.
    body = EN_FORM + "\n" + closing
    result = parse_application(body, from_addr=FROM)
    assert result.fields is not None
    assert result.fields.about == "I run the local history room."


@pytest.mark.parametrize(
    "header",
    [
        "________________________________\nFrom: ILN <coordinator@example.org>\n"
        "Sent: Monday, March 1, 2027 10:00 AM\nTo: Alice\nSubject: Please fix your form\n",
        "De : ILN <coordinator@example.org>\nEnvoyé : lundi 1 mars 2027 10:00\n",
        "De: ILN <coordinator@example.org>\nEnviado: lunes, 1 de marzo de 2027 10:00\n",
        "-----Original Message-----\nFrom: ILN <coordinator@example.org>\n",
        "-----Message d'origine-----\n",
    ],
)
def test_form_above_an_outlook_quote_is_not_overridden_by_the_quoted_mail(header: str) -> None:
    # Outlook quotes without ">": the quoted mail's "Label: value" lines are not the writer's.
    quoted = "Time zone: Toronto time\nSector: bakery\nAbout me: (optional, a few lines)\n"
    body = EN_FORM.replace("Time zone: America/Chicago\n", "") + "\n" + header + "\n" + quoted
    result = parse_application(body, from_addr=FROM)
    assert result.problems == ()
    assert result.fields is not None
    assert result.fields.timezone == vocab.country_main_zone("US")  # not "Toronto time"
    assert result.fields.about == "I run the local history room."


def test_the_forms_hint_left_on_the_about_line_is_not_part_of_about() -> None:
    body = EN_FORM.replace("About me: ", "About me: (optional, a few lines)\n")
    result = parse_application(body, from_addr=FROM)
    assert result.fields is not None
    assert result.fields.about == "I run the local history room."


def test_text_with_no_form_reports_missing_fields() -> None:
    result = parse_application("Hi, how do I apply?", from_addr=FROM, from_name="Al")
    assert [p.field for p in result.problems] == [
        Field.COUNTRY,
        Field.INSTITUTION,
        Field.SECTOR,
        Field.CAREER_STAGE,
        Field.INTERESTS,
    ]
    assert result.raw == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (EN_FORM, True),
        (FR_FORM, True),
        (ES_FORM, True),
        ("Name:\nCountry:\nSector:\n", True),  # the blank form: tell them what is missing
        ("Nom :\nPays :\nSecteur :\n", True),
        ("Name: Alice\nCountry: France\n", False),
        ("Name: Alice\nName: Bob\nName: Carol\n", False),  # distinct labels only
        ("> Name:\n> Country:\n> Sector:\n", False),
        ("Hi, my name is Alice and my country is France. Sector: public.\n", False),
        ("Thanks!\n-- \nName: x\nCountry: y\nSector: z\n", False),
        ("", False),
    ],
)
def test_looks_like_application(text: str, expected: bool) -> None:
    assert looks_like_application(text) is expected


def test_parse_is_fast() -> None:
    parse_application(EN_FORM, from_addr=FROM)  # warm the vocabulary caches
    start = time.perf_counter()
    for _ in range(200):
        parse_application(FR_FORM, from_addr=FROM)
    assert (time.perf_counter() - start) / 200 < 0.005  # ~0.6 ms here; generous for CI


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_never_raises(text: str) -> None:
    result = parse_application(text, from_addr=FROM)
    assert result.fields is not None or result.problems
    looks_like_application(text)


LABELS_BY_LANGUAGE = {
    "en": {
        Field.NAME: "Name",
        Field.COUNTRY: "Country",
        Field.TIMEZONE: "Time zone",
        Field.INSTITUTION: "Institution",
        Field.SECTOR: "Sector",
        Field.CAREER_STAGE: "Career stage",
        Field.INTERESTS: "Interests",
        Field.PARTNER_SECTOR: "Partner sector",
        Field.ABOUT: "About me",
    },
    "fr": {
        Field.NAME: "Nom",
        Field.COUNTRY: "Pays",
        Field.TIMEZONE: "Fuseau horaire",
        Field.INSTITUTION: "Établissement",
        Field.SECTOR: "Secteur",
        Field.CAREER_STAGE: "Étape de carrière",
        Field.INTERESTS: "Intérêts",
        Field.PARTNER_SECTOR: "Secteur du partenaire",
        Field.ABOUT: "À propos de moi",
    },
    "es": {
        Field.NAME: "Nombre",
        Field.COUNTRY: "País",
        Field.TIMEZONE: "Zona horaria",
        Field.INSTITUTION: "Institución",
        Field.SECTOR: "Sector",
        Field.CAREER_STAGE: "Etapa profesional",
        Field.INTERESTS: "Intereses",
        Field.PARTNER_SECTOR: "Sector de la pareja",
        Field.ABOUT: "Sobre mí",
    },
}

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéñ", min_size=2, max_size=12).filter(
    lambda w: w not in {"and", "et"} and not vocab.is_no_wish(w)
)


@settings(max_examples=150, deadline=None)
@given(
    language=st.sampled_from(sorted(LABELS_BY_LANGUAGE)),
    style=st.sampled_from(sorted(LINE_STYLES)),
    name=st.lists(_word, min_size=1, max_size=3).map(lambda ws: " ".join(ws).title()),
    country=st.sampled_from(["FR", "Japan", "Brasil", "Allemagne", "Kenya", "NZL"]),
    sector=st.sampled_from(list(Sector)),
    stage=st.sampled_from(list(CareerStage)),
    interests=st.lists(
        st.lists(_word, min_size=1, max_size=2).map(" ".join),
        min_size=1,
        max_size=5,
        unique_by=fold,
    ),
    partner=st.one_of(st.none(), st.sampled_from(list(Sector))),
    about=st.lists(_word, max_size=8).map(" ".join),
)
def test_any_label_style_parses_back(
    language: str,
    style: str,
    name: str,
    country: str,
    sector: Sector,
    stage: CareerStage,
    interests: list[str],
    partner: Sector | None,
    about: str,
) -> None:
    labels = LABELS_BY_LANGUAGE[language]
    render = LINE_STYLES[style]
    values = {
        Field.NAME: name,
        Field.COUNTRY: country,
        Field.TIMEZONE: "UTC+3",
        Field.INSTITUTION: "Bibliothèque " + name,
        Field.SECTOR: sector.value,
        Field.CAREER_STAGE: stage.value,
        Field.INTERESTS: "; ".join(interests),
        Field.PARTNER_SECTOR: partner.value if partner else "any",
        Field.ABOUT: about,
    }
    body = "\n".join(render(labels[f], v) for f, v in values.items())
    result = parse_application(body, from_addr=FROM, default_language="en")
    assert result.problems == ()
    f = result.fields
    assert f is not None
    assert result.language == language
    assert f.name == name
    assert f.timezone == "Etc/GMT-3"
    assert f.institution == "Bibliothèque " + name
    assert (f.sector, f.career_stage, f.partner_sector) == (sector, stage, partner)
    assert list(f.interests) == [i.lower() for i in interests]
    assert f.about == about.strip()


def test_html_only_mail_with_br_and_paragraphs_on_one_line() -> None:
    body = (
        "<p>Hello!</p><p><b>Name:</b> Alice<br>Country: France<br/>Institution: BnF</p>"
        "<p>Sector: national<br>Career stage: senior<br>Interests: cataloguing</p>"
    )
    assert looks_like_application(body)
    result = parse_application(body, from_addr=FROM)
    assert result.fields is not None
    assert (result.fields.name, result.fields.country) == ("Alice", "FR")
    assert result.fields.sector is Sector.GOVERNMENT


def test_interests_as_a_bulleted_list_under_the_label() -> None:
    body = EN_FORM.replace(
        "Interests: outreach, local history; digital preservation\n",
        "Interests:\n- outreach\n* rare books and manuscripts\n• Outreach\n\nThanks\n",
    )
    result = parse_application(body, from_addr=FROM)
    assert result.fields is not None
    # each bullet is one item: no splitting on "and" inside it; duplicates dropped
    assert result.fields.interests == ("outreach", "rare books and manuscripts")


def test_bold_markup_around_the_value_is_not_part_of_it() -> None:
    body = EN_FORM.replace("Name: Alice Martin", "**Name:** **Alice Martin**")
    result = parse_application(body, from_addr=FROM)
    assert result.fields is not None and result.fields.name == "Alice Martin"
