"""The decision workflow end to end: every stage, refusals, and the state equals the store."""

from __future__ import annotations

from domain.state import Stage
from tests import factories as f
from tests.workflows.lifecycle import Harness
from workflows import messages as m

BASIC = [(f.FINANCE, "finance"), (f.LEGAL, "legal"), (f.EQUALITIES, "equalities")]


async def test_a_small_case_goes_from_draft_to_approved_and_published(harness: Harness):
    run = await harness.start()
    await harness.through_advice(run, BASIC)
    assert (await run.state()).stage is Stage.CHIEF_EXECUTIVE
    await run.act("consult_chief_executive", m.ConsultChiefExecutive(actor=f.CEO))
    await run.act("declare_interests", m.DeclareInterests(actor=f.DMPC, has_interest=False))
    result = await run.act("decide", m.Decide(actor=f.DMPC, approve=True, comment="Approved."))
    assert [e.event_type for e in result.events] == ["decision.approved"]
    outcome = await run.outcome()
    assert outcome.reference == "PCD 1"
    assert run.event_types()[-2:] == ["decision.approved", "publication.part1_published"]
    await run.assert_matches_store()
