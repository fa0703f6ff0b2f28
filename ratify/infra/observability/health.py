"""Readiness: whether the database and Temporal answer, each within a bound.

`/healthz` answers 200 while the process lives; `/readyz` (see `readiness`) answers 503
naming what is down, so a load balancer stops sending requests the API cannot serve while
the process stays up to recover by itself.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine
from temporalio.client import Client

log = structlog.get_logger("ratify.health")

#: How long each check may take before it counts as down.
CHECK_TIMEOUT = 3.0


def _select_one(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


async def check_database(engine: Engine, timeout: float = CHECK_TIMEOUT) -> str:
    try:
        await asyncio.wait_for(asyncio.to_thread(_select_one, engine), timeout)
    except TimeoutError:
        log.warning("database not ready", reason=f"no answer in {timeout:g} s")
        return "down: timeout"
    except Exception as exc:
        log.warning("database not ready", error=str(exc).splitlines()[0] if str(exc) else "")
        return f"down: {type(exc).__name__}"
    return "ok"


async def check_temporal(client: Client, timeout: float = CHECK_TIMEOUT) -> str:
    try:
        serving = await asyncio.wait_for(
            client.service_client.check_health(timeout=timedelta(seconds=timeout)), timeout + 1
        )
    except TimeoutError:
        log.warning("temporal not ready", reason=f"no answer in {timeout:g} s")
        return "down: timeout"
    except Exception as exc:
        log.warning("temporal not ready", error=str(exc).splitlines()[0] if str(exc) else "")
        return f"down: {type(exc).__name__}"
    return "ok" if serving else "down: not serving"


async def readiness(engine: Engine, client: Client) -> dict[str, str]:
    """`{"database": "ok" | "down: ...", "temporal": "ok" | "down: ..."}`."""
    database, temporal = await asyncio.gather(check_database(engine), check_temporal(client))
    return {"database": database, "temporal": temporal}
