"""Signed one-click unsubscribe links (RFC 8058): issuing, the page, the POST, bad links."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest

from privacy_backend.main import create_app
from privacy_backend.services import unsubscribe as links

from .support import Api, TestClient

URL = "/api/v1/preferences"
ADA = {"email": "ada@example.com"}
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def api(api: Api) -> Api:
    """Mail systems issue links with the staff token (the assistant's may not)."""
    return api.staff


def _link(api: Api, scope: str = "all", email: str = "Ada@Example.com") -> dict[str, Any]:
    response = api.post(f"{URL}/unsubscribe-links", json={"email": email, "scope": scope})
    assert response.status_code == 200, response.text
    return response.json()


def _path(link: dict[str, Any]) -> str:
    return "/unsubscribe/" + link["url"].rsplit("/", 1)[1]


def _prefs(api: Api) -> dict[str, Any]:
    return api.get(URL, params=ADA).json()


def _history(api: Api) -> list[dict[str, Any]]:
    return api.get(f"{URL}/history", params=ADA).json()


def _subscribe_everything(api: Api) -> None:
    response = api.patch(URL, params=ADA, json={"source": "chat", "channels": {
        c: True for c in ("email", "sms", "phone", "postal")}})
    assert response.status_code == 200


def test_a_link_is_signed_url_safe_and_hides_the_address(api: Api) -> None:
    link = _link(api, "email:promotions")
    token = link["url"].rsplit("/", 1)[1]
    assert link["url"] == f"http://127.0.0.1:8000/unsubscribe/{token}"
    assert link["scope"] == "email:promotions"
    assert link["expires_at"] == "2025-05-09T14:30:00Z"  # 60 days
    assert link["headers"] == {"List-Unsubscribe": f"<{link['url']}>",
                               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert b"ada" not in raw.lower() and b"example" not in raw and b"promotions" not in raw
    assert _link(api, "email:promotions")["url"] != link["url"]  # a fresh nonce each time
    assert api.all_counts()["marketing_preferences"] == 0  # issuing stores nothing


def test_public_url_and_mailto_come_from_the_settings(api: Api) -> None:
    settings = api.settings.model_copy(update={"public_base_url": "https://privacy.example.com",
                                               "unsubscribe_mailto": "privacy@example.com"})
    with TestClient(create_app(settings, engine=api.engine, clock=api.clock)) as client:
        link = client.post(f"{URL}/unsubscribe-links", headers=api.headers,
                           json={"email": "ada@example.com", "scope": "sms"}).json()
    assert link["url"].startswith("https://privacy.example.com/unsubscribe/")
    assert link["headers"]["List-Unsubscribe"] == (
        f"<{link['url']}>, <mailto:privacy@example.com?subject=unsubscribe>")


def test_issuing_needs_the_token_and_a_known_scope(api: Api) -> None:
    no_auth = api.client.post(f"{URL}/unsubscribe-links",
                              json={"email": "ada@example.com", "scope": "all"})
    assert no_auth.status_code == 401
    for scope, named in [("fax", "unknown channel 'fax'"),
                         ("email:weather", "unknown topic 'weather'"), ("", "body.scope")]:
        response = api.post(f"{URL}/unsubscribe-links",
                            json={"email": "ada@example.com", "scope": scope})
        assert response.status_code == 422, scope
        assert named in response.json()["message"]
    assert api.post(f"{URL}/unsubscribe-links", json={"email": "x", "scope": "all"}
                    ).status_code == 422


def test_the_page_asks_first_and_get_changes_nothing(api: Api) -> None:
    _subscribe_everything(api)
    link = _link(api, "all")
    before = api.all_counts()
    page = api.client.get(_path(link))  # no login
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    text = page.text
    assert '<html lang="en">' in text and "<title>Unsubscribe</title>" in text
    assert '<form method="post">' in text and '<button type="submit">Unsubscribe</button>' in text
    assert 'name="List-Unsubscribe" value="One-Click"' in text
    assert "a***@example.com" in text and "ada@example.com" not in text
    assert "10 business days" in text and "transactional" in text
    api.client.get(_path(link))
    assert api.all_counts() == before
    assert _prefs(api)["global_opt_out"] is False


def test_one_click_post_opts_out_at_once_and_is_idempotent(api: Api) -> None:
    _subscribe_everything(api)
    link = _link(api, "all")
    api.clock.advance(days=3)
    done = api.client.post(_path(link), data=ONE_CLICK)  # as RFC 8058 mail clients send it
    assert done.status_code == 200
    assert "You are unsubscribed" in done.text and 'role="status"' in done.text
    prefs = _prefs(api)
    assert prefs["global_opt_out"] is True
    assert prefs["updated_at"] == "2025-03-13T14:30:00Z"
    last = _history(api)[-1]
    assert (last["source"], last["before"], last["after"]) == (
        "unsubscribe_link", {"global_opt_out": False}, {"global_opt_out": True})
    assert last["conversation_id"] is None
    counts = api.all_counts()
    again = api.client.post(_path(link), data=ONE_CLICK)
    assert again.status_code == 200 and "You are unsubscribed" in again.text
    assert api.all_counts() == counts  # nothing more recorded


@pytest.mark.parametrize(("scope", "off"), [
    ("sms", {f"channels.sms.{t}" for t in ("product_news", "events", "newsletters",
                                            "promotions")}),
    ("email:promotions", {"channels.email.promotions"}),
])
def test_a_scoped_link_turns_off_only_its_scope(api: Api, scope: str, off: set[str]) -> None:
    _subscribe_everything(api)
    response = api.client.post(_path(_link(api, scope)), data=ONE_CLICK)
    assert response.status_code == 200
    last = _history(api)[-1]
    assert last["source"] == "unsubscribe_link"
    assert set(last["after"]) == off and not any(last["after"].values())
    prefs = _prefs(api)
    assert prefs["global_opt_out"] is False
    assert prefs["channels"]["phone"]["events"] is True


def test_the_page_form_and_a_bare_post_work_too(api: Api) -> None:
    _subscribe_everything(api)
    assert api.client.post(_path(_link(api, "phone"))).status_code == 200
    assert not any(_prefs(api)["channels"]["phone"].values())


def _tampered(token: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[20] ^= 0x01  # one bit of the sealed scope/address
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@pytest.mark.parametrize("kind", ["tampered", "truncated", "garbage", "too_long", "other_key"])
def test_bad_links_are_refused_with_400_and_write_nothing(api: Api, kind: str) -> None:
    _subscribe_everything(api)
    token = _link(api, "all")["url"].rsplit("/", 1)[1]
    if kind == "other_key":
        link = links.new_link("ada@example.com", links.Scope(), now=api.clock(),
                              ttl=timedelta(days=1))
        bad = links.encode(b"another-secret", link)
    else:
        bad = {"tampered": _tampered(token), "truncated": token[:-6], "garbage": "not*base64!",
               "too_long": token * 5}[kind]
    before = api.all_counts()
    for method in ("GET", "POST"):
        response = api.client.request(method, f"/unsubscribe/{bad}", data=ONE_CLICK)
        assert response.status_code == 400, (method, response.text)
        assert response.headers["content-type"].startswith("text/html")
        assert "This unsubscribe link is not valid" in response.text
    assert api.all_counts() == before
    assert _prefs(api)["global_opt_out"] is False


def test_an_expired_link_is_410_and_writes_nothing(api: Api) -> None:
    _subscribe_everything(api)
    link = _link(api, "all")
    api.clock.advance(days=59, hours=23)
    assert api.client.get(_path(link)).status_code == 200
    api.clock.advance(hours=1)
    before = api.all_counts()
    for method in ("GET", "POST"):
        response = api.client.request(method, _path(link), data=ONE_CLICK)
        assert response.status_code == 410
        assert "expired" in response.text and "60 days" in response.text
    assert api.all_counts() == before


def test_a_link_whose_scope_is_no_longer_configured_is_refused(api: Api) -> None:
    _subscribe_everything(api)
    link = _link(api, "postal:events")
    settings = api.settings.model_copy(update={"preference_channels": ["email", "sms"]})
    before = api.all_counts()
    with TestClient(create_app(settings, engine=api.engine, clock=api.clock)) as client:
        response = client.post(_path(link), data=ONE_CLICK)
    assert response.status_code == 400
    assert api.all_counts() == before


def test_a_link_keeps_working_for_an_address_with_nothing_recorded(api: Api) -> None:
    response = api.client.post(_path(_link(api, "all", email="new@example.com")), data=ONE_CLICK)
    assert response.status_code == 200
    prefs = api.get(URL, params={"email": "new@example.com"}).json()
    assert prefs["global_opt_out"] is True and prefs["updated_at"] is not None


def test_the_unsubscribe_secret_is_generated_once_into_var(api: Api) -> None:
    secret = api.settings.var_dir / "unsubscribe_secret"
    assert secret.exists() and secret.stat().st_mode & 0o077 == 0
    link = _link(api, "all")
    with TestClient(create_app(api.settings, engine=api.engine, clock=api.clock)) as client:
        assert client.get(_path(link)).status_code == 200  # same key after a restart
