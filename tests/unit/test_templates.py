"""Every template renders in every language with every sample context, and says it right.

The French and Spanish templates are checked against the parser's vocabulary (`domain.vocab`):
the blank form's labels, the values its hints list and the values the confirmation shows must
all read back as what they mean, so an applicant who copies them is never refused.
"""

from __future__ import annotations

import re
from typing import Any

import jinja2
import pytest

from mailbot.checks import check_templates
from mailbot.contexts.samples import COORDINATOR_ONLY, FIELDS, SAMPLES
from mailbot.domain import vocab
from mailbot.domain.model import CareerStage, CommandName, Field, Sector
from mailbot.edges.render import Renderer

LANGS = ("en", "fr", "es")
RENDERER = Renderer()
NAMES = [n for n in RENDERER.names() if n not in COORDINATOR_ONLY]  # participants' mail
TEMPLATES = RENDERER.directory
FORM_TEMPLATES = ("application_invalid", "welcome", "help")

CASES = [
    pytest.param(name, lang, i, ctx, id=f"{lang}-{name}-{i}")
    for name in NAMES
    for lang in LANGS
    for i, ctx in enumerate(SAMPLES.get(name, [{}]))
]

# Words every body in that language has (greeting, signature), and English that must not leak
# into fr/es (the sample contexts' own English values -- interests, "about", outcome -- avoided).
MUST = {
    "en": ("Reply HELP",),
    "fr": ("Bonjour", "Répondez AIDE"),
    "es": ("Hola", "Responda AYUDA"),
}
ENGLISH = ("Dear ", "Thank you", "Reply HELP", "Country:", "Career stage", "Interests:", "please")

# What the confirmation must show for the sample (FIELDS: Spain, public, mid-career).
CONFIRMATION_MUST = {
    "en": ("Country — ", "Career stage — mid-career"),
    "fr": ("Pays — ", "Étape de carrière — mi-carrière", "Secteur du partenaire — peu importe"),
    "es": ("País — ", "Etapa profesional — mitad de carrera", "Sector de la pareja — cualquiera"),
}
# The confirmation and the problem list show "Label — value", not "Label: value": quoted
# without ">" under an Outlook reply, they must not read back as a form the sender filled in.
SHOWN_SEP = " — "
NO_WISH = {"en": "any", "fr": "peu importe", "es": "cualquiera"}


def form_lines(lang: str) -> list[str]:
    return (TEMPLATES / lang / "_form.txt.j2").read_text(encoding="utf-8").splitlines()


def split_line(line: str) -> tuple[str, str]:
    label, sep, value = line.partition(":")
    assert sep, f"form line without a colon: {line!r}"
    return label.strip(), value.strip()


def field_of(label: str) -> Field:
    hit = vocab.lookup_label(label)
    assert hit is not None, f"the parser does not know the label {label!r}"
    return hit[0]


def hint_values(lang: str, fld: Field) -> list[str]:
    """The values listed in parentheses on the form line of `fld`."""
    for line in form_lines(lang):
        label, value = split_line(line)
        if field_of(label) is fld:
            m = re.fullmatch(r"\((.*)\)", value)
            assert m, f"{lang}: no (hint) on the {fld} line: {line!r}"
            return [v.strip() for v in m.group(1).split(",")]
    raise AssertionError(f"{lang}: no {fld} line in the form")


# --------------------------------------------------------------------------- rendering


def test_every_language_has_every_template_and_no_other() -> None:
    for lang in ("fr", "es"):
        for name in NAMES:
            for part in ("subject.txt.j2", "body.txt.j2"):
                assert (TEMPLATES / lang / name / part).is_file(), f"{lang}/{name}/{part}"
        extra = {p.name for p in (TEMPLATES / lang).iterdir() if p.is_dir()} - set(NAMES)
        assert not extra, f"{lang} templates with no English original: {extra}"


@pytest.mark.parametrize("lang", LANGS)
def test_includes_stay_in_their_language(lang: str) -> None:
    for path in (TEMPLATES / lang).rglob("*.j2"):
        for target in re.findall(r"""include\s+["']([^"']+)["']""", path.read_text("utf-8")):
            assert target.startswith(f"{lang}/_"), f"{path}: includes {target}"


