"""Every setting of Ratify, from the environment (or a `.env` file) via pydantic-settings.

Defaults are the embedded ones: a SQLite event store and a Temporal dev server, both kept
under `./data`. Production sets `RATIFY_DATABASE_URL` to PostgreSQL and `TEMPORAL_ADDRESS`
to the cluster's frontend.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workflows.messages import Settings as WorkflowSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RATIFY_", env_file=".env", extra="ignore")

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
    #: Migrate the event store when the worker starts (embedded use). Production runs
    #: migrations as a job instead and sets this to false.
    migrate_on_start: bool = True
    #: E-mail notifications: unset host means none (they are still recorded and logged).
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = "ratify@localhost"
    #: Role -> shared mailbox, e.g. {"finance_adviser": "finance-team@example.org"}.
    role_mailboxes: dict[str, str] = Field(default_factory=dict)

    @field_validator("reminder_working_days")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if any(d < 1 for d in value):
            raise ValueError("reminder_working_days must be whole working days, 1 or more")
        return sorted(set(value), reverse=True)

    def workflow_settings(self) -> WorkflowSettings:
        """What a new decision workflow is started with (fixed for its life)."""
        return WorkflowSettings(
            reminder_working_days=self.reminder_working_days,
            alternate_decision_maker=self.alternate_decision_maker,
            first_reference=self.first_reference,
        )

    @property
    def event_store_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'ratify.db').resolve()}"

    @property
    def dev_server_db(self) -> Path:
        return (self.data_dir / "temporal.db").resolve()


def load_settings() -> Settings:
    """Read the settings, turning a bad value into an error that names the variable."""
    return Settings()
