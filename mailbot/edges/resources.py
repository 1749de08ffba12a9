"""Where the message templates and the topics file are read from — no decisions.

A checkout (and an editable install) reads `templates/` and `config/` at the top of the
project, so an edit there shows at once; a built wheel carries copies of both under
`mailbot/_data/` (setup.py puts them there), so `pip install mailbot` needs nothing else.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent
_SOURCE_TREE = _PACKAGE.parent


def data_dir(name: str) -> Path:
    """`templates` or `config`: the source tree's when running from a checkout, else the
    copy inside the installed package."""
    mine = _SOURCE_TREE / name
    if (_SOURCE_TREE / "pyproject.toml").is_file() and mine.is_dir():
        return mine
    return _PACKAGE / "_data" / name