@pytest.mark.parametrize(("name", "lang", "i", "ctx"), CASES)
def test_renders(name: str, lang: str, i: int, ctx: dict[str, Any]) -> None:
    out = RENDERER.render(name, lang, ctx)
    assert out.language == lang
    assert out.subject.strip() and "\n" not in out.subject
    raw_subject = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    raw = raw_subject.from_string(
        (TEMPLATES / lang / name / "subject.txt.j2").read_text("utf-8")
    ).render(ctx)
    assert len(raw.strip().splitlines()) == 1, f"subject is not one line: {raw!r}"
    assert out.text.strip()
    assert "{{" not in out.text and "{%" not in out.text
    assert "\n\n\n" not in out.text, "three newlines in a row: a template leaves a gap"
    assert "\n-- \n" in out.text, "signature separator '-- ' missing or without its space"
    for word in MUST[lang]:
        assert word in out.text, f"{lang}/{name}: {word!r} missing"
    if lang != "en":
        for word in ENGLISH:
            assert word not in out.text, f"{lang}/{name}: English {word!r} in the body"
            assert word not in out.subject, f"{lang}/{name}: English {word!r} in the subject"
    if name == "confirmation":
        for word in CONFIRMATION_MUST[lang]:
            assert word in out.text, f"{lang}/confirmation: {word!r} missing"


def test_check_templates_finds_no_problem() -> None:
    assert check_templates(RENDERER, LANGS) == []


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", NAMES)
def test_missing_variable_raises(name: str, lang: str) -> None:
    ctx = {k: v for k, v in SAMPLES[name][0].items() if k != "program"}
    with pytest.raises(jinja2.UndefinedError):
        RENDERER.render(name, lang, ctx)


@pytest.mark.parametrize("lang", LANGS)
def test_missing_nested_variable_raises(lang: str) -> None:
    ctx = dict(SAMPLES["confirmation"][0])
    ctx["fields"] = {k: v for k, v in FIELDS.items() if k != "country_name"}
    with pytest.raises(jinja2.UndefinedError):
        RENDERER.render("confirmation", lang, ctx)


def html_cases() -> list[Any]:
    return [
        pytest.param(name, lang, id=f"{lang}-{name}")
        for name in NAMES
        for lang in LANGS
        if (TEMPLATES / lang / name / "body.html.j2").is_file()
    ]


def test_html_escapes_names() -> None:
    cases = html_cases()
    if not cases:
        pytest.skip("no body.html.j2 template yet")
    evil = "<script>alert(1)</script>"
    for case in cases:
        name, lang = case.values
        for ctx in SAMPLES[name]:
            ctx = ctx | {"recipient_name": evil}
            if "fields" in ctx:
                ctx["fields"] = ctx["fields"] | {"name": evil}
            out = RENDERER.render(name, lang, ctx)
            assert out.html is not None
            assert "<script>" not in out.html, f"{lang}/{name}: unescaped name in HTML"
            assert "&lt;script&gt;" in out.html


# --------------------------------------------------------------------------- the blank form


@pytest.mark.parametrize("lang", LANGS)
def test_form_labels_are_the_parsers(lang: str) -> None:
    found = []
    for line in form_lines(lang):
        label, _ = split_line(line)
        hit = vocab.lookup_label(label)
        assert hit is not None, f"{lang}: the parser does not know the label {label!r}"
        assert lang in hit[1], f"{lang}: {label!r} is not a {lang} label for the parser"
        found.append(hit[0])
    assert found == [f for f in Field if f is not Field.EMAIL], "every field once, in order"


