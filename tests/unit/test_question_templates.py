"""The mail about questions and confirmations reads in the person's language: every sample of
`question_received`, `question_answer` and `confirm_request` renders in French and Spanish with
no English sentence (the samples' own values aside), and names what it must."""

from __future__ import annotations

from typing import Any

import pytest

from mailbot.contexts.samples import SAMPLES
from mailbot.edges.render import Renderer

RENDERER = Renderer()
ENGLISH = ("Dear ", "Thank you", "Reply HELP", "reply to", "your partner", "please", " the ")
SPOT = {
    "question_received": {"fr": "Un coordinateur vous répondra", "es": "Un coordinador le"},
    "question_answer": {"fr": "a répondu à la question", "es": "ha respondido a la pregunta"},
    "confirm_request": {"fr": "répondez", "es": "responda"},
}


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


@pytest.mark.parametrize("lang", ["fr", "es"])
@pytest.mark.parametrize("name", sorted(SPOT))
def test_translated(name: str, lang: str) -> None:
    for ctx in SAMPLES[name]:
        out = RENDERER.render(name, lang, ctx)
        assert SPOT[name][lang] in out.text.replace("\n", " "), (name, lang)
        own = " ".join(str(v) for v in _leaves(ctx))
        for word in ENGLISH:
            if word not in own:
                assert word not in out.text and word not in out.subject, (name, lang, word)


@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_a_request_says_how_to_confirm_and_how_not_to(lang: str) -> None:
    yes, no = {"en": ("YES", "NO"), "fr": ("OUI", "NON"), "es": ("SÍ", "NO")}[lang]
    for ctx in SAMPLES["confirm_request"]:
        out = RENDERER.render("confirm_request", lang, ctx)
        assert yes in out.text and no in out.text
        verify = {"en": "could not verify", "fr": "pas pu vérifier", "es": "No hemos podido"}
        assert (verify[lang] in out.text.replace("\n", " ")) is (ctx["mode"] == "verify")


def test_the_coordinators_see_the_one_reply_answer() -> None:
    for ctx in SAMPLES["question_forwarded"]:
        out = RENDERER.render("question_forwarded", "en", ctx)
        q = ctx["question"]
        assert f"ANSWER {q['id']} <your answer>" in out.text and q["sender"] in out.text
        assert all(f"> {line}" in out.text for line in q["text"].splitlines())
