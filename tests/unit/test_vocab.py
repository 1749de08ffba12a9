"""Vocabularies: what applicants' words mean: labels, sectors, stages, languages, places."""

from __future__ import annotations

import gettext
import zoneinfo

import pycountry
import pytest

from mailbot.domain import vocab
from mailbot.domain.country_zones import COUNTRY_MAIN_ZONE, MULTI_ZONE_MAIN
from mailbot.domain.model import CareerStage, Field, Sector

ZONES = zoneinfo.available_timezones()


@pytest.mark.parametrize(
    ("label", "expected", "languages"),
    [
        ("Name", Field.NAME, {"en"}),
        ("Your name", Field.NAME, {"en"}),
        ("NOM", Field.NAME, {"fr"}),
        ("Nombre", Field.NAME, {"es"}),
        ("Time zone", Field.TIMEZONE, {"en"}),
        ("Timezone", Field.TIMEZONE, {"en"}),
        ("Time-zone", Field.TIMEZONE, {"en"}),
        ("Time zone (optional)", Field.TIMEZONE, {"en"}),
        ("Fuseau horaire", Field.TIMEZONE, {"fr"}),
        ("Zona horaria", Field.TIMEZONE, {"es"}),
        ("Établissement", Field.INSTITUTION, {"fr"}),
        ("Etablissement", Field.INSTITUTION, {"fr"}),
        ("Institution", Field.INSTITUTION, {"en", "fr"}),
        ("Institución", Field.INSTITUTION, {"es"}),
        ("Sector", Field.SECTOR, {"en", "es"}),
        ("Secteur", Field.SECTOR, {"fr"}),
        ("Étape de carrière", Field.CAREER_STAGE, {"fr"}),
        ("Etapa profesional", Field.CAREER_STAGE, {"es"}),
        ("Intérêts", Field.INTERESTS, {"fr"}),
        ("Mes intérêts", Field.INTERESTS, {"fr"}),
        ("Partner's sector", Field.PARTNER_SECTOR, {"en"}),
        ("Secteur du partenaire", Field.PARTNER_SECTOR, {"fr"}),
        ("Sector de la pareja", Field.PARTNER_SECTOR, {"es"}),
        ("Étape de carrière du partenaire", Field.PARTNER_CAREER_STAGE, {"fr"}),
        ("Etapa profesional de la pareja", Field.PARTNER_CAREER_STAGE, {"es"}),
        ("Intereses de la pareja", Field.PARTNER_INTERESTS, {"es"}),
        ("About me", Field.ABOUT, {"en"}),
        ("A propos de moi", Field.ABOUT, {"fr"}),
        ("Sobre mi", Field.ABOUT, {"es"}),
        ("E-mail", Field.EMAIL, {"en", "fr", "es"}),
    ],
)
def test_labels_in_three_languages(label: str, expected: Field, languages: set[str]) -> None:
    hit = vocab.lookup_label(label)
    assert hit is not None
    assert hit[0] is expected
    assert set(hit[1]) == languages


@pytest.mark.parametrize("label", ["Hello", "Phone", "Note", "Subject", "Partner", "x" * 70])
def test_non_labels(label: str) -> None:
    assert vocab.lookup_label(label) is None


