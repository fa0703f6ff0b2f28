"""ratify.services.replay.replay_workflows: the live histories replay against the current code."""

from __future__ import annotations

from datetime import timedelta

from ratify.services.replay import replay_workflows, workflow_ids
from tests import factories as f
from tests.workflows.lifecycle import Harness
from tests.workflows.test_decision import BASIC, approve_as_dmpc
from tests.workflows.test_replay import _AddAnActivity


async def test_every_decision_and_review_replays_and_a_breaking_change_names_them(
    harness: Harness,
):
    today = await harness.today()
    part2 = {
        "security_marking": "OFFICIAL-SENSITIVE [COMMERCIAL]",
        "foi_sections": ["s43 Commercial interests"],
        "review_on": (today + timedelta(days=400)).isoformat(),
        "content": "Prices.",
    }
    approved = await harness.start(f.make_case(part2=part2))
    await harness.through_advice(approved, BASIC)
    await approve_as_dmpc(approved)
    open_case = await harness.start()
    ids = workflow_ids(harness.store)
    assert ids[:2] == [approved.case_id, open_case.case_id]
    replayed, failures = await replay_workflows(harness.env.client, ids)
    assert (replayed, failures) == (3, {})  # two decisions and one Part 2 review
    replayed, failures = await replay_workflows(
        harness.env.client, ids, interceptors=[_AddAnActivity()]
    )
    # The finished decision cannot replay with an activity added before its first; each
    # failure names its workflow. (Runs still open end in a task not yet completed, where
    # an extra command at the end is not a divergence the replayer can see.)
    assert approved.case_id in failures and set(failures) <= set(ids)
    assert "nondetermin" in failures[approved.case_id].lower()
