"""Print the decision workflow's start input for a case file (until the CLI of issue 4).

    python -m ratify.services.caseinput examples/pcd-679-data-environment-solution.yaml \\
        --case-id pcd-679-demo --officer ollie.lane > input.json

The workflow settings (reminder days, alternate decision maker, first PCD number) come
from the environment, as for the worker. A bad case file is refused with each problem
named by field and rule, and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from domain.casefile import CaseFileError, parse_case
from domain.roles import Actor, Role
from ratify.infra.settings import load_settings
from ratify.services.workflow_settings import workflow_settings
from workflows.messages import DecisionInput


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ratify.services.caseinput", description=__doc__
    )
    parser.add_argument("file", type=Path, help="a case file (YAML or JSON)")
    parser.add_argument("--case-id", required=True, help="the new case's id (= workflow id)")
    parser.add_argument("--officer", required=True, help="the originating officer's user id")
    args = parser.parse_args(argv)
    try:
        case = parse_case(args.file.read_text("utf-8"), str(args.file))
    except OSError as exc:
        print(f"{args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except CaseFileError as exc:
        print(exc, file=sys.stderr)
        return 2
    officer = Actor(user_id=args.officer, role=Role.ORIGINATING_OFFICER)
    settings = workflow_settings(load_settings())
    started = DecisionInput(case_id=args.case_id, officer=officer, case=case, settings=settings)
    print(started.model_dump_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
