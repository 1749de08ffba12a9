"""The round's mail (introduction, topics, nudges, check-in, survey, …) in en, fr and es.

Every template renders in every language with every sample of `SAMPLES_ROUND`; subjects are one
line and never read back as a command (replies to them are parsed for commands); fr/es really
are French and Spanish; the one-word answers a mail offers read back as the command it means;
the introduction names everyone and the tracking address and escapes what people wrote; and
config/topics.toml holds nine topics with a title and a prompt in each language.
"""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

import jinja2
import pytest

from mailbot.contexts.samples import BASE, COORDINATOR_ONLY, SAMPLES_ROUND
from mailbot.domain.commands import parse_command
from mailbot.domain.model import CommandName
from mailbot.domain.survey import Choice, SurveyAnswer, parse_survey_answer
from mailbot.edges.render import Renderer

LANGS = ("en", "fr", "es")
RENDERER = Renderer()
TEMPLATES = RENDERER.directory
TOPICS_FILE = Path(__file__).resolve().parents[2] / "config" / "topics.toml"
HTML_TEMPLATES = {"introduction", "topic"}
NAMES = sorted(SAMPLES_ROUND)
PARTICIPANT_NAMES = [n for n in NAMES if n not in COORDINATOR_ONLY]
# Keys a flow may leave out (the template has a default); every other sample key is required.
OPTIONAL = {("round_deferred", "country_name"), ("round_opened", "application_kept")}

CASES = [
    pytest.param(name, lang, i, ctx, id=f"{lang}-{name}-{i}")
    for name in NAMES
    for lang in LANGS
    for i, ctx in enumerate(SAMPLES_ROUND[name])
]

# Greeting and signature words every body in the language has; English that must not leak.
MUST = {
    "en": ("Dear ", "Reply HELP"),
    "fr": ("Bonjour", "Répondez AIDE"),
    "es": ("Hola", "Responda AYUDA"),
}
ENGLISH = ("Dear ", "Thank you", "Reply HELP", "reply to", "your partner", "please", " the ")

# One word or phrase of each template that only a real translation has.
SPOT = {
    "introduction": {"fr": "CE QUE NOUS VOUS DEMANDONS", "es": "LO QUE LES PEDIMOS"},
    "topic": {"fr": "Voici le sujet", "es": "Este es el tema"},
    "nudge_quiet": {"fr": "Pouvez-vous nous dire", "es": "¿Nos cuenta cómo va todo?"},
    "nudge_one_sided": {"fr": "vous a écrit", "es": "le ha escrito"},
    "nudge_second": {"fr": "Nous vous avons écrit récemment", "es": "Le escribimos hace poco"},
    "pair_ended_silent": {"fr": "nous y avons donc mis fin", "es": "la hemos dado por terminada"},
    "pool_carried": {"fr": "Votre candidature est gardée", "es": "Guardamos su solicitud"},
    "pool_waiting": {"fr": "Vous n'avez rien à faire", "es": "No tiene que hacer nada"},
    "partner_bouncing": {"fr": "sans avoir été distribués", "es": "sin entregar"},
    "partner_paused": {"fr": "en pause", "es": "en pausa"},
    "partner_withdrew": {"fr": "a quitté la session", "es": "ha dejado la ronda"},
    "checkin": {"fr": "au cours des deux dernières semaines", "es": "en las dos últimas semanas"},
    "survey": {"fr": "Le plus précieux :", "es": "Lo más valioso:"},
    "round_deferred": {"fr": "Nous sommes désolés", "es": "Lo sentimos"},
    "round_opened": {"fr": "Les candidatures sont ouvertes", "es": "plazo de solicitud"},
}

