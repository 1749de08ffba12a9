"""Stored application fields read back: what `as_json` wrote comes back equal; a bad row fails
loudly, naming the field."""

from __future__ import annotations

import json

import pytest

from mailbot.domain.forms import parse_application
from mailbot.domain.model import ApplicationFields, CareerStage, Field, Sector, StoredFieldsError
from tests.unit.test_forms import EN_FORM, FR_FORM

GOOD: dict[str, object] = {
    "name": "Ana Ruiz",
    "email": "ana@example.net",
    "country": "ES",
    "timezone": "Europe/Madrid",
    "language": "es",
    "institution": "Biblioteca Nueva",
    "sector": "public",
    "career_stage": "senior",
    "interests": ["maps", "rare books"],
    "partner_sector": "academic",
    "partner_career_stage": None,
    "partner_interests": [],
    "about": "",
}


def test_a_good_row_reads_as_typed_fields() -> None:
    f = ApplicationFields.from_json(GOOD)
    assert f == ApplicationFields(
        name="Ana Ruiz",
        email="ana@example.net",
        country="ES",
        timezone="Europe/Madrid",
        language="es",
        institution="Biblioteca Nueva",
        sector=Sector.PUBLIC,
        career_stage=CareerStage.SENIOR,
        interests=("maps", "rare books"),
        partner_sector=Sector.ACADEMIC,
        partner_career_stage=None,
        partner_interests=(),
        about="",
    )
    assert f.as_json() == GOOD


@pytest.mark.parametrize("form", [EN_FORM, FR_FORM])
def test_what_as_json_stored_comes_back_equal(form: str) -> None:
    fields = parse_application(form, from_addr="someone@example.org").fields
    assert fields is not None
    stored = json.loads(json.dumps(fields.as_json()))  # as the JSON column keeps it
    assert ApplicationFields.from_json(stored) == fields


def test_no_time_zone_is_none() -> None:
    assert ApplicationFields.from_json(GOOD | {"timezone": None}).timezone is None


def test_keys_with_a_default_may_be_absent() -> None:
    row = {k: v for k, v in GOOD.items() if not k.startswith("partner_") and k != "about"}
    f = ApplicationFields.from_json(row)
    assert (f.partner_sector, f.partner_career_stage, f.partner_interests, f.about) == (
        None,
        None,
        (),
        "",
    )


@pytest.mark.parametrize(
    "key",
    [
        Field.NAME,
        Field.EMAIL,
        Field.COUNTRY,
        Field.TIMEZONE,
        Field.LANGUAGE,
        Field.INSTITUTION,
        Field.SECTOR,
        Field.CAREER_STAGE,
        Field.INTERESTS,
    ],
)
def test_a_missing_key_is_named(key: Field) -> None:
    row = {k: v for k, v in GOOD.items() if k != key.value}
    with pytest.raises(StoredFieldsError, match=f"'{key.value}': missing") as err:
        ApplicationFields.from_json(row)
    assert err.value.field is key


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (Field.NAME, None),
        (Field.COUNTRY, 34),
        (Field.TIMEZONE, 1.0),
        (Field.SECTOR, "librarianship"),
        (Field.CAREER_STAGE, None),
        (Field.INTERESTS, "maps"),  # a string is not a list of interests
        (Field.INTERESTS, ["maps", 3]),
        (Field.PARTNER_SECTOR, "anywhere"),
        (Field.PARTNER_CAREER_STAGE, 2),
        (Field.PARTNER_INTERESTS, None),
        (Field.ABOUT, None),
    ],
)
def test_a_value_of_the_wrong_type_is_named(key: Field, value: object) -> None:
    with pytest.raises(StoredFieldsError, match=f"'{key.value}': expected") as err:
        ApplicationFields.from_json(GOOD | {key.value: value})
    assert err.value.field is key


@pytest.mark.parametrize("data", [None, [], "fields"])
def test_a_row_that_is_not_an_object_fails(data: object) -> None:
    with pytest.raises(StoredFieldsError, match="application fields: expected an object"):
        ApplicationFields.from_json(data)
