"""Connecting to Temporal: the configured server (with TLS and the keys), or the bundled dev
server started for this process.

Every process that talks to Temporal (the worker, the API, `ratify serve`, the auditors'
commands) connects through `connect`, so each carries the same interceptors, payload codec
and action signer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import structlog
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client, Interceptor
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode, TLSConfig
from temporalio.testing import WorkflowEnvironment

from ratify.infra import devserver
from ratify.infra.devserver import DEV_SERVER_PRAGMAS, bin_path, port_in_use
from ratify.infra.observability.interceptors import client_interceptors
from ratify.infra.observability.startup import BAD_CONFIGURATION, StartupError
from ratify.infra.settings import Settings
from ratify.infra.signing import ActionSigner

log = structlog.get_logger("ratify.worker")


def _unreachable(exc: Exception) -> str:
    """The gist of the SDK's connection error, on one line."""
    text = str(exc)
    found = re.search(r'message: "([^"]+)"', text)
    if found:
        return found.group(1)
    if "dns error" in text:
        return "the host name does not resolve"
    return text.splitlines()[0][:200] if text else type(exc).__name__


async def connect(
    settings: Settings,
    stack: AsyncExitStack,
    *,
    runtime: Runtime | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> Client:
    """The configured Temporal server, or the bundled dev server started for this process.

    The client carries Ratify's interceptors, the action signer (`settings.action_keys()`)
    and `interceptors` (e.g. tracing). Missing keys with TEMPORAL_ADDRESS, a bad TLS file,
    a server that cannot be reached, or lacks the namespace, is a StartupError.
    """
    require_temporal_secrets(settings)
    try:
        keys = settings.action_keys()
    except ValueError as exc:  # the embedded key file is unreadable or not a key
        raise StartupError(str(exc), BAD_CONFIGURATION) from None
    all_interceptors = [*client_interceptors(), ActionSigner(keys), *interceptors]
    if settings.temporal_address:
        address = settings.temporal_address
        try:
            client = await Client.connect(
                address,
                namespace=settings.temporal_namespace,
                data_converter=settings.data_converter(),
                interceptors=all_interceptors,
                runtime=runtime,
                tls=temporal_tls(settings),
                header_codec_behavior=settings.header_codec,
            )
        except ValueError as exc:
            raise StartupError(
                f"TEMPORAL_ADDRESS={address!r} is not host:port ({exc})", BAD_CONFIGURATION
            ) from None
        except RuntimeError as exc:
            raise StartupError(
                f"cannot reach Temporal at {address} (TEMPORAL_ADDRESS): {_unreachable(exc)}"
            ) from None
        try:
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=settings.temporal_namespace),
                timeout=timedelta(seconds=10),
            )
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise StartupError(
                    f"Temporal at {address} has no namespace {settings.temporal_namespace!r} "
                    "(RATIFY_TEMPORAL_NAMESPACE)",
                    BAD_CONFIGURATION,
                ) from None
            raise StartupError(
                f"Temporal at {address} does not answer (TEMPORAL_ADDRESS): {exc.message}"
            ) from None
        return client
    private_data_dir(settings)  # the dev server's SQLite files are created private
    binary = bin_path("temporal")
    # A SIGKILLed `ratify serve` could not stop its dev server, which keeps the ports.
    devserver.stop_orphan(settings.data_dir, binary, settings.dev_server_db)
    for name, port in (
        ("RATIFY_DEV_SERVER_PORT", settings.dev_server_port),
        ("RATIFY_DEV_SERVER_UI_PORT", settings.dev_server_ui_port),
    ):
        if port_in_use(port):
            # Without this check the SDK would connect to whatever already listens there.
            raise StartupError(
                f"port {port} ({name}) is already in use: stop the other server, set "
                f"{name} to a free port, or set TEMPORAL_ADDRESS to use that server"
            )
    env = await WorkflowEnvironment.start_local(
        namespace=settings.temporal_namespace,
        data_converter=settings.data_converter(),
        interceptors=all_interceptors,
        runtime=runtime,
        dev_server_existing_path=binary,
        dev_server_startup_timeout=timedelta(seconds=60),
        dev_server_database_filename=str(settings.dev_server_db),
        dev_server_extra_args=DEV_SERVER_PRAGMAS,
        port=settings.dev_server_port,
        ui=True,
        ui_port=settings.dev_server_ui_port,
    )
    stack.push_async_callback(env.shutdown)
    if devserver.record(settings.data_dir, binary, settings.dev_server_db) is not None:
        stack.callback(devserver.forget, settings.data_dir)  # runs after the shutdown
    print(
        f"Temporal dev server on 127.0.0.1:{settings.dev_server_port}; "
        f"Web UI at http://127.0.0.1:{settings.dev_server_ui_port}",
        flush=True,
    )
    return env.client


def private_data_dir(settings: Settings) -> None:
    """The data directory, private to the user, and what the process creates in it."""
    for path in settings.prepare_data_dir():
        log.warning("made private to its owner (it was open to others)", path=str(path))


def require_temporal_secrets(settings: Settings) -> None:
    """With TEMPORAL_ADDRESS, refuse to start without the payload and signing keys."""
    missing = settings.missing_temporal_secrets
    if missing:
        raise StartupError(
            f"TEMPORAL_ADDRESS is set but {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not: without them Part 2 is plain text "
            "in Temporal and anyone who reaches it can act as anyone (make keys with "
            "`ratify payload-key ID`; the same on every worker and API)",
            BAD_CONFIGURATION,
        )


def _pem(path: Path | None, variable: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise StartupError(
            f"{variable}: cannot read {path} ({exc.strerror})", BAD_CONFIGURATION
        ) from None


def temporal_tls(settings: Settings) -> TLSConfig | bool:
    """TLS to the Temporal frontend from the RATIFY_TEMPORAL_TLS* settings: False when off,
    else the SDK's TLSConfig (CA, client certificate and key for mutual TLS, server name);
    an unreadable file is a StartupError naming its variable."""
    if not settings.temporal_tls_on:
        return False
    return TLSConfig(
        server_root_ca_cert=_pem(settings.temporal_tls_ca, "RATIFY_TEMPORAL_TLS_CA"),
        client_cert=_pem(settings.temporal_tls_cert, "RATIFY_TEMPORAL_TLS_CERT"),
        client_private_key=_pem(settings.temporal_tls_key, "RATIFY_TEMPORAL_TLS_KEY"),
        domain=settings.temporal_tls_server_name,
    )
