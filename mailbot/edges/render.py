"""Template adapter: Jinja2 templates under `templates/<lang>/<name>/` → subject, text, html.

Thin: no decisions. Text part always; HTML optional and autoescaped; English fallback per
file; an undefined variable is an error, never an empty string in someone's mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from mailbot.edges.resources import data_dir

DEFAULT_DIR = data_dir("templates")
FALLBACK = "en"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None
    language: str  # the language actually used for the body


class TemplateMissing(LookupError):
    pass


class Renderer:
    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory else DEFAULT_DIR
        loader = jinja2.FileSystemLoader(str(self.directory))
        common: dict[str, Any] = {
            "loader": loader,
            "undefined": jinja2.StrictUndefined,
            "keep_trailing_newline": True,
            "trim_blocks": True,
            "lstrip_blocks": True,
            "auto_reload": False,  # templates do not change under a running process
        }
        self._text = jinja2.Environment(autoescape=False, **common)  # plain text: nothing to escape
        self._html = jinja2.Environment(autoescape=True, **common)
        self._picked: dict[tuple[str, str, str], str | None] = {}

    def _pick(self, name: str, language: str, filename: str) -> str | None:
        """The template file to use (the language's, else English's); looked up once."""
        key = (name, language, filename)
        if key not in self._picked:
            self._picked[key] = next(
                (
                    rel
                    for lang in (language, FALLBACK)
                    if (self.directory / (rel := f"{lang}/{name}/{filename}")).is_file()
                ),
                None,
            )
        return self._picked[key]

    def render(self, name: str, language: str, context: dict[str, Any]) -> Rendered:
        body = self._pick(name, language, "body.txt.j2")
        subject = self._pick(name, language, "subject.txt.j2")
        if body is None or subject is None:
            raise TemplateMissing(f"no template {name!r} for {language!r} or {FALLBACK!r}")
        used = body.split("/", 1)[0]
        ctx = {**context, "lang": used}
        subj = self._text.get_template(subject).render(ctx)
        text = self._text.get_template(body).render(ctx)
        html_rel = self._pick(name, used, "body.html.j2")
        html = self._html.get_template(html_rel).render(ctx) if html_rel else None
        return Rendered(" ".join(subj.split()), text, html, used)

    def names(self) -> list[str]:
        base = self.directory / FALLBACK
        return sorted(p.name for p in base.iterdir() if (p / "body.txt.j2").is_file())

    def languages(self) -> list[str]:
        return sorted(p.name for p in self.directory.iterdir() if p.is_dir())
