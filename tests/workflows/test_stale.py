"""The looser staleness check (`expected_revision`): a step is refused as stale only when
what it depends on changed since the person's page was loaded (the papers were revised, the
stage moved on, their own task was done), never because another person acted meanwhile."""

from __future__ import annotations

from domain.case import Case
from domain.state import Stage
from tests import factories as f
from tests.workflows.lifecycle import Harness
from workflows import messages as m


async def test_another_advisers_sign_off_is_not_a_change_but_a_revision_is(harness: Harness):
    run = await harness.start()
    await harness.through_advice(run, [])
    loaded = await run.state()
    seen = {"expected_revision": loaded.case_revision, "expected_stage": Stage.ADVICE}
    await run.act("sign_off", m.SignOff(actor=f.FINANCE, area="finance", **seen))
    # the legal adviser loaded the page before finance signed: not stale
    await run.act(
        "sign_off",
        m.SignOff(
            actor=f.LEGAL,
            area="legal",
            comment="Read in full.",
            expected_task="sign_off:legal",
            **seen,
        ),
    )
    # the strict check refuses the same kind of step
    msg = await run.refused(
        "sign_off",
        m.SignOff(actor=f.EQUALITIES, area="equalities", expected_version=loaded.version),
        "stale",
    )
    assert "it is now at version" in msg
    # the papers are revised: a step from the page loaded before is stale, saying why
    await run.act(
        "request_changes",
        m.RequestChanges(actor=f.EQUALITIES, area="equalities", reasons=["Name the EIA."]),
    )
    case = (await run.state()).case
    assert case is not None
    data = case.model_dump()
    data["equality_comments"] = "An EIA was completed on 1 March."
    await run.act("revise", m.Revise(actor=f.OFFICER, case=Case.model_validate(data)))
    msg = await run.refused(
        "request_changes",
        m.RequestChanges(actor=f.LEGAL, area="legal", reasons=["Cite 4.8"], **seen),
        "stale",
    )
    assert msg.startswith("the case has changed since you loaded the page: the papers were")
    assert f"you read revision {loaded.case_revision}; they are now at revision" in msg
    # a task done since the page was loaded is named
    now = await run.state()
    again = {"expected_revision": now.case_revision, "expected_task": "sign_off:finance"}
    msg = await run.refused(
        "sign_off", m.SignOff(actor=f.FINANCE, area="finance", **again), "stale"
    )
    assert "your task (sign off:finance) was done or withdrawn" in msg
    # the stage moved on from the one the page showed
    msg = await run.refused(
        "withdraw",
        m.Withdraw(
            actor=f.OFFICER,
            reason="No longer needed",
            expected_revision=now.case_revision,
            expected_stage=Stage.DRAFT,
        ),
        "stale",
    )
    assert "it moved on from in draft and is now collecting advice and sign-offs" in msg
    await run.assert_matches_store()
