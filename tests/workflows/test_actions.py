"""The catalogue of actions is the workflows' own list: every action it names is an update
its workflow declares, taking the action's message, and every step a person can take on a
decision is in it (so the API, the pages and the CLI, which read it, offer every one)."""

from __future__ import annotations

from temporalio import workflow

from workflows import messages as m
from workflows.actions import CATALOGUE, Workflow
from workflows.decision import DecisionWorkflow
from workflows.part2 import Part2ReviewWorkflow

WORKFLOW_CLASSES = {Workflow.DECISION: DecisionWorkflow, Workflow.PART2_REVIEW: Part2ReviewWorkflow}


def _updates(cls: type) -> dict[str, list[type]]:
    definition = workflow._Definition.from_class(cls)
    assert definition is not None
    return {
        name: list(u.arg_types or []) for name, u in definition.updates.items() if name is not None
    }


def test_every_action_is_an_update_of_its_workflow_taking_its_message():
    for spec in CATALOGUE.values():
        updates = _updates(WORKFLOW_CLASSES[spec.workflow])
        assert updates.get(spec.update) == [spec.message], spec.name


def test_every_step_a_person_takes_on_a_decision_is_in_the_catalogue():
    taken = {s.update for s in CATALOGUE.values() if s.workflow is Workflow.DECISION}
    person_steps = {
        name
        for name, args in _updates(DecisionWorkflow).items()
        if args and issubclass(args[0], m.Action)
    }
    assert person_steps == taken


def test_an_action_offers_the_fields_its_message_takes():
    changes = CATALOGUE["request_changes"]
    assert changes.fields == ("area", "reasons", "sections")
    assert changes.typed_fields == (("area", False), ("reasons", True), ("sections", True))
    assert changes.required == ("area", "reasons")
    # A whole document is not typed into a field: the revised case, the redactions.
    assert CATALOGUE["revise"].typed_fields == (("note", False),)
    assert "redactions" not in dict(CATALOGUE["review_part2"].typed_fields)
    assert CATALOGUE["decide"].event_types == ("decision.approved", "decision.declined")