# The one-word answers each mail offers, as shown in the body, and what the parser must read.
ANSWERS: dict[str, dict[str, list[tuple[str, CommandName]]]] = {
    "introduction": {
        "en": [
            ("PAUSE 2 weeks", CommandName.PAUSE),
            ("REMATCH", CommandName.REMATCH),
            ("WITHDRAW", CommandName.WITHDRAW),
            ("STATUS", CommandName.STATUS),
            ("HELP", CommandName.HELP),
            ("IN TOUCH", CommandName.IN_TOUCH),
        ],
        "fr": [
            ("PAUSE 2 semaines", CommandName.PAUSE),
            ("NOUVEAU PARTENAIRE", CommandName.REMATCH),
            ("RETIRER", CommandName.WITHDRAW),
            ("STATUT", CommandName.STATUS),
            ("AIDE", CommandName.HELP),
            ("EN CONTACT", CommandName.IN_TOUCH),
        ],
        "es": [
            ("PAUSA 2 semanas", CommandName.PAUSE),
            ("NUEVA PAREJA", CommandName.REMATCH),
            ("RETIRARSE", CommandName.WITHDRAW),
            ("ESTADO", CommandName.STATUS),
            ("AYUDA", CommandName.HELP),
            ("EN CONTACTO", CommandName.IN_TOUCH),
        ],
    },
    "nudge_quiet": {
        "en": [
            ("IN TOUCH", CommandName.IN_TOUCH),
            ("SILENT", CommandName.SILENT),
            ("PAUSE 2 weeks", CommandName.PAUSE),
            ("REMATCH", CommandName.REMATCH),
        ],
        "fr": [
            ("EN CONTACT", CommandName.IN_TOUCH),
            ("SILENCIEUX", CommandName.SILENT),
            ("SILENCIEUSE", CommandName.SILENT),
            ("PAUSE 2 semaines", CommandName.PAUSE),
            ("NOUVEAU PARTENAIRE", CommandName.REMATCH),
        ],
        "es": [
            ("EN CONTACTO", CommandName.IN_TOUCH),
            ("SIN RESPUESTA", CommandName.SILENT),
            ("PAUSA 2 semanas", CommandName.PAUSE),
            ("NUEVA PAREJA", CommandName.REMATCH),
        ],
    },
    "nudge_second": {
        "en": [
            ("IN TOUCH", CommandName.IN_TOUCH),
            ("SILENT", CommandName.SILENT),
            ("PAUSE 2 weeks", CommandName.PAUSE),
            ("REMATCH", CommandName.REMATCH),
            ("WITHDRAW", CommandName.WITHDRAW),
        ],
        "fr": [
            ("EN CONTACT", CommandName.IN_TOUCH),
            ("SILENCIEUX", CommandName.SILENT),
            ("PAUSE 2 semaines", CommandName.PAUSE),
            ("NOUVEAU PARTENAIRE", CommandName.REMATCH),
            ("RETIRER", CommandName.WITHDRAW),
        ],
        "es": [
            ("EN CONTACTO", CommandName.IN_TOUCH),
            ("SIN RESPUESTA", CommandName.SILENT),
            ("PAUSA 2 semanas", CommandName.PAUSE),
            ("NUEVA PAREJA", CommandName.REMATCH),
            ("RETIRARSE", CommandName.WITHDRAW),
        ],
    },
    "nudge_one_sided": {
        "en": [("PAUSE 2 weeks", CommandName.PAUSE), ("WITHDRAW", CommandName.WITHDRAW)],
        "fr": [("PAUSE 2 semaines", CommandName.PAUSE), ("RETIRER", CommandName.WITHDRAW)],
        "es": [("PAUSA 2 semanas", CommandName.PAUSE), ("RETIRARSE", CommandName.WITHDRAW)],
    },
    "partner_bouncing": {
        "en": [("REMATCH", CommandName.REMATCH)],
        "fr": [("NOUVEAU PARTENAIRE", CommandName.REMATCH)],
        "es": [("NUEVA PAREJA", CommandName.REMATCH)],
    },
    "partner_paused": {
        "en": [("REMATCH", CommandName.REMATCH)],
        "fr": [("NOUVEAU PARTENAIRE", CommandName.REMATCH)],
        "es": [("NUEVA PAREJA", CommandName.REMATCH)],
    },
    "partner_withdrew": {
        "en": [("REMATCH", CommandName.REMATCH)],
        "fr": [("NOUVEAU PARTENAIRE", CommandName.REMATCH)],
        "es": [("NUEVA PAREJA", CommandName.REMATCH)],
    },
    "checkin": {
        "en": [
            ("YES", CommandName.YES),
            ("NO", CommandName.NO),
            ("PAUSE", CommandName.PAUSE),
            ("PAUSE 3 weeks", CommandName.PAUSE),
        ],
        "fr": [
            ("OUI", CommandName.YES),
            ("NON", CommandName.NO),
            ("PAUSE", CommandName.PAUSE),
            ("PAUSE 3 semaines", CommandName.PAUSE),
        ],
        "es": [
            ("SÍ", CommandName.YES),
            ("NO", CommandName.NO),
            ("PAUSA", CommandName.PAUSE),
            ("PAUSA 3 semanas", CommandName.PAUSE),
        ],
    },
    "round_opened": {
        "en": [("CONTINUE", CommandName.CONTINUE), ("HELP", CommandName.HELP)],
        "fr": [("CONTINUER", CommandName.CONTINUE), ("AIDE", CommandName.HELP)],
        "es": [("CONTINUAR", CommandName.CONTINUE), ("AYUDA", CommandName.HELP)],
    },
    "round_deferred": {
        "en": [("STATUS", CommandName.STATUS), ("HELP", CommandName.HELP)],
        "fr": [("STATUT", CommandName.STATUS), ("AIDE", CommandName.HELP)],
        "es": [("ESTADO", CommandName.STATUS), ("AYUDA", CommandName.HELP)],
    },
}

