"""`checks_of`: the read the case page, the API and the CLI share: each current check with
its acknowledgement, and acknowledgements a revision left behind as history."""

from __future__ import annotations

from datetime import date

from domain import events as ev
from domain.clock import london_date
from ratify.services.checks import checks_of
from tests.domain.test_fold_checks import acknowledge, drafted, the_check
from tests.factories import OFFICER


def test_an_acknowledgement_shows_until_a_revision_changes_the_facts():
    s = drafted()
    check = the_check(s)
    s.new(ev.CheckAcknowledged, OFFICER, **acknowledge(s, check))
    today = london_date(s.clock.now)
    view = checks_of(s.state, today)
    assert (view.open, view.stage, view.judged_on) == (0, "draft", today)
    [shown] = view.checks
    assert shown.key == check.key and not shown.open
    assert shown.acknowledgement is not None and shown.acknowledgement.by == OFFICER.user_id
    assert view.earlier_acknowledgements == []

    data = s.case.model_dump(mode="json")
    data["recommendations"][0]["amount"] = "640000"
    s.new(ev.CaseRevised, OFFICER, case=s.case.model_validate(data))
    view = checks_of(s.state, today)
    assert view.open == 1 and view.checks[0].acknowledgement is None
    assert "£640,000" in view.checks[0].message
    [earlier] = view.earlier_acknowledgements
    assert (earlier.check, earlier.message) == (check.key, check.message)


def test_no_scheme_in_force_is_said_instead_of_failing():
    s = drafted()
    view = checks_of(s.state, date(1995, 1, 1))
    assert view.checks == [] and view.problem
