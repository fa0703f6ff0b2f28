"""Changing one's own password on the pages, and a throttled sign-in form."""

from __future__ import annotations

from ratify.http.services import HttpServices
from ratify.http.sessions import SESSION_COOKIE
from ratify.services.identity.signin import SignInPolicy
from tests.web.conftest import PASSWORD, Web, csrf_of
from tests.web.test_pages import alert, is_page

NEW = "a new passphrase for fran"


async def test_a_person_changes_their_password_and_their_other_sessions_end(web: Web):
    laptop = await web.as_user("fran.fin")
    phone = await web.as_user("fran.fin")
    page = await laptop.get("/ui/password")
    assert page.status_code == 200 and is_page(page)
    assert page.headers["cache-control"] == "no-store"
    for label in ("Current password", "New password", "New password again"):
        assert f">{label}" in page.text
    assert 'href="/ui/password"' in (await laptop.get("/ui/")).text

    async def change(current: str, new: str, again: str) -> str:
        r = await laptop.post(
            "/ui/password",
            {"current_password": current, "new_password": new, "new_password_again": again},
        )
        assert r.status_code == 422 and is_page(r), r.text
        for secret in (current, new, again):
            assert secret not in r.text  # a refused form keeps nothing secret
        return r.text

    text = await change("not my password at all", NEW, NEW)
    assert 'id="current_password-error"' in text and "This is not your current password." in text
    text = await change(PASSWORD, NEW, NEW + " typo")
    assert 'id="new_password_again-error"' in text and "not the same as the new password" in text
    text = await change(PASSWORD, "too short", "too short")
    assert 'id="new_password-error"' in text and "at least 12 characters" in text
    text = await change(PASSWORD, PASSWORD, PASSWORD)
    assert "other than your current one" in text
    # Without the session's CSRF token: refused, nothing changed.
    r = await laptop.post(
        "/ui/password",
        {"current_password": PASSWORD, "new_password": NEW, "new_password_again": NEW},
        csrf=False,
    )
    assert r.status_code == 403
    assert web.stack.directory.verify_password("fran.fin", PASSWORD) is not None

    r = await laptop.post(
        "/ui/password",
        {"current_password": PASSWORD, "new_password": NEW, "new_password_again": NEW},
    )
    assert r.status_code == 303 and r.headers["location"] == "/ui/password?done=password"
    assert SESSION_COOKIE in r.headers["set-cookie"]  # a new session for this browser
    done = await laptop.get(r.headers["location"])
    assert done.status_code == 200 and "Your password was changed" in done.text
    # The other browser's session ended at once; the old password no longer signs in.
    assert (await phone.get("/ui/")).status_code == 303
    assert (await web.anonymous().sign_in("fran.fin")).status_code == 401
    assert (await web.anonymous().sign_in("fran.fin", NEW)).status_code == 303


async def test_the_sign_in_form_says_when_a_user_id_is_locked(web: Web):
    services: HttpServices = web.stack.app.state.services
    services.auth.policy = SignInPolicy(free_attempts=2, delay_seconds=0, lockout_after=2)
    visitor = web.anonymous()
    assert (await visitor.sign_in("sam.sec", "wrong password here")).status_code == 401
    assert (await visitor.sign_in("sam.sec", "wrong password here")).status_code == 401
    r = await visitor.sign_in("sam.sec")  # the right password, during the lockout
    assert r.status_code == 429 and is_page(r) and int(r.headers["retry-after"]) > 800
    assert "locked until" in alert(r) and SESSION_COOKIE not in r.headers.get("set-cookie", "")
    csrf_of(r.text)  # the form is shown again, ready for later
    web.stack.directory.unlock("sam.sec")
    assert (await visitor.sign_in("sam.sec")).status_code == 303
