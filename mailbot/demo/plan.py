"""The demo's fixed program: its addresses, its one round's dates, the hours of a simulated day,
the configuration file written for it, and the error a missing stage raises.

Decides nothing at run time: constants and the two date helpers the other demo modules share.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from mailbot.flows.end_of_round import FINAL_REPORT_AFTER

PROGRAM = "coordinator@example.org"
COORDINATOR = "director@example.org"
ROUND = "2027A"
START = date(2027, 2, 8)  # a Monday: the round starts, topics begin
MATCHING = date(2027, 2, 3)
END = date(2027, 6, 8)  # four months later
FINAL_REPORT = END + FINAL_REPORT_AFTER  # when flows.end_of_round sends it
TICK_HOUR = 10  # every simulated day at 10:00 UTC ...
EVENING_HOUR = 22  # ... and during the round at 22:00 UTC (mornings in the Americas)
WRITE_HOUR = 8  # simulated people write before the day's first tick
MARKER = ".mailbot-demo"

CONFIG = """\
[program]
name = "International Librarians Network (demo)"
address = "{program}"
coordinators = ["{coordinator}"]
transport = "maildir"
maildir = "{root}/maildir"

[database]
url = "sqlite:///{root}/mailbot.sqlite3"

[[rounds]]
name = "{round}"
applications_open = 2027-01-04
applications_close = 2027-01-31
matching_date = {matching}
start = {start}
end = {end}
"""


class DemoError(RuntimeError):
    """A stage the demo relies on did not happen; the message says which."""


def at(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(d, time(hour, minute), tzinfo=UTC)


def round_day(d: date) -> int:
    return (d - START).days
