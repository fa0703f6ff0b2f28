"""The window of dates a person can write, as the environment's settings set it.

`DateWindow` is the window (`RATIFY_EARLIEST_DATE`, `RATIFY_LATEST_DATE`; default
1990-01-01 to 2100-12-31, `domain.bounds`): every front door checks the dates people send
against it before anything reaches Temporal or the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.bounds import EARLIEST_DATE, LATEST_DATE, date_problems, dates_outside
from domain.case import Case
from domain.casefile import CaseFileError, CaseFileProblem
from ratify.infra.settings import load_settings


@dataclass(frozen=True)
class DateWindow:
    """The dates a person can write, both ends included."""

    earliest: date = EARLIEST_DATE
    latest: date = LATEST_DATE

    def problems(self, value: Any, path: str = "") -> list[str]:
        """Each date in `value` outside the window, naming its field and the window."""
        return dates_outside(value, self.earliest, self.latest, path=path)

    def check_case_file(self, case: Case, source: str | None) -> None:
        """Raise `CaseFileError` (the case file's own refusal) naming each date of a case
        read from a file that lies outside the window."""
        found = date_problems(case, self.earliest, self.latest)
        if found:
            raise CaseFileError([CaseFileProblem(p, rule) for p, rule in found], source)


def default_window() -> DateWindow:
    """The window of the environment's settings (`RATIFY_EARLIEST_DATE`, `..._LATEST_DATE`)."""
    settings = load_settings()
    return DateWindow(settings.earliest_date, settings.latest_date)
