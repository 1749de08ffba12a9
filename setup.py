"""Build hook: the wheel carries templates/ and config/ as mailbot/_data/ (see pyproject.toml).

They stay at the top of the project, where translators and operators find them; only a
built package needs its own copy (mailbot/edges/resources.py finds either).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA = ("templates", "config")


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        here = Path(__file__).resolve().parent
        for name in DATA:
            target = Path(self.build_lib) / "mailbot" / "_data" / name
            shutil.copytree(
                here / name, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.pyc")
            )


setup(cmdclass={"build_py": BuildWithData})