def test_every_listed_label_spelling_resolves_to_its_field() -> None:
    for lang, fields in vocab.LABELS.items():
        for fld, spellings in fields.items():
            for spelling in spellings:
                hit = vocab.lookup_label(spelling)
                assert hit is not None and hit[0] is fld, (lang, spelling)
                assert lang in hit[1]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("academic", Sector.ACADEMIC),
        ("Academic library", Sector.ACADEMIC),
        ("University", Sector.ACADEMIC),
        ("universitaire", Sector.ACADEMIC),
        ("Bibliothèque universitaire", Sector.ACADEMIC),
        ("académique", Sector.ACADEMIC),
        ("academique", Sector.ACADEMIC),
        ("Biblioteca universitaria", Sector.ACADEMIC),
        ("public", Sector.PUBLIC),
        ("Bibliothèque publique", Sector.PUBLIC),
        ("público", Sector.PUBLIC),
        ("Biblioteca pública", Sector.PUBLIC),
        ("Public (municipal)", Sector.PUBLIC),
        ("school", Sector.SCHOOL),
        ("scolaire", Sector.SCHOOL),
        ("escolar", Sector.SCHOOL),
        ("K-12", Sector.SCHOOL),
        ("special", Sector.SPECIAL),
        ("spécialisée", Sector.SPECIAL),
        ("especial", Sector.SPECIAL),
        ("government", Sector.GOVERNMENT),
        ("gouvernement", Sector.GOVERNMENT),
        ("gobierno", Sector.GOVERNMENT),
        ("archives", Sector.ARCHIVES),
        ("archivos", Sector.ARCHIVES),
        ("archivo", Sector.ARCHIVES),
        ("museum", Sector.MUSEUM),
        ("musée", Sector.MUSEUM),
        ("museo", Sector.MUSEUM),
        ("student", Sector.STUDENT),
        ("étudiant", Sector.STUDENT),
        ("estudiante", Sector.STUDENT),
        ("other", Sector.OTHER),
        ("autre", Sector.OTHER),
        ("otro", Sector.OTHER),
        ("ACADEMIC / public", Sector.ACADEMIC),
        ("Médiathèque", Sector.PUBLIC),  # France's public media libraries
        ("médiathèque municipale", Sector.PUBLIC),
        ("médiathèque universitaire", Sector.ACADEMIC),
    ],
)
def test_sectors(value: str, expected: Sector) -> None:
    assert vocab.parse_sector(value) is expected


@pytest.mark.parametrize("value", ["", "library", "banking", "academic / banking", "any"])
def test_unknown_sectors(value: str) -> None:
    assert vocab.parse_sector(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("student", CareerStage.STUDENT),
        ("Étudiante", CareerStage.STUDENT),
        ("estudiante", CareerStage.STUDENT),
        ("new professional", CareerStage.NEW_PROFESSIONAL),
        ("New Professional", CareerStage.NEW_PROFESSIONAL),
        ("early career", CareerStage.NEW_PROFESSIONAL),
        ("Early-career", CareerStage.NEW_PROFESSIONAL),
        ("nouveau professionnel", CareerStage.NEW_PROFESSIONAL),
        ("nouvelle professionnelle", CareerStage.NEW_PROFESSIONAL),
        ("recién titulado", CareerStage.NEW_PROFESSIONAL),
        ("recien titulada", CareerStage.NEW_PROFESSIONAL),
        ("mid-career", CareerStage.MID_CAREER),
        ("Mid career", CareerStage.MID_CAREER),
        ("mi-carrière", CareerStage.MID_CAREER),
        ("mi carriere", CareerStage.MID_CAREER),
        ("mitad de carrera", CareerStage.MID_CAREER),
        ("senior", CareerStage.SENIOR),
        ("sénior", CareerStage.SENIOR),
        ("cadre supérieur", CareerStage.SENIOR),
        ("mid-career librarian", CareerStage.MID_CAREER),
        ("Senior professional", CareerStage.SENIOR),
        ("Early-career professional", CareerStage.NEW_PROFESSIONAL),
        ("professionnelle expérimentée", CareerStage.SENIOR),
        ("profesional sénior", CareerStage.SENIOR),
    ],
)
def test_career_stages(value: str, expected: CareerStage) -> None:
    assert vocab.parse_career_stage(value) is expected


@pytest.mark.parametrize("value", ["", "career", "retired astronaut", "any", "professional"])
def test_unknown_career_stages(value: str) -> None:
    assert vocab.parse_career_stage(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "any",
        "Any",
        "ANY.",
        "peu importe",
        "Indifférent",
        "indifferent",
        "cualquiera",
        "n'importe",
        "N’importe",
        "no preference",
        "-",
        "—",
        "none",
        "",
        "N/A",
        "(none)",
    ],
)
def test_no_wish(value: str) -> None:
    assert vocab.is_no_wish(value)


