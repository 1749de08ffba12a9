"""The built wheel runs on its own: templates and topics travel inside it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_an_installed_wheel_renders_every_template_and_reads_the_topics(tmp_path: Path) -> None:
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    # Build from a clean copy: a build/ directory left in the checkout would be reused.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    for name in ("mailbot", "templates", "config"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "w"), str(src)],
        check=True,
        capture_output=True,
    )
    [wheel] = (tmp_path / "w").glob("mailbot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "mailbot/_data/templates/fr/confirmation/body.txt.j2" in names
    assert "mailbot/_data/config/topics.toml" in names
    site = tmp_path / "site"
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MAILBOT_") and k not in ("PYTHONPATH", "PYTHONSAFEPATH")
    }
    env.update(PYTHONPATH=str(site), MAILBOT_PROGRAM_SECRET="packaging-test")
    # Run away from the checkout, so only the installed copy can be found.
    out = subprocess.run(
        [sys.executable, "-m", "mailbot", "check-config"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "configuration OK" in out.stdout
    where = subprocess.run(
        [sys.executable, "-c", "import mailbot.edges.render as r; print(r.DEFAULT_DIR)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip() == str(site / "mailbot" / "_data" / "templates")
