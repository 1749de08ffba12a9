"""A mailbot configured against the test mail stack, driven through its real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import mailbox

SECRET = "live-test-secret"


@dataclass
class Live:
    stack: dict[str, Any]
    program: str
    coordinator: str
    config: Path
    env: dict[str, str]

    @classmethod
    def create(
        cls,
        stack: dict[str, Any],
        db_url: str,
        root: Path,
        extra: str = "",
        program_fields: str = "",  # Dovecot extra fields of the program's mailbox
    ) -> Live:
        program = mailbox.new_user(stack, "prog", fields=program_fields)
        coordinator = mailbox.new_user(stack, "coord")
        root.mkdir(parents=True, exist_ok=True)
        config = root / "mailbot.toml"
        config.write_text(
            f"""
[program]
address = "{program}"
coordinators = ["{coordinator}"]
max_auto_replies_per_day = 50
[imap]
host = "{stack["host"]}"
port = {stack["imap_port"]}
username = "{program}"
tls = "none"
poll_seconds = 1
[smtp]
host = "{stack["host"]}"
port = {stack["smtp_port"]}
tls = "none"
[database]
url = "{db_url}"
[[rounds]]
name = "2027A"
applications_open = 2027-01-04
applications_close = 2027-01-31
matching_date = 2027-02-03
start = 2027-02-08
{extra}
"""
        )
        env = dict(
            os.environ,
            MAILBOT_PROGRAM_SECRET=SECRET,
            MAILBOT_IMAP_PASSWORD=mailbox.password_for(stack, program),
            MAILBOT_LOCK_DIR=str(root),
        )
        return cls(stack, program, coordinator, config, env)

    def cli(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "mailbot", *args, "--config", str(self.config)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"mailbot {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def popen(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "mailbot", *args, "--config", str(self.config)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
