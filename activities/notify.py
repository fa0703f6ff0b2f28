"""Notifications (new task, reminder, escalation) behind one interface.

By default a notification is recorded in the event store (stream `notifications-<case>`,
event `notification.sent`) and written to the log; configure SMTP (`RATIFY_SMTP_HOST`, and
a mailbox per role in `RATIFY_ROLE_MAILBOXES`) to e-mail it as well. The notification id
comes from the workflow, so a retried activity records it once; e-mail is sent at least
once: a crash after sending and before recording sends it again on the retry.
"""

from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage
from typing import Protocol

import structlog
from temporalio import activity

from domain.ids import notification_stream
from eventstore import ConcurrencyConflict, EventStore, NewEvent
from ratify.infra.observability import metrics
from workflows import activity_names as names
from workflows.messages import Notification

log = structlog.get_logger("ratify.notify")

NOTIFICATION_EVENT = "notification.sent"


class Channel(Protocol):
    """A way to reach people: e-mail, chat, ..."""

    def send(self, notification: Notification) -> None: ...


class SmtpChannel:
    """E-mail to the shared mailbox of the role (e.g. the finance team's)."""

    def __init__(self, host: str, port: int, sender: str, mailboxes: dict[str, str]) -> None:
        self.host, self.port, self.sender, self.mailboxes = host, port, sender, mailboxes

    def send(self, notification: Notification) -> None:
        to = self.mailboxes.get(notification.to_role.value)
        if to is None:
            log.warning("no mailbox for role", role=notification.to_role.value)
            return
        message = EmailMessage()
        message["From"], message["To"] = self.sender, to
        message["Subject"] = notification.subject
        message["Message-ID"] = f"<{notification.notification_id}@ratify>"
        message.set_content(notification.body)
        with smtplib.SMTP(self.host, self.port, timeout=30) as smtp:
            smtp.send_message(message)


class NotifyActivities:
    """Records every notification, logs it, and passes it to the configured channels."""

    def __init__(self, store: EventStore, channels: list[Channel] | None = None) -> None:
        self.store = store
        self.channels = channels or []

    def _recorded(self, notification: Notification) -> bool:
        stream = self.store.read_stream(notification_stream(notification.case_id))
        return any(e.event_id == notification.notification_id for e in stream)

    def _record(self, notification: Notification) -> None:
        stream = notification_stream(notification.case_id)
        event = NewEvent(
            event_id=notification.notification_id,
            event_type=NOTIFICATION_EVENT,
            schema_version=1,
            occurred_at=notification.occurred_at,
            actor_id="ratify",
            actor_role="system",
            data=notification.model_dump(mode="json", exclude={"notification_id", "occurred_at"}),
        )
        started = time.perf_counter()
        try:
            for _ in range(20):
                try:
                    self.store.append(stream, self.store.stream_version(stream), [event])
                    return
                except ConcurrencyConflict:
                    continue
        finally:
            metrics.APPEND_SECONDS.labels(activity=names.NOTIFY).observe(
                time.perf_counter() - started
            )
        raise RuntimeError(f"could not record notification {notification.notification_id}")

    @activity.defn(name=names.NOTIFY)
    def notify(self, notification: Notification) -> None:
        if self._recorded(notification):
            return
        for channel in self.channels:
            channel.send(notification)
        self._record(notification)
        log.info(
            "notification",
            case_id=notification.case_id,
            kind=notification.kind,
            to_role=notification.to_role.value,
            to_user=notification.to_user,
            subject=notification.subject,
        )