@pytest.mark.parametrize("lang", LANGS)
def test_form_hints_list_values_the_parser_accepts(lang: str) -> None:
    sectors = hint_values(lang, Field.SECTOR)
    assert [vocab.parse_sector(v) for v in sectors] == list(Sector), sectors
    stages = hint_values(lang, Field.CAREER_STAGE)
    assert [vocab.parse_career_stage(v) for v in stages] == list(CareerStage), stages
    # a hint left as it is never counts as an answer: blank, or (sector and career stage,
    # whose long lists vocab no longer reads as placeholders) not a value at all
    for line in form_lines(lang):
        label, value = split_line(line)
        if not value or vocab.is_placeholder(value):
            continue
        fld = field_of(label)
        assert fld in (Field.SECTOR, Field.CAREER_STAGE), f"hint read as an answer: {line!r}"
        assert vocab.parse_sector(value) is None and vocab.parse_career_stage(value) is None


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", FORM_TEMPLATES)
def test_blank_form_in_body_reads_as_application(name: str, lang: str) -> None:
    try:
        from mailbot.domain.forms import looks_like_application
    except ImportError as exc:
        pytest.skip(f"mailbot.domain.forms not importable yet: {exc}")
    body = RENDERER.render(name, lang, SAMPLES[name][0]).text
    assert looks_like_application(body)


@pytest.mark.parametrize("lang", LANGS)
def test_blank_form_returned_untouched_asks_for_required_fields(lang: str) -> None:
    try:
        from mailbot.domain.forms import parse_application
    except ImportError as exc:
        pytest.skip(f"mailbot.domain.forms not importable yet: {exc}")
    body = "\n".join(form_lines(lang))
    result = parse_application(body, from_addr="amaia@example.net", default_language="en")
    assert result.language == lang
    required = {Field.NAME, Field.COUNTRY, Field.INSTITUTION, Field.SECTOR}
    required |= {Field.CAREER_STAGE, Field.INTERESTS}
    assert {p.field for p in result.problems} == required, result.problems
    assert {p.code for p in result.problems} <= {"missing", "unknown_value"}


FILLED = {
    "en": ("Amaia", "Spain", "", "", "Bilbao Public Library", "public", "mid-career"),
    "fr": ("Amaia", "Espagne", "", "", "Bibliothèque de Bilbao", "public", "mi-carrière"),
    "es": ("Amaia", "España", "", "", "Biblioteca de Bilbao", "público", "mitad de carrera"),
}


@pytest.mark.parametrize("lang", LANGS)
def test_filled_form_is_valid(lang: str) -> None:
    try:
        from mailbot.domain.forms import parse_application
    except ImportError as exc:
        pytest.skip(f"mailbot.domain.forms not importable yet: {exc}")
    answers = [*FILLED[lang], "outreach, digital literacy", "", "", "", "Hello."]
    lines = [
        f"{split_line(line)[0]}: {answer}"
        for line, answer in zip(form_lines(lang), answers, strict=True)
    ]
    result = parse_application("\n".join(lines), from_addr="amaia@example.net")
    assert result.valid, result.problems
    assert result.language == lang
    assert result.fields is not None
    assert result.fields.sector is Sector.PUBLIC
    assert result.fields.career_stage is CareerStage.MID_CAREER


@pytest.mark.parametrize("lang", LANGS)
def test_form_filled_in_inside_the_quoted_welcome_mail_leaves_about_empty(lang: str) -> None:
    # Outlook quotes without ">": applicants fill in the form right inside our welcome mail.
    from mailbot.domain.forms import parse_application

    answers = dict(zip(form_lines(lang), FILLED[lang], strict=False))
    answers[form_lines(lang)[7]] = "outreach"
    welcome = RENDERER.render("welcome", lang, SAMPLES["welcome"][0]).text
    filled = [
        f"{split_line(line)[0]}: {answers[line]}" if answers.get(line) else line
        for line in welcome.splitlines()
    ]
    body = "Here is my application.\n\nFrom: x@example.org\nSent: today\n\n" + "\n".join(filled)
    result = parse_application(body, from_addr="amaia@example.net")
    assert result.fields is not None, result.problems
    assert result.fields.about == ""