@pytest.mark.parametrize("value", ["academic", "mid-career", "anything but academic?"])
def test_not_no_wish(value: str) -> None:
    assert not vocab.is_no_wish(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("English", "en"),
        ("anglais", "en"),
        ("inglés", "en"),
        ("ingles", "en"),
        ("fr", "fr"),
        ("French", "fr"),
        ("français", "fr"),
        ("francais", "fr"),
        ("francés", "fr"),
        ("es", "es"),
        ("Spanish", "es"),
        ("español", "es"),
        ("espagnol", "es"),
        ("castellano", "es"),
        ("English / French", "en"),
    ],
)
def test_languages(value: str, expected: str) -> None:
    assert vocab.parse_language(value) == expected


@pytest.mark.parametrize("value", ["Deutsch", "de", "", "English and Klingon"])
def test_unknown_languages(value: str) -> None:
    assert vocab.parse_language(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("France", "FR"),
        ("france", "FR"),
        ("FR", "FR"),
        ("FRA", "FR"),
        ("USA", "US"),
        ("US", "US"),
        ("U.S.A.", "US"),
        ("United States", "US"),
        ("États-Unis", "US"),
        ("Etats Unis", "US"),
        ("Estados Unidos", "US"),
        ("UK", "GB"),
        ("Great Britain", "GB"),
        ("England", "GB"),
        ("Scotland", "GB"),
        ("Reino Unido", "GB"),
        ("Royaume-Uni", "GB"),
        ("South Korea", "KR"),
        ("Corée du Sud", "KR"),
        ("Corea del Sur", "KR"),
        ("North Korea", "KP"),
        ("Viet Nam", "VN"),
        ("Vietnam", "VN"),
        ("Russia", "RU"),
        ("Russian Federation", "RU"),
        ("Iran", "IR"),
        ("Syria", "SY"),
        ("Bolivia", "BO"),
        ("Tanzania", "TZ"),
        ("Czech Republic", "CZ"),
        ("Ivory Coast", "CI"),
        ("Côte d'Ivoire", "CI"),
        ("Cote d’Ivoire", "CI"),
        ("Holland", "NL"),
        ("the Netherlands", "NL"),
        ("Pays-Bas", "NL"),
        ("Países Bajos", "NL"),
        ("Allemagne", "DE"),
        ("Alemania", "DE"),
        ("México", "MX"),
        ("Mexico", "MX"),
        ("Mexique", "MX"),
        ("Perú", "PE"),
        ("Japon", "JP"),
        ("Japón", "JP"),
        ("Nouvelle-Zélande", "NZ"),
        ("Sénégal", "SN"),
        ("Brésil", "BR"),
        ("Brasil", "BR"),
        ("Congo", "CG"),
        ("RDC", "CD"),
        ("El Salvador", "SV"),
        ("Lyon, France", "FR"),
        ("Australia (Sydney)", "AU"),
        ("Trinidad and Tobago", "TT"),
        ("Kosovo", "XK"),
        ("Kosovë", "XK"),
        ("Republic of Kosovo", "XK"),
        ("Prishtina, Kosovo", "XK"),
    ],
)
def test_countries(value: str, expected: str) -> None:
    assert vocab.parse_country(value) == expected


@pytest.mark.parametrize("value", ["", "Narnia", "Europe", "Paris, Texas, Narnia, France, Spain"])
def test_unknown_countries(value: str) -> None:
    assert vocab.parse_country(value) is None


