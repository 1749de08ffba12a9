"""edges.logformat: key=value and JSON log lines carry the structured fields of a call."""

from __future__ import annotations

import json
import logging

from mailbot.edges.logformat import JsonFormatter, KeyValueFormatter


def _record(msg: str, *args: object, fields: dict[str, object] | None = None) -> logging.LogRecord:
    record = logging.LogRecord("mailbot.outbox", logging.INFO, __file__, 1, msg, args, None)
    if fields is not None:
        record.fields = fields
    return record


def test_key_value_lines_quote_what_would_break_them() -> None:
    line = KeyValueFormatter().format(
        _record("sent key=%s", "intro:1", fields={"outbox_key": "intro:1", "note": 'a "b" c'})
    )
    assert " level=info logger=mailbot.outbox " in line
    assert 'msg="sent key=intro:1"' in line and "outbox_key=intro:1" in line
    assert 'note="a \\"b\\" c"' in line
    assert "\n" not in KeyValueFormatter().format(_record("two\nlines"))


def test_json_lines_hold_the_fields_as_keys() -> None:
    data = json.loads(
        JsonFormatter().format(_record("inbound uid=%s", "INBOX:1:7", fields={"message_id": "m@x"}))
    )
    assert data["msg"] == "inbound uid=INBOX:1:7" and data["message_id"] == "m@x"
    assert data["level"] == "info" and data["logger"] == "mailbot.outbox" and "ts" in data
