"""A coordinator's reply read as a list of commands: one command per line, many in one reply.

Decides which lines of a coordinator's reply are theirs to act on, and what each says:
- a command in the Subject comes first (as `domain.commands.parse_command` reads a Subject);
- then every line the coordinator typed in the body, in order, one command each
  (`parse_command` reads each line as it reads a Subject or a first line); a line that is not
  a command is kept with `command = None`, so the coordinator hears it was not understood —
  except right after a command that takes a text (LIAISE, NOTE, ANSWER): lines that follow it
  with no blank line between continue its text (args["text"], joined with a newline; the
  command's `text` stays its first line) — unless the line looks like a mistyped command
  ("CLOES 14": a capitalised word, then an id), which must not reach a participant as text;
- skipped: empty lines and one greeting line at the top ("Hi,"); quoted lines ("> ...", the
  digest's own action lines among them), and the "On ... wrote:" line above them — the
  coordinator may answer between quoted lines;
- reading stops at a signature separator ("-- "), a closing line ("Thanks,", "Best regards")
  and at quoted mail that is not marked with ">" (Outlook's header block, "-----Original
  Message-----"): its lines cannot be told from the coordinator's own;
- at most `MAX_LINES` lines are read.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

from mailbot.domain.commands import is_greeting, parse_command
from mailbot.domain.model import Command, CommandName
from mailbot.domain.textutil import (
    fold,
    is_attribution,
    is_quoted,
    is_signature_separator,
    lines_of,
    starts_quoted_mail,
    strip_tags,
)

MAX_LINES = 300
_CONTINUED = frozenset({CommandName.LIAISE, CommandName.NOTE, CommandName.ANSWER})
_LIKE_A_COMMAND = re.compile(r"^[A-Z]{3,}\s+#?[A-Za-z]*\d")
_CLOSING_RE = re.compile(
    r"^(thanks|thank you|many thanks|thx|best|best wishes|best regards|kind regards|regards"
    r"|warm regards|cheers|all the best|merci|merci beaucoup|cordialement|bien a vous"
    r"|gracias|muchas gracias|saludos|un saludo|atentamente)\b[\w\s,.!-]{0,40}$"
)


@dataclass(frozen=True, slots=True)
class ReplyLine:
    text: str  # the line as the coordinator wrote it, trimmed
    command: Command | None  # None: not a command


def _quote_follows(lines: list[str], i: int) -> bool:
    """True when the next non-empty line after `lines[i]` is quoted with ">"."""
    for line in lines[i + 1 :]:
        if line.strip():
            return is_quoted(line)
    return False


def read_reply(subject: str, text: str, *, today: date | None = None) -> tuple[ReplyLine, ...]:
    """The reply's lines to act on, in order (see the module docstring)."""
    out: list[ReplyLine] = []
    command = parse_command(subject, "", today=today)
    if command is not None:
        out.append(ReplyLine(command.text, command))
    lines = lines_of(text)
    greeting_allowed = True
    open_text = False  # the last line was a command whose text a next line may continue
    for i, raw in enumerate(lines):
        if len(out) >= MAX_LINES:
            break
        if is_quoted(raw):
            open_text = False
            continue
        line = strip_tags(raw).strip()
        if not line:
            open_text = False
            continue
        if is_signature_separator(raw) or (
            len(line.split()) <= 4 and _CLOSING_RE.match(fold(line))
        ):
            break
        if starts_quoted_mail(lines, i):
            if is_attribution(line) and _quote_follows(lines, i):
                continue
            break
        if greeting_allowed and is_greeting(line):
            greeting_allowed = False
            continue
        greeting_allowed = False
        command = parse_command("", line, today=today)
        if command is None and open_text and not _LIKE_A_COMMAND.match(line):
            out[-1] = _continued(out[-1], line)
            continue
        open_text = command is not None and command.name in _CONTINUED
        out.append(ReplyLine(line, command))
    return tuple(out)


def _continued(last: ReplyLine, line: str) -> ReplyLine:
    """`last`'s command with `line` added to its text."""
    if last.command is None:
        return last
    args = dict(last.command.args)
    args["text"] = f"{args['text']}\n{line}" if args.get("text") else line
    return ReplyLine(last.text, replace(last.command, args=args))


def commands_of(lines: tuple[ReplyLine, ...]) -> list[Command]:
    return [line.command for line in lines if line.command is not None]


def first_command(subject: str, text: str, *, today: date | None = None) -> Command | None:
    """The first command of the reply, or None (what the classifier records for it)."""
    found = commands_of(read_reply(subject, text, today=today))
    return found[0] if found else None
