"""End to end in a real browser: Playwright driving Debian's Chromium against the pages.

The whole stack (time-skipping Temporal, the worker, the projector, SQLite) and uvicorn run
in one background thread with its own event loop, on a free port of 127.0.0.1. An officer
uploads the MetTrace example and submits it; the board secretariat creates today's meeting,
adds the case and records the board's advice; each adviser, the chief executive and the
DMPC act from their inbox; the decision then appears on the public register without its
Part 2. Only the keyboard-and-form path is used: the pages have no JavaScript.

Skipped only when /usr/bin/chromium is missing (CI installs it: `apt-get install -y
chromium`).
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from domain.clock import london_date
from tests.web.axe import AxeScan
from tests.web.conftest import METTRACE_PATH, PART2_TEXT, PASSWORD, Stack, stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        # In CI the browser is installed by .ci/ensure-chromium: there, never skip.
        not CHROMIUM.exists() and os.environ.get("CI") != "true",
        reason="end-to-end browser test needs Debian's Chromium at /usr/bin/chromium "
        "(apt-get install -y chromium)",
    ),
]


class LiveServer:
    """The stack and uvicorn on 127.0.0.1:<free port>, in a thread with its own loop."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.ready = threading.Event()
        self.failed: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stack: Stack | None = None
        self.server: uvicorn.Server | None = None
        self.thread = threading.Thread(target=self._run, name="live-server", daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        if not self.ready.wait(60):
            raise RuntimeError("the live server did not start within 60 s")
        if self.failed is not None:
            raise RuntimeError("the live server failed to start") from self.failed
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self.failed = exc
            self.ready.set()

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        async with stack(self.tmp_path) as s:
            self.stack = s
            projecting = asyncio.create_task(s.projector.run_forever(poll_interval=0.2))
            config = uvicorn.Config(s.app, log_level="warning", lifespan="off", access_log=False)
            self.server = uvicorn.Server(config)
            serving = asyncio.create_task(self.server.serve(sockets=[self.sock]))
            while not self.server.started and not serving.done():
                await asyncio.sleep(0.02)
            self.ready.set()
            try:
                await serving
            finally:
                s.projector.stop()
                await projecting

    def call(self, coroutine: Any) -> Any:
        """Run a coroutine on the server's loop (e.g. to read the workflows' clock)."""
        assert self.loop is not None
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(30)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    with LiveServer(tmp_path) as server:
        yield server


def test_mettrace_from_upload_to_the_public_register_in_a_browser(live: LiveServer):
    from playwright.sync_api import Page, expect, sync_playwright

    assert live.stack is not None
    env = live.stack.env
    axe = AxeScan()  # every page state below is scanned for accessibility

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        expect.set_options(timeout=15_000)

        def signed_in(user: str) -> Page:
            context = browser.new_context(base_url=live.url)
            page = context.new_page()
            page.goto("/ui/")  # sends the visitor to sign in, then back
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
            axe(page, "sign in")
            page.get_by_label("User id").fill(user)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_label("Password").press("Enter")
            expect(page.get_by_role("heading", name="My tasks")).to_be_visible()
            axe(page, f"{user}'s tasks")
            return page

        def done(page: Page, message: str) -> None:
            expect(page.get_by_role("status")).to_have_text(message)
            axe(page, message)

        def open_from_inbox(page: Page, task: str) -> None:
            row = page.get_by_role("row").filter(has_text=task)
            expect(row).to_have_count(1)
            row.get_by_role("link", name="Met Trace").click()
            expect(page.get_by_role("heading", name="Met Trace", exact=True)).to_be_visible()
            axe(page, task)

        # the officer uploads the case file and submits it
        officer = signed_in("ollie.lane")
        officer.get_by_role("link", name="New case", exact=True).click()
        axe(officer, "new case")
        officer.get_by_label("Case file", exact=True).set_input_files(METTRACE_PATH)
        officer.get_by_label("Case id").fill("mettrace")
        officer.get_by_role("button", name="Create the draft").click()
        done(officer, "The draft case was created.")
        expect(officer.get_by_text(PART2_TEXT)).to_be_visible()  # the officer drafted it
        officer.get_by_role("button", name="Submit the case").click()
        done(officer, "The case was submitted.")
        officer.get_by_role("button", name="Sign out").click()
        expect(officer.get_by_role("heading", name="Sign in")).to_be_visible()

        # the board secretariat: a meeting dated today, the case on its agenda, the advice
        today = london_date(live.call(env.get_current_time()))
        sec = signed_in("sam.sec")
        expect(sec.get_by_role("row").filter(has_text="Place the case on a board")).to_have_count(1)
        sec.get_by_role("link", name="Meetings", exact=True).click()
        axe(sec, "meetings")
        sec.get_by_role("link", name="Create a board meeting").click()
        axe(sec, "new meeting")
        sec.get_by_label("Meeting id").fill("IAB-1")
        sec.get_by_label("Board").select_option("IAB")
        sec.get_by_label("Date").fill(today.isoformat())
        sec.get_by_role("button", name="Create the meeting").click()
        done(sec, "The meeting was created.")
        sec.get_by_label("Case with the board").select_option("mettrace")
        sec.get_by_role("button", name="Add to the agenda").click()
        done(sec, "The case was added to the agenda.")
        sec.get_by_label("Advice", exact=True).select_option("supported")
        sec.get_by_role("button", name="Record advice on Met Trace").click()
        done(sec, "The board's advice was recorded.")

        # each adviser signs off from their inbox
        for user, area in [
            ("fran.fin", "finance"),
            ("lee.legal", "legal"),
            ("cat.com", "commercial"),
            ("eve.eq", "equalities"),
            ("ian.ia", "information assurance"),
        ]:
            page = signed_in(user)
            open_from_inbox(page, f"Give or decline {area} advice")
            page.get_by_role("button", name="Sign off", exact=True).click()
            done(page, "Your sign-off was recorded.")
            page.context.close()

        # the chief executive confirms; the DMPC declares no interest and approves
        ceo = signed_in("rl.ceo")
        open_from_inbox(ceo, "Confirm the advice was taken into account")
        ceo.get_by_role("button", name="Confirm", exact=True).click()
        done(ceo, "Your confirmation was recorded.")
        dmpc = signed_in("sl.dmpc")
        open_from_inbox(dmpc, "Declare any personal or prejudicial interest")
        dmpc.get_by_label("No interest").check()
        dmpc.get_by_role("button", name="Declare").click()
        done(dmpc, "Your declaration of interests was recorded.")
        dmpc.get_by_label("Approve: the above request has my approval").check()
        dmpc.get_by_role("button", name="Record the decision").click()
        done(dmpc, "Your decision was recorded.")
        expect(dmpc.get_by_text("approved", exact=True)).to_be_visible()

        # the public register, without signing in: Part 1 only
        public = browser.new_context(base_url=live.url).new_page()
        public.goto("/ui/register")
        for _ in range(50):  # Part 1 is published by the workflow just after the decision
            if public.get_by_role("link", name="Met Trace").count():
                break
            public.wait_for_timeout(200)
            public.reload()
        axe(public, "the register")
        public.get_by_role("link", name="Met Trace").click()
        expect(public.get_by_role("heading", level=1)).to_contain_text("DMPC Decision – PCD")
        expect(public.get_by_text("The above request has my approval.")).to_be_visible()
        expect(
            public.get_by_text("MetTrace is the MPS flagship crime prevention project")
        ).to_be_visible()
        expect(public.get_by_role("cell", name=today.strftime("%d/%m/%Y"))).to_be_visible()
        # the whole of Part 1, who decided, and that a Part 2 exists: never its text
        expect(public.get_by_role("heading", name="Legal comments")).to_be_visible()
        expect(public.get_by_role("heading", name="Reasons for the decision")).to_be_visible()
        expect(public.get_by_role("heading", name="Part 2 (confidential)")).to_be_visible()
        expect(public.get_by_text("This decision has a confidential Part 2")).to_be_visible()
        assert PART2_TEXT not in public.content()
        axe(public, "a register entry")
        # the decision maker's case page now links to the published decision
        dmpc.reload()
        dmpc.get_by_role("link", name="on the public register").click()
        expect(dmpc.get_by_role("heading", level=1)).to_contain_text("DMPC Decision – PCD")
        axe(dmpc, "the register entry, reached from the case page")
        # the cases list and the case page as the officer sees them at the end
        officer = signed_in("ollie.lane")
        officer.get_by_role("link", name="Cases", exact=True).click()
        axe(officer, "cases")
        officer.get_by_role("link", name="Met Trace").click()
        axe(officer, "the decided case")
        # the auditor: the store verified, the case's history now and as of version 3
        auditor = signed_in("aud.ann")
        auditor.get_by_role("link", name="Audit", exact=True).click()
        axe(auditor, "audit")
        auditor.goto("/ui/cases/mettrace/history")
        axe(auditor, "history")
        auditor.get_by_role("spinbutton", name="As of version").fill("3")
        auditor.get_by_role("button", name="Show").click()
        expect(auditor.get_by_role("heading", name="As of version 3 of")).to_be_visible()
        axe(auditor, "history as of version 3")
        browser.close()
    axe.assert_clean()
