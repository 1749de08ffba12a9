"""The templates' contracts: one TypedDict per template (templates/<lang>/<name>/), naming every key
the template reads, and the sample contexts `check-config` renders every template with.

The contract every context keeps: every key declared is required unless marked NotRequired (the
renderer is StrictUndefined, so a missing key fails loudly); values are plain JSON (str, int,
float, bool, None, lists, dicts), because the outbox stores the context as JSON; dates are ISO
strings ("2027-03-01"), already in the recipient's zone where it matters. A nested dict may carry
more keys than its type names (TypedDicts are structural); the templates read only those named.

- `common`: what every context carries (`Base`) and the shapes several templates share;
- `participant_mail`: answers to a person's own mail (welcome, help, status, confirmation, …);
- `round_mail`: the round's mail to participants (introduction, topics, nudges, survey, …);
- `coordinator_mail`: mail to the coordinators (proposal, digest, final report, …), English only;
- `catalogue`: template name → contract, and which templates are coordinator-only;
- `samples`: the sample contexts, built from the contracts so mypy checks them.

Must not: do I/O.
"""
