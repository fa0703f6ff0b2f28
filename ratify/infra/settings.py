"""Every setting of Ratify, from the environment (or a `.env` file) via pydantic-settings.

Defaults are the embedded ones: a SQLite event store and a Temporal dev server, both kept
under `./data`. Production sets `RATIFY_DATABASE_URL` to PostgreSQL and `TEMPORAL_ADDRESS`
to the cluster's frontend.
"""

from __future__ import annotations

import os
import re
import stat
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.client import HeaderCodecBehavior
from temporalio.converter import DataConverter

from domain.bounds import EARLIEST_DATE, LATEST_DATE
from ratify.infra.payloads import data_converter, parse_keys
from ratify.infra.signing import ActionKeys, embedded_keys, parse_signing_keys


class Settings(BaseSettings):
    # A bad value is named, never echoed: several settings are secrets (keys, passwords).
    model_config = SettingsConfigDict(
        env_prefix="RATIFY_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    data_dir: Path = Path("data")
    #: The event store. Default: SQLite in WAL mode under data_dir.
    database_url: str | None = None
    #: host:port of a Temporal frontend. Unset: start the bundled dev server.
    temporal_address: str | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_ADDRESS", "RATIFY_TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = "default"
    task_queue: str = "ratify"
    #: Ports of the bundled dev server and its Web UI.
    dev_server_port: int = Field(default=7233, ge=1, le=65535)
    dev_server_ui_port: int = Field(default=8233, ge=1, le=65535)
    #: Reminders go out this many working days before a required-by date.
    reminder_working_days: list[int] = Field(default_factory=lambda: [5, 1])
    #: The user who decides when the DMPC declares an interest.
    alternate_decision_maker: str = "alternate.decision.maker"
    #: The first PCD number to allocate on a new store.
    first_reference: int = Field(default=1, ge=1)
    #: The window of the dates a person can write (required-by, review, meeting, delegation
    #: dates, `as_of`...): anything outside is refused at the API, pages and CLI with 422.
    earliest_date: date = EARLIEST_DATE
    latest_date: date = LATEST_DATE
    #: Migrate the event store when the worker starts (embedded use). Production runs
    #: migrations as a job instead and sets this to false.
    migrate_on_start: bool = True
    #: E-mail notifications: unset host means none (they are still recorded and logged).
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = "ratify@localhost"
    #: Role -> shared mailbox, e.g. {"finance_adviser": "finance-team@example.org"}.
    role_mailboxes: dict[str, str] = Field(default_factory=dict)
    #: Signs the web sign-in's session cookie (32 characters or more; e.g. the output of
    #: `python -c "import secrets; print(secrets.token_urlsafe(48))"`). Unset: a random
    #: secret is made at start, so sessions end when the API restarts, and API processes
    #: do not accept each other's sessions. Set it in production.
    session_secret: SecretStr | None = None
    #: Keys that encrypt every payload Ratify puts in Temporal (the case and its Part 2
    #: stay in workflow histories): `id:base64key[,id:base64key...]`, the first encrypts,
    #: all decrypt (see ratify/infra/payloads.py). Unset: payloads are plain JSON. Set it in
    #: production, the same on every worker and API process.
    payload_keys: SecretStr | None = None
    #: The longest a delegation to a deputy may last, in days, first and last included.
    delegation_max_days: int = Field(default=90, ge=1, le=366)
    #: Signs every action the API (and the worker, for a meeting's steps) sends to a
    #: workflow; workflows refuse an action without a valid proof (see ratify/infra/signing.py):
    #: `id:base64key[,id:base64key...]`, 32 random bytes or more each, the first signs, all
    #: verify. The same on every worker and API process. Unset without TEMPORAL_ADDRESS: a
    #: key made once in data_dir (action-signing.key, mode 0600). Required with it.
    action_signing_key: SecretStr | None = None
    #: TLS to the Temporal frontend: on when true, or when any of the files below is set.
    temporal_tls: bool = False
    #: PEM file of the CA that signed the frontend's certificate (unset: the system's CAs).
    temporal_tls_ca: Path | None = None
    #: PEM files of this process's client certificate and its key, for mutual TLS.
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    #: The name the frontend's certificate is checked against (and SNI), when it is not
    #: the host of TEMPORAL_ADDRESS.
    temporal_tls_server_name: str | None = None
    #: How long a web session lasts, in seconds (default 8 hours).
    session_max_age: int = Field(default=8 * 3600, ge=60, le=7 * 24 * 3600)
    #: Leave the Secure flag off the session cookie, for plain http. Unset: off only on the
    #: embedded defaults (no RATIFY_DATABASE_URL and no TEMPORAL_ADDRESS, i.e. `make run`
    #: on one machine); Secure everywhere else.
    insecure_cookies: bool | None = None
    #: Throttling of password sign-ins (docs/signing-in.md). Per user id tried, in the
    #: database (so it holds across API processes): the first `free_attempts` failures cost
    #: nothing, then each attempt waits `delay_seconds` after the last failure, doubling
    #: with each further one (at most `max_delay_seconds`); at `lockout_after` failures the
    #: user id is locked for `lockout_seconds` (`ratify users unlock` lifts it).
    sign_in_free_attempts: int = Field(default=3, ge=0, le=100)
    sign_in_delay_seconds: float = Field(default=1.0, ge=0, le=3600)
    sign_in_max_delay_seconds: float = Field(default=60.0, ge=0, le=24 * 3600)
    sign_in_lockout_after: int = Field(default=10, ge=1, le=1000)
    sign_in_lockout_seconds: int = Field(default=15 * 60, ge=1, le=7 * 24 * 3600)
    #: Failed password sign-ins allowed per client address, in this API process (a moving
    #: window, `limits` notation: "20/minute", "20/minute;200/hour").
    sign_in_address_limit: str = "20/minute"
    #: Password hashes (argon2, 64 MiB each) run at once per API process; an attempt waits
    #: at most `password_hash_wait_seconds` for its turn, else 503 `busy`.
    password_hash_concurrency: int = Field(default=4, ge=1, le=64)
    password_hash_wait_seconds: float = Field(default=5.0, gt=0, le=60)
    #: OIDC sign-in (bearer JWTs from the provider): off while the issuer is unset. With it,
    #: the audience and the JWKS URL are required.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    #: The token claim holding the Ratify user id.
    oidc_user_claim: str = "preferred_username"
    #: Clock skew allowed on `exp` and `nbf`, in seconds.
    oidc_leeway: int = Field(default=60, ge=0, le=600)
    #: "Sign in with your organisation" on the web pages (authorization code flow with
    #: PKCE, see ratify/http/oidc_login.py): on when the issuer and the client id are set.
    #: The client id Ratify is registered under at the provider (the ID token's audience).
    oidc_client_id: str | None = Field(default=None, max_length=500)
    #: Its secret, for a confidential client; unset for a public client (PKCE only).
    oidc_client_secret: SecretStr | None = None
    #: The callback registered at the provider, e.g.
    #: https://ratify.example.org/ui/sign-in/oidc/callback. Unset: derived from the request.
    oidc_redirect_url: str | None = Field(default=None, max_length=2000)
    #: Scopes asked for, space-separated; `openid` is required.
    oidc_scopes: str = Field(default="openid profile", max_length=500)
    #: Link a provider subject to the Ratify user its RATIFY_OIDC_USER_CLAIM names, on that
    #: person's first sign-in (only an active user with no link at the issuer yet). Off:
    #: only an administrator links (`ratify users link-oidc USER --subject SUB`).
    oidc_link_by_claim: bool = False

    # -- operating (see ratify/infra/observability) ---------------------------------------
    #: Log lines as JSON (one object per line) or for the console, on stderr. Unset: console
    #: on the embedded defaults, JSON everywhere else.
    log_format: Literal["json", "console"] | None = None
    #: The lowest level logged.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: Port of the Prometheus metrics endpoint (`GET /metrics`) of `ratify worker` and
    #: `ratify projector` (the API serves its own on its port); 0 turns it off.
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    #: Interface of that endpoint. Unset: 127.0.0.1 on the embedded defaults, else 0.0.0.0.
    metrics_host: str | None = None
    #: OpenTelemetry tracing. Unset: on when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    otel: bool | None = None
    #: Where spans go: `otlp` (the OTEL_EXPORTER_OTLP_* variables; needs the OTLP exporter
    #: package), `console` (stdout) or `none`. Unset: otlp when OTEL_EXPORTER_OTLP_ENDPOINT
    #: is set, else console.
    otel_exporter: Literal["otlp", "console", "none"] | None = None
    otlp_endpoint: str | None = Field(
        default=None, validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    #: On SIGTERM/SIGINT the worker stops polling and lets running activities finish for
    #: this long before cancelling them; the API lets open requests finish for as long.
    graceful_shutdown_seconds: float = Field(default=30.0, ge=0, le=3600)
    #: How often `ratify projector` looks for new events, in seconds.
    projector_poll_seconds: float = Field(default=1.0, gt=0, le=300)

    @field_validator("reminder_working_days")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if any(d < 1 for d in value):
            raise ValueError("reminder_working_days must be whole working days, 1 or more")
        return sorted(set(value), reverse=True)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("session_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("session_secret must be at least 32 characters (random)")
        return value

    @field_validator("sign_in_address_limit")
    @classmethod
    def _limit_parses(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise ValueError(
                "sign_in_address_limit must be a rate such as 20/minute or 20/minute;200/hour"
            ) from None
        return value

    @field_validator("payload_keys")
    @classmethod
    def _keys_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_keys(value.get_secret_value())  # PayloadKeyError names the entry
        return value

    @field_validator("action_signing_key")
    @classmethod
    def _signing_keys_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_signing_keys(value.get_secret_value())  # SigningKeyError names the entry
        return value

    def action_keys(self) -> ActionKeys:
        """The keys that sign and verify actions: RATIFY_ACTION_SIGNING_KEY, else (only
        without TEMPORAL_ADDRESS) the embedded key kept in data_dir."""
        if self.action_signing_key is not None:
            return parse_signing_keys(self.action_signing_key.get_secret_value())
        if self.temporal_address:
            raise ValueError("RATIFY_ACTION_SIGNING_KEY is not set (TEMPORAL_ADDRESS is)")
        return embedded_keys(self.data_dir)

    @property
    def missing_temporal_secrets(self) -> list[str]:
        """The variables a process talking to a Temporal of its own (TEMPORAL_ADDRESS set)
        must have and lacks: without them Part 2 is plain text in Temporal, and anyone who
        reaches the frontend could act as anyone."""
        if not self.temporal_address:
            return []
        return [
            name
            for name, value in (
                ("RATIFY_PAYLOAD_KEYS", self.payload_keys),
                ("RATIFY_ACTION_SIGNING_KEY", self.action_signing_key),
            )
            if value is None
        ]

    @property
    def temporal_tls_on(self) -> bool:
        return self.temporal_tls or any(
            v is not None
            for v in (
                self.temporal_tls_ca,
                self.temporal_tls_cert,
                self.temporal_tls_key,
                self.temporal_tls_server_name,
            )
        )

    @property
    def header_codec(self) -> HeaderCodecBehavior:
        """With payload keys, Temporal headers (the request context, the action's proof)
        are encrypted like every payload."""
        if self.payload_keys is None:
            return HeaderCodecBehavior.NO_CODEC
        return HeaderCodecBehavior.CODEC

    def data_converter(self) -> DataConverter:
        """The converter every Temporal client of Ratify uses (encrypting with keys)."""
        keys = self.payload_keys.get_secret_value() if self.payload_keys is not None else None
        return data_converter(keys)

    @model_validator(mode="after")
    def _date_window(self) -> Settings:
        if self.latest_date <= self.earliest_date:
            raise ValueError("RATIFY_LATEST_DATE must be after RATIFY_EARLIEST_DATE")
        if self.earliest_date.year < 1900 or self.latest_date.year > 2999:
            raise ValueError(
                "RATIFY_EARLIEST_DATE and RATIFY_LATEST_DATE must lie between 1900 and 2999"
            )
        return self

    @model_validator(mode="after")
    def _distinct_keys(self) -> Settings:
        if self.action_signing_key is None or self.payload_keys is None:
            return self
        signing = {
            key for _, key in parse_signing_keys(self.action_signing_key.get_secret_value()).keys
        }
        sealing = set(parse_keys(self.payload_keys.get_secret_value()).values())
        if signing & sealing:
            raise ValueError(
                "RATIFY_ACTION_SIGNING_KEY must not reuse a key of RATIFY_PAYLOAD_KEYS: make "
                "another one (ratify payload-key ID)"
            )
        return self

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            raise ValueError(
                "RATIFY_TEMPORAL_TLS_CERT and RATIFY_TEMPORAL_TLS_KEY go together (mutual "
                "TLS): set both or neither"
            )
        return self

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        bearer = bool(self.oidc_audience or self.oidc_jwks_url)
        if self.oidc_issuer:
            missing = [
                name
                for name, value in (
                    ("RATIFY_OIDC_AUDIENCE", self.oidc_audience),
                    ("RATIFY_OIDC_JWKS_URL", self.oidc_jwks_url),
                )
                if not value
            ]
            if bearer and missing:
                raise ValueError(
                    "RATIFY_OIDC_ISSUER is set, so OIDC sign-in is on: set "
                    f"{' and '.join(missing)} (bearer tokens)"
                )
            if not bearer and not self.oidc_client_id:
                raise ValueError(
                    "RATIFY_OIDC_ISSUER is set, so OIDC sign-in is on: set "
                    "RATIFY_OIDC_AUDIENCE and RATIFY_OIDC_JWKS_URL (bearer tokens), or "
                    "RATIFY_OIDC_CLIENT_ID (the web pages' sign-in), or both"
                )
        elif self.oidc_client_id:
            raise ValueError(
                "RATIFY_OIDC_CLIENT_ID is set: set RATIFY_OIDC_ISSUER to the provider's issuer"
            )
        if "openid" not in self.oidc_scopes.split():
            raise ValueError("RATIFY_OIDC_SCOPES must include openid (an OIDC sign-in)")
        return self

    @property
    def oidc_bearer(self) -> bool:
        """Whether bearer JWTs from the provider are accepted (issuer, audience, JWKS)."""
        return bool(self.oidc_issuer and self.oidc_audience and self.oidc_jwks_url)

    @property
    def oidc_web_sign_in(self) -> bool:
        """Whether the pages offer "Sign in with your organisation" (issuer, client id)."""
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def embedded(self) -> bool:
        """True on the embedded defaults: SQLite under data_dir and the bundled dev server."""
        return not self.database_url and not self.temporal_address

    @property
    def uses_data_dir(self) -> bool:
        """Whether anything is kept under data_dir: the SQLite store or the dev server's."""
        return not self.database_url or not self.temporal_address

    def prepare_data_dir(self) -> list[Path]:
        """Create data_dir private to the user (see `private_data_dir`)."""
        return private_data_dir(self.data_dir)

    @property
    def logs_as_json(self) -> bool:
        if self.log_format is not None:
            return self.log_format == "json"
        return not self.embedded

    @property
    def metrics_interface(self) -> str:
        if self.metrics_host:
            return self.metrics_host
        return "127.0.0.1" if self.embedded else "0.0.0.0"

    @property
    def tracing(self) -> bool:
        if self.otel is not None:
            return self.otel
        return bool(self.otlp_endpoint)

    @property
    def tracing_exporter(self) -> str:
        if self.otel_exporter is not None:
            return self.otel_exporter
        return "otlp" if self.otlp_endpoint else "console"

    @property
    def secure_cookies(self) -> bool:
        """Whether the session cookie carries the Secure flag (see `insecure_cookies`)."""
        if self.insecure_cookies is not None:
            return not self.insecure_cookies
        return not self.embedded

    @property
    def event_store_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'ratify.db').resolve()}"

    @property
    def dev_server_db(self) -> Path:
        return (self.data_dir / "temporal.db").resolve()


#: The data directory and Ratify's files in it are the user's alone: they hold Part 2 text,
#: password and token hashes, Temporal's histories and keys.
PRIVATE_DIR_MODE = 0o700
PRIVATE_UMASK = 0o077
#: Ratify's files in the data directory, by name: the SQLite stores (with their `-wal`,
#: `-shm` and `-journal`), the dev server's pid file, and keys (`*.key`). Nothing else
#: there is touched, in case the directory is shared.
_PRIVATE_FILES = re.compile(
    r"^(ratify|temporal)\.db(-wal|-shm|-journal)?$|^temporal-dev-server\.pid$|\.key$"
)


def private_data_dir(directory: Path) -> list[Path]:
    """Make `directory` (the embedded data directory) private to the user, and Ratify's files.

    Creates it 0700 if missing; where group or others may use it, takes their access away
    from it and from Ratify's files in it (the SQLite files `ratify.db` and `temporal.db`
    with their `-wal` and `-shm`, the dev server's pid file, `*.key` files). Sets the
    process's umask to 077, so that every file this process and the processes it starts
    (the dev server) create from now on is private too. Returns the paths it tightened
    (the caller says so).
    """
    os.umask(PRIVATE_UMASK)
    directory.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    candidates = [directory]
    candidates += sorted(
        p for p in directory.iterdir() if _PRIVATE_FILES.search(p.name) and p.is_file()
    )
    tightened: list[Path] = []
    for path in candidates:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & ~0o077)
            tightened.append(path)
    return tightened


def load_settings() -> Settings:
    """Read the settings, turning a bad value into an error that names the variable."""
    return Settings()
