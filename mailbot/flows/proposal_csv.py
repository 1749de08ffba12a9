"""The spreadsheet attached to a proposal: one row per member of each pair, then those left out.

Reads a stored proposal payload (`flows.proposal.payload`) and the people and applications it
names; writes nothing but the CSV text.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from mailbot.domain.model import ApplicationFields
from mailbot.edges.tables import Application, Person


def proposal_csv(
    data: dict[str, Any], people: dict[int, Person], apps: dict[int, Application]
) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
            "pair",
            "name",
            "email",
            "country",
            "sector",
            "career_stage",
            "interests",
            "partner_names",
            "score",
            "shared_interests",
            "wishes_met",
            "overlap_hours",
        ]
    )
    for n, p in enumerate(data["pairs"], 1):
        shared = sorted({i for r in p["reasons"] for i in r["shared_interests"]})
        wishes = [
            f"{people[wm['by']].name}: {wm['kind']}={wm['value']}"
            for r in p["reasons"]
            for wm in r["wishes_met"]
            if wm["by"] in people
        ]
        overlap = min(
            (r["overlap_hours"] for r in p["reasons"] if r["overlap_hours"] is not None), default=""
        )
        for pid in p["members"]:
            person, f = people[pid], ApplicationFields.from_json(apps[pid].fields)
            partners = [people[o].name for o in p["members"] if o != pid]
            w.writerow(
                [
                    n,
                    person.name,
                    person.email,
                    f.country,
                    f.sector.value,
                    f.career_stage.value,
                    "; ".join(f.interests),
                    "; ".join(partners),
                    p["score"],
                    "; ".join(shared),
                    "; ".join(wishes),
                    overlap,
                ]
            )
    for x in data["left"]:
        if x["id"] in people:
            person = people[x["id"]]
            w.writerow(
                [
                    "",
                    person.name,
                    person.email,
                    ApplicationFields.from_json(apps[x["id"]].fields).country,
                    "",
                    "",
                    "",
                    f"LEFT OUT: {x['code']}",
                    "",
                    "",
                    x["detail"],
                    "",
                ]
            )
    return out.getvalue()
