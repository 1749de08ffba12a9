"""Turns a `Verdict` into the JSON object `mailbot inspect --json` prints for one file.

Keys: `file`, `kind`, `reason`, `rules` (the rows that fired), `automated`, `routes`; for an
application `valid`, `errors` (field names of the problems) and `fields` (the parsed fields,
or the partial values as found when invalid); for a command `command` and `args`; for a
bounce `recipients`, `permanent`, `status`, `diagnostic`, `token` and `message_id`; for an
out-of-office reply that names a date, `away_until`.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

from mailbot.domain.model import Kind, Verdict


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return _jsonable(value.value)
    return str(value)


def verdict_json(file: str, verdict: Verdict) -> dict[str, object]:
    """The inspect object for `file` (as given on the command line) and its verdict."""
    out: dict[str, object] = {
        "file": file,
        "kind": verdict.kind.value,
        "reason": verdict.reason,
        "rules": list(verdict.hits),
        "automated": verdict.automated,
        "routes": [
            {"route": h.route.value, "token": h.token, "via": h.via} for h in verdict.routes
        ],
    }
    app = verdict.application
    if app is not None:
        out["valid"] = app.valid
        out["language"] = app.language
        out["errors"] = list(dict.fromkeys(p.field.value for p in app.problems))
        out["problems"] = [
            {"field": p.field.value, "code": p.code, "value": p.value} for p in app.problems
        ]
        out["fields"] = app.fields.as_json() if app.fields is not None else dict(app.raw)
    cmd = verdict.command
    if cmd is not None:
        out["command"] = cmd.name.value
        out["args"] = _jsonable(cmd.args)
        out["source"] = cmd.source
    bounce = verdict.bounce
    if bounce is not None:
        out["recipients"] = list(bounce.recipients)
        out["permanent"] = bounce.permanent
        out["status"] = bounce.status
        out["diagnostic"] = bounce.diagnostic
        out["token"] = bounce.token
        out["message_id"] = bounce.message_id
    if verdict.kind is Kind.AUTO_REPLY or verdict.away_until is not None:
        out["away_until"] = verdict.away_until.isoformat() if verdict.away_until else None
    return out
