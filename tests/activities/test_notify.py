"""Notifications: recorded once in the event store, logged, and e-mailed when SMTP is set."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from activities.notify import NOTIFICATION_EVENT, NotifyActivities, SmtpChannel
from domain.ids import notification_stream
from domain.roles import Role
from eventstore import EventStore
from workflows.messages import Notification


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _notification(**kw: Any) -> Notification:
    data: dict[str, Any] = {
        "notification_id": uuid.uuid4(),
        "case_id": "case-n1",
        "kind": "new_task",
        "to_role": Role.FINANCE_ADVISER,
        "subject": "[Ratify] Test Case: give finance advice",
        "body": "Your task: give or decline finance advice.",
        "occurred_at": datetime(2019, 11, 18, 10, tzinfo=UTC),
    }
    data.update(kw)
    return Notification(**data)


def test_a_notification_is_mailed_to_the_roles_mailbox_and_recorded_once(
    store: EventStore, smtp: tuple[Inbox, int]
):
    inbox, port = smtp
    channel = SmtpChannel(
        "127.0.0.1", port, "ratify@mopac.test", {"finance_adviser": "finance-team@mopac.test"}
    )
    activities = NotifyActivities(store, [channel])
    note = _notification()
    activities.notify(note)
    activities.notify(note)  # the activity retried after a lost reply
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert (mail["To"], mail["Subject"]) == ("finance-team@mopac.test", note.subject)
    assert "give or decline finance advice" in mail.get_payload()
    stored = store.read_stream(notification_stream("case-n1"))
    assert [(e.event_id, e.event_type) for e in stored] == [
        (note.notification_id, NOTIFICATION_EVENT)
    ]
    assert stored[0].data["to_role"] == "finance_adviser"


def test_without_smtp_notifications_are_still_recorded(store: EventStore):
    activities = NotifyActivities(store)
    first, second = _notification(), _notification(kind="reminder")
    activities.notify(first)
    activities.notify(second)
    kinds = [e.data["kind"] for e in store.read_stream(notification_stream("case-n1"))]
    assert kinds == ["new_task", "reminder"]


def test_a_role_without_a_mailbox_is_recorded_but_not_mailed(
    store: EventStore, smtp: tuple[Inbox, int]
):
    inbox, port = smtp
    channel = SmtpChannel("127.0.0.1", port, "ratify@mopac.test", {})
    NotifyActivities(store, [channel]).notify(_notification())
    assert inbox.messages == []
    assert len(store.read_stream(notification_stream("case-n1"))) == 1
