"""The accessibility scan of the browser tests: axe-core over each page state they reach.

`axe-playwright-python` ships axe-core's `axe.min.js` in the package, so the scan runs
offline: the script is evaluated in the page, nothing is fetched. A test calls its `AxeScan`
at each state it reaches (a page loaded, a form refused with its errors, a step recorded);
each distinct state (address and content) is scanned once, and `assert_clean` fails the test
on any serious or critical violation, naming the rule, the page and the elements.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]

#: The impacts that fail a test; minor and moderate ones are reported by axe, not refused.
FAILING = frozenset({"serious", "critical"})


@dataclass
class AxeScan:
    """Scans page states and keeps what fails, to report every page's findings at once."""

    axe: Any = field(default_factory=Axe)
    seen: set[str] = field(default_factory=set)
    findings: list[str] = field(default_factory=list)
    scanned: int = 0

    def __call__(self, page: Any, state: str = "") -> None:
        """Scan the page as it is now (once per distinct address and content)."""
        page.wait_for_load_state()
        key = page.url + "\0" + hashlib.sha256(page.content().encode()).hexdigest()
        if key in self.seen:
            return
        self.seen.add(key)
        self.scanned += 1
        results = self.axe.run(page).response
        where = f"{page.url}{f' ({state})' if state else ''}"
        for v in results["violations"]:
            if v.get("impact") in FAILING:
                targets = ", ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:5])
                self.findings.append(f"{where}: {v['id']} ({v['impact']}): {v['help']}: {targets}")

    def assert_clean(self) -> None:
        assert self.scanned, "no page state was scanned"
        assert not self.findings, "accessibility (axe-core):\n" + "\n".join(self.findings)