def test_every_iso_country_by_its_names_in_three_languages() -> None:
    catalogues = [
        gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
        for lang in ("fr", "es")
    ]
    for country in pycountry.countries:
        assert vocab.parse_country(country.alpha_2) == country.alpha_2
        assert vocab.parse_country(country.alpha_3.lower()) == country.alpha_2
        assert vocab.parse_country(country.name) == country.alpha_2, country.name
        for cat in catalogues:
            translated = cat.gettext(country.name)
            assert vocab.parse_country(translated) == country.alpha_2, translated


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Europe/Paris", "Europe/Paris"),
        ("europe/paris", "Europe/Paris"),
        ("America/New York", "America/New_York"),
        ("UTC", "UTC"),
        ("GMT", "GMT"),  # a valid IANA name in its own right
        ("UTC+0", "UTC"),
        ("UTC+5", "Etc/GMT-5"),
        ("utc +5", "Etc/GMT-5"),
        ("GMT-3", "Etc/GMT+3"),
        ("UTC−3", "Etc/GMT+3"),
        ("UTC-03:00", "Etc/GMT+3"),
        ("UTC+14", "Etc/GMT-14"),
        ("UTC+05:30", "Asia/Kolkata"),
        ("GMT+5:45", "Asia/Kathmandu"),
        ("UTC-3:30", "America/St_Johns"),
        ("+0530", "Asia/Kolkata"),
        ("Paris", "Europe/Paris"),
        ("buenos aires", "America/Argentina/Buenos_Aires"),
        ("EST", "America/New_York"),
        ("CET/CEST", "CET"),
        ("UTC+1 (UTC+2 in summer)", "Etc/GMT-1"),
        ("France", "Europe/Paris"),
        ("Lyon, France", "Europe/Paris"),
        # "EST" is also Estonia's alpha-3 and "ET" Ethiopia's code: never read as countries.
        ("EST/EDT", "America/New_York"),
        ("Eastern Time (EST)", "America/New_York"),
        ("New York (EST)", "America/New_York"),
        ("Toronto, EST", "America/Toronto"),
        ("UTC-5 (EST)", "Etc/GMT+5"),
        ("ET", "America/New_York"),
        ("Estonia", "Europe/Tallinn"),
        # Common short forms name a country (not ISO codes: "EE" stays unknown), and a
        # country named beside an abbreviation keeps its summer time.
        ("UK", "Europe/London"),
        ("USA", "America/New_York"),
        ("UAE", "Asia/Dubai"),
        ("Ireland (GMT)", "Europe/Dublin"),
        ("Chile (GMT-4)", "America/Santiago"),
    ],
)
def test_timezones(value: str, expected: str) -> None:
    zone = vocab.parse_timezone(value)
    assert zone == expected
    assert zone in ZONES


@pytest.mark.parametrize(
    "value",
    # "()" and "( )": nothing outside the brackets, and no crash
    [
        "",
        "Mars",
        "UTC+15",
        "UTC+2:30",
        "America/Nowhere",
        "localtime",
        "x" * 200,
        "EE",
        "ETH",
        "()",
        "( )",
    ],
)
def test_unknown_timezones(value: str) -> None:
    assert vocab.parse_timezone(value) is None


def test_country_main_zones_are_real_zones_of_real_countries() -> None:
    codes = {c.alpha_2 for c in pycountry.countries} | set(vocab.EXTRA_COUNTRIES)
    assert len(COUNTRY_MAIN_ZONE) > 240
    for code, zone in COUNTRY_MAIN_ZONE.items():
        assert code in codes, code
        assert zone in ZONES, zone


@pytest.mark.parametrize(
    ("country", "zone"),
    [
        ("US", "America/New_York"),
        ("CA", "America/Toronto"),
        ("AU", "Australia/Sydney"),
        ("BR", "America/Sao_Paulo"),
        ("RU", "Europe/Moscow"),
        ("MX", "America/Mexico_City"),
        ("ID", "Asia/Jakarta"),
        ("CN", "Asia/Shanghai"),
        ("KZ", "Asia/Almaty"),
        ("AR", "America/Argentina/Buenos_Aires"),
        ("FR", "Europe/Paris"),
        ("IN", "Asia/Kolkata"),
        ("ng", "Africa/Lagos"),
        ("XK", "Europe/Belgrade"),
        ("AQ", None),
    ],
)
def test_country_main_zone(country: str, zone: str | None) -> None:
    assert vocab.country_main_zone(country) == zone


def test_curated_main_zones_cover_only_multi_zone_countries() -> None:
    # A curated entry for a one-zone country would hide a tzdata update.
    assert "FR" not in MULTI_ZONE_MAIN
    assert {"US", "CA", "AU", "BR", "RU"} <= set(MULTI_ZONE_MAIN)