# --------------------------------------------------------------------------- problems, values


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("code", ["missing", "unknown_value", "too_long", "invalid"])
def test_every_problem_names_its_field_in_the_language(lang: str, code: str) -> None:
    problems = [{"field": f.value, "code": code, "value": "zzz"} for f in Field]
    ctx = SAMPLES["application_invalid"][0] | {"problems": problems}
    body = RENDERER.render("application_invalid", lang, ctx).text
    lines = [line for line in body.splitlines() if line.startswith("- ")]
    assert len(lines) == len(Field), lines
    for fld, line in zip(Field, lines, strict=True):
        label = line[2:].split(SHOWN_SEP, 1)[0].strip()
        assert field_of(label) is fld, f"{lang}: problem line {line!r} does not name {fld}"
        if code in ("unknown_value", "invalid"):
            assert "zzz" in line


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("stage", list(CareerStage))
@pytest.mark.parametrize("sector", list(Sector))
def test_confirmation_shows_values_that_read_back(
    lang: str, sector: Sector, stage: CareerStage
) -> None:
    fields = FIELDS | {
        "sector": sector.value,
        "career_stage": stage.value,
        "partner_sector": sector.value,
        "partner_career_stage": stage.value,
    }
    ctx = SAMPLES["confirmation"][0] | {"fields": fields}
    shown = {}
    for line in RENDERER.render("confirmation", lang, ctx).text.splitlines():
        hit = vocab.lookup_label(line.split(SHOWN_SEP, 1)[0]) if SHOWN_SEP in line else None
        if hit is not None:
            shown[hit[0]] = line.split(SHOWN_SEP, 1)[1].strip()
    assert vocab.parse_sector(shown[Field.SECTOR]) is sector, shown[Field.SECTOR]
    assert vocab.parse_sector(shown[Field.PARTNER_SECTOR]) is sector
    assert vocab.parse_career_stage(shown[Field.CAREER_STAGE]) is stage
    assert vocab.parse_career_stage(shown[Field.PARTNER_CAREER_STAGE]) is stage


@pytest.mark.parametrize("lang", LANGS)
def test_what_we_show_back_does_not_read_as_a_filled_in_form(lang: str) -> None:
    # Outlook quotes our mail without ">": a "thank you" above the confirmation, or a form
    # filled in below the problem list, must not be read as the values we showed back.
    from mailbot.domain.forms import parse_application

    confirmation = RENDERER.render("confirmation", lang, SAMPLES["confirmation"][0]).text
    assert parse_application(confirmation, from_addr="a@example.net").raw == {}
    problems = [{"field": f.value, "code": "unknown_value", "value": "zzz"} for f in Field]
    ctx = SAMPLES["application_invalid"][0] | {"problems": problems}
    body = RENDERER.render("application_invalid", lang, ctx).text
    listed = "\n".join(line for line in body.splitlines() if line.startswith("- "))
    assert parse_application(listed, from_addr="a@example.net").raw == {}


@pytest.mark.parametrize("lang", LANGS)
def test_confirmation_without_partner_wishes_says_any(lang: str) -> None:
    body = RENDERER.render("confirmation", lang, SAMPLES["confirmation"][0]).text
    wishes = [line for line in body.splitlines() if NO_WISH[lang] in line]
    assert len(wishes) == 3, wishes
    for line in wishes:
        assert vocab.is_no_wish(line.split(SHOWN_SEP, 1)[1])


HELP_ORDER = [
    CommandName.HELP,
    CommandName.STATUS,
    CommandName.PAUSE,
    CommandName.RESUME,
    CommandName.REMATCH,
    CommandName.WITHDRAW,
    CommandName.CONTINUE,
    CommandName.EXPORT_MY_DATA,
    CommandName.DELETE_MY_DATA,
]


@pytest.mark.parametrize("lang", LANGS)
def test_help_lists_commands_the_parser_understands(lang: str) -> None:
    try:
        from mailbot.domain.commands import parse_command
    except ImportError as exc:
        pytest.skip(f"mailbot.domain.commands not importable yet: {exc}")
    body = RENDERER.render("help", lang, SAMPLES["help"][0]).text
    pattern = r"  (\S.*?)\s{2,}" if lang == "en" else r"  (\S.*?) \((?:ou|o) (.+?)\)\s?:"
    rows = [m.groups() for line in body.splitlines() if (m := re.match(pattern, line))]
    assert len(rows) == len(HELP_ORDER), rows
    for words, expected in zip(rows, HELP_ORDER, strict=True):
        for word in words:
            command = parse_command(word, "")
            assert command is not None, f"{lang}: {word!r} is not a command"
            assert command.name is expected, f"{lang}: {word!r} is {command.name}"
