"""The fold: `state = apply(state, event)`, the one set of lifecycle rules.

The workflows validate an approver's action by folding the event it would write into the
current state; the auditors' replay folds the stored events. Both use this package, so a
step the workflows accept is a step a replay accepts, and the other way round.

An event that cannot happen in the current state raises `DomainError` with a message a
person understands and a stable `code` (wrong_stage, wrong_role, already_done, four_eyes,
interests_not_declared, not_required, illegal_transition).

The rules over *persons* (only the case's own officers revise, submit or withdraw it or
move its required-by date; nobody who drafted, submitted or revised a case advises on it,
confirms it as chief executive or decides it; nobody acts in two of the roles adviser, chief
executive and decision maker on one case, in person or as a deputy) are judged by
`check_people`, which the workflows run on every *new* step (`apply_new`). `apply` keeps the
record they are judged on (`CaseState.participants`) but does not refuse a stored step for
them: histories recorded before the rules existed must still fold and replay.

One fold, in modules read bottom up:

- `guards`: the checks every step makes (stage, role), shared by the appliers;
- `people`: the rules over persons (`four_eyes_rule`, `check_people`, `CAPACITY`);
- the appliers by area, each with its table `APPLIERS` (event type -> how it is applied):
  `drafting` (drafting, submission, revision, withdrawal), `board` (the board's agenda and
  advice, extremis), `advice` (sign-offs), `decision` (chief executive, interests,
  decision), `publication` (Part 1 and the Part 2 review), `required_by` (the required-by
  date and its reminders), `irregularities` (and `check_limits`), `checks` (acknowledging a
  check, and `check_steps`: nothing is submitted with checks open, a rule for new steps
  that `apply_new` applies unless a recorded run's handler says not to);
- `core`: the dispatch table, `apply`, `apply_new` and `fold`.

This module is the fold's interface: what the workflows, the journal, the timeline and the
auditors use.
"""

from domain.fold.core import apply, apply_new, fold
from domain.fold.irregularities import check_limits
from domain.fold.people import check_people

__all__ = ["apply", "apply_new", "check_limits", "check_people", "fold"]