# The blank lines to fill in, and the example's values (shown inline, not as answer lines).
SURVEY_FORM = {
    "en": ("Satisfaction:", "Most valuable:", "Choice:"),
    "fr": ("Satisfaction :", "Le plus précieux :", "Choix :"),
    "es": ("Satisfacción:", "Lo más valioso:", "Opción:"),
}

TOPIC_SLUGS = [
    "getting-to-know-you-and-your-workspace",
    "library-spaces",
    "management-and-leadership",
    "advocacy",
    "professional-development",
    "technology",
    "collections",
    "community-engagement",
    "looking-back-and-ahead",
]


def raw_subject(name: str, lang: str, ctx: dict[str, Any]) -> str:
    """The subject as the template writes it, before the renderer joins its lines."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text, like the renderer's text environment
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template(f"{lang}/{name}/subject.txt.j2").render({**ctx, "lang": lang})


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", NAMES)
def test_every_language_has_the_template(name: str, lang: str) -> None:
    folder = TEMPLATES / lang / name
    if name in COORDINATOR_ONLY and lang != "en":
        assert not folder.exists(), f"{lang}/{name}: coordinator mail is English only"
        return
    for part in ("subject.txt.j2", "body.txt.j2"):
        assert (folder / part).is_file(), f"{lang}/{name}/{part} missing"
    has_html = (folder / "body.html.j2").is_file()
    assert has_html == (name in HTML_TEMPLATES), f"{lang}/{name}: HTML only for {HTML_TEMPLATES}"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", NAMES)
def test_includes_stay_in_their_language(name: str, lang: str) -> None:
    for path in (TEMPLATES / lang / name).glob("*.j2"):
        for target in re.findall(r"""include\s+["']([^"']+)["']""", path.read_text("utf-8")):
            assert target.startswith(f"{lang}/_"), f"{path}: includes {target}"


def test_samples_carry_the_base_keys() -> None:
    for name, contexts in SAMPLES_ROUND.items():
        assert contexts, name
        for ctx in contexts:
            assert set(BASE) <= set(ctx), name


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize(("name", "lang", "i", "ctx"), CASES)
def test_renders(name: str, lang: str, i: int, ctx: dict[str, Any]) -> None:
    out = RENDERER.render(name, lang, ctx)
    lang = "en" if name in COORDINATOR_ONLY else lang
    assert out.language == lang
    assert out.subject.strip(), "empty subject"
    assert "\n" not in out.subject
    assert len(raw_subject(name, lang, ctx).strip().splitlines()) == 1, "subject not one line"
    assert out.text.strip()
    assert "{{" not in out.text and "{%" not in out.text
    assert "\n\n\n" not in out.text, "three newlines in a row: a template leaves a gap"
    assert "\n\n-- \n" in out.text, "signature separator '-- ' missing, or no blank line before"
    for word in MUST[lang]:
        assert word in out.text, f"{lang}/{name}: {word!r} missing"
    assert (out.html is not None) == (name in HTML_TEMPLATES)
    if out.html is not None:
        assert "{{" not in out.html and f'lang="{lang}"' in out.html


@pytest.mark.parametrize(("name", "lang", "i", "ctx"), CASES)
def test_subject_is_never_a_command(name: str, lang: str, i: int, ctx: dict[str, Any]) -> None:
    subject = RENDERER.render(name, lang, ctx).subject
    for prefix in ("", "Re: ", "RE: AW: ", "Fwd: ", "TR: ", "RV: "):
        assert parse_command(prefix + subject, "") is None, f"{prefix + subject!r} is a command"


@pytest.mark.parametrize("lang", ["fr", "es"])
@pytest.mark.parametrize("name", PARTICIPANT_NAMES)
def test_french_and_spanish_are_translated(name: str, lang: str) -> None:
    for ctx in SAMPLES_ROUND[name]:
        out = RENDERER.render(name, lang, ctx)
        assert SPOT[name][lang] in out.text, f"{lang}/{name}: {SPOT[name][lang]!r} missing"
        # the samples' own English values (interests, about, topic prompt, detail) aside
        own = " ".join(str(v) for v in _leaves(ctx))
        for word in ENGLISH:
            if word in own:
                continue
            assert word not in out.text, f"{lang}/{name}: English {word!r} in the body"
            assert word not in out.subject, f"{lang}/{name}: English {word!r} in the subject"
        if out.html is not None:
            assert SPOT[name][lang].lower() in out.html.replace("&nbsp;", " ").lower()


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


@pytest.mark.parametrize("name", NAMES)
def test_every_sample_key_is_needed(name: str) -> None:
    """The contract is exact: drop any non-BASE key of the first sample and rendering fails."""
    ctx = SAMPLES_ROUND[name][0]
    for key in set(ctx) - set(BASE) - {k for n, k in OPTIONAL if n == name}:
        partial = {k: v for k, v in ctx.items() if k != key}
        for lang in LANGS:
            with pytest.raises(jinja2.UndefinedError):
                RENDERER.render(name, lang, partial)


@pytest.mark.parametrize(("name", "key"), sorted(OPTIONAL))
def test_optional_keys_may_be_left_out(name: str, key: str) -> None:
    for ctx in SAMPLES_ROUND[name]:
        partial = {k: v for k, v in ctx.items() if k != key}
        for lang in LANGS:
            assert RENDERER.render(name, lang, partial).text.strip()


def test_coordinator_mail_falls_back_to_english() -> None:
    for name in sorted(set(NAMES) & COORDINATOR_ONLY):
        for lang in ("fr", "es"):
            assert RENDERER.render(name, lang, SAMPLES_ROUND[name][0]).language == "en"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_offered_answers_read_back_as_their_command(name: str, lang: str) -> None:
    text = "\n".join(RENDERER.render(name, lang, ctx).text for ctx in SAMPLES_ROUND[name])
    for answer, command in ANSWERS[name][lang]:
        assert answer in text, f"{lang}/{name}: {answer!r} not offered"
        parsed = parse_command(answer, "")
        assert parsed is not None and parsed.name is command, f"{answer!r} → {parsed}"
        body = parse_command(
            "Re: " + RENDERER.render(name, lang, SAMPLES_ROUND[name][0]).subject,
            f"{answer}\n\n> quoted mail\n",
        )
        assert body is not None and body.name is command, f"{answer!r} as a reply → {body}"


@pytest.mark.parametrize("lang", LANGS)
def test_survey_shows_its_reply_format_and_reads_back(lang: str) -> None:
    out = RENDERER.render("survey", lang, SAMPLES_ROUND["survey"][0])
    sat, valuable, choice = SURVEY_FORM[lang]
    for label in SURVEY_FORM[lang]:
        assert f"\n  {label}\n" in out.text, f"{lang}: blank {label!r} line missing"
    for example in (f"{sat} 4", f"{choice} 2", valuable):
        assert example in out.text.replace("\n  ", "\n"), f"{lang}: example {example!r} missing"
    for number in ("1 =", "2 =", "3 ="):
        assert number in out.text
    # the mail itself, pasted back unquoted, answers nothing (its help lines are not answers)
    assert parse_survey_answer(out.text) is None
    filled = f"{sat} 4\n{valuable} the video calls\n{choice} 2\n"
    quoted = "\n".join("> " + line for line in out.text.splitlines())
    answer = parse_survey_answer(filled + "\n" + quoted)
    assert answer == SurveyAnswer(4, "the video calls", Choice.CONTINUE_INDEPENDENTLY)
    for line in filled.splitlines():
        assert parse_command("Re: " + out.subject, line) is None, f"{line!r} reads as a command"


# --------------------------------------------------------------------------- introduction


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("i", range(len(SAMPLES_ROUND["introduction"])))
def test_introduction_names_everyone_and_the_tracking_address(lang: str, i: int) -> None:
    ctx = SAMPLES_ROUND["introduction"][i]
    out = RENDERER.render("introduction", lang, ctx)
    assert out.html is not None
    tracking = ctx["pair"]["tracking_address"]
    for part in (out.text, out.html):
        assert tracking in part
        assert ctx["program"]["address"] in part
        for member in ctx["pair"]["members"]:
            assert member["name"] in part.replace("&#39;", "'")
            assert member["email"] in part
            assert member["institution"] in part
    for member in ctx["pair"]["members"]:
        assert member["name"] in out.subject
    assert ctx["pair"]["round"]["name"] in out.subject


@pytest.mark.parametrize("lang", LANGS)
def test_introduction_html_escapes_what_people_wrote(lang: str) -> None:
    ctx = copy.deepcopy(SAMPLES_ROUND["introduction"][0])
    evil = "<script>alert('x')</script>"
    members = ctx["pair"]["members"]
    members[0]["about"] = f"Hello {evil}\nsecond line & more"
    members[1]["name"] = f"Kofi {evil}"
    members[1]["institution"] = '<img src=x onerror="alert(1)">'
    ctx["pair"]["reasons"]["shared_interests"] = [evil]
    out = RENDERER.render("introduction", lang, ctx)
    assert out.html is not None
    assert "<script>" not in out.html and "<img" not in out.html
    assert "&lt;script&gt;" in out.html
    assert "second line &amp; more" in out.html
    assert evil in out.text, "the text part is not escaped"


@pytest.mark.parametrize("lang", LANGS)
def test_introduction_tells_the_time_at_each_place(lang: str) -> None:
    ctx = SAMPLES_ROUND["introduction"][1]  # the trio
    text = RENDERER.render("introduction", lang, ctx).text
    for member in ctx["pair"]["members"]:
        assert member["local_time"] in text
    unknown = RENDERER.render("introduction", lang, SAMPLES_ROUND["introduction"][2]).text
    assert "None" not in unknown


@pytest.mark.parametrize("lang", LANGS)
def test_topic_html_lists_the_questions_and_escapes_them(lang: str) -> None:
    ctx = copy.deepcopy(SAMPLES_ROUND["topic"][0])
    ctx["topic"]["prompt"] = "Intro <b>bold</b>.\n\n- First?\n- Second & third?\n"
    out = RENDERER.render("topic", lang, ctx)
    assert out.html is not None
    assert out.html.count("<li") == 2
    assert "&lt;b&gt;bold&lt;/b&gt;" in out.html and "Second &amp; third?" in out.html
    assert "- First?" in out.text


# --------------------------------------------------------------------------- topics.toml


def load_topics() -> dict[str, Any]:
    with TOPICS_FILE.open("rb") as f:
        return tomllib.load(f)


def test_topics_file_has_nine_topics_every_fourteen_days() -> None:
    data = load_topics()
    assert data["every_days"] == 14
    topics = data["topics"]
    assert [t["slug"] for t in topics] == TOPIC_SLUGS
    assert [t["order"] for t in topics] == list(range(1, 10))


@pytest.mark.parametrize("lang", LANGS)
def test_every_topic_has_a_title_and_a_prompt_in_every_language(lang: str) -> None:
    titles = set()
    for topic in load_topics()["topics"]:
        entry = topic[lang]
        title, prompt = entry["title"].strip(), entry["prompt"].strip()
        assert title and "\n" not in title, topic["slug"]
        titles.add(title)
        questions = [ln for ln in prompt.splitlines() if ln.startswith("- ")]
        assert 3 <= len(questions) <= 5, f"{lang}/{topic['slug']}: {len(questions)} questions"
        assert not prompt.startswith("- "), "a prompt opens with a sentence, not a question"
    assert len(titles) == 9


@pytest.mark.parametrize("lang", LANGS)
def test_every_topic_renders_in_its_language(lang: str) -> None:
    topics = load_topics()["topics"]
    base = SAMPLES_ROUND["topic"][0]
    for topic in topics:
        ctx = base | {
            "topic": {
                "number": topic["order"],
                "count": len(topics),
                "slug": topic["slug"],
                **topic[lang],
            }
        }
        out = RENDERER.render("topic", lang, ctx)
        assert topic[lang]["title"] in out.subject
        assert parse_command(out.subject, "") is None
        assert topic[lang]["prompt"].strip() in out.text
        assert out.html is not None and out.html.count("<li") >= 3


def test_translations_differ_from_english() -> None:
    for topic in load_topics()["topics"]:
        for lang in ("fr", "es"):
            assert topic[lang]["prompt"] != topic["en"]["prompt"], topic["slug"]
            assert topic[lang]["title"] != topic["en"]["title"] or topic["en"]["title"] in (
                "Technology",
            ), topic["slug"]
