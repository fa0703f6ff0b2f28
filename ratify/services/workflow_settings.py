"""What a new decision workflow is started with, from the environment's settings.

The settings (`ratify.infra.settings`) know nothing of the workflows; the processes build the
`workflows.messages.Settings` that `ratify.services.commands.start_case` starts a case with
here. A workflow keeps them for its life.
"""

from __future__ import annotations

from ratify.infra.settings import Settings
from workflows import messages as m


def workflow_settings(settings: Settings) -> m.Settings:
    """What a new decision workflow is started with (fixed for its life)."""
    return m.Settings(
        reminder_working_days=settings.reminder_working_days,
        alternate_decision_maker=settings.alternate_decision_maker,
        first_reference=settings.first_reference,
    )
