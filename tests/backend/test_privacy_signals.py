"""Global Privacy Control on the website: the statement page says the signal is honoured
whenever a request carries `Sec-GPC: 1` exactly (and on no other value), and
`/.well-known/gpc.json` declares that the site honours it. The page records nothing: the
opt-out is recorded for the chat's conversation by the socket.io channel
(tests/channels/test_gpc.py, and in a real browser tests/e2e/test_privacy_signals.py)."""

from __future__ import annotations

from datetime import date

import pytest

from privacy_backend.main import create_app

from .support import Api, TestClient
from .test_opt_outs import _rows

HONOURED = "Opt-out preference signal\nhonored."


def test_the_page_shows_the_honoured_signal(api: Api) -> None:
    page = api.client.get("/", headers={"Sec-GPC": "1"})
    assert page.status_code == 200
    assert 'id="gpc-status"' in page.text and HONOURED in page.text
    assert page.headers["Vary"] == "Sec-GPC"
    assert _rows(api) == []  # the page itself records nothing


@pytest.mark.parametrize("value", ["0", "true", "yes", "11", "1,1", ""])
def test_any_other_value_is_no_signal(api: Api, value: str) -> None:
    page = api.client.get("/", headers={"Sec-GPC": value})
    assert page.status_code == 200
    assert "gpc-status" not in page.text and "honored" not in page.text


def test_without_the_header_nothing_is_shown(api: Api) -> None:
    assert "gpc-status" not in api.client.get("/").text


def test_a_repeated_header_is_no_signal(api: Api) -> None:
    page = api.client.get("/", headers=[("Sec-GPC", "1"), ("Sec-GPC", "1")])
    assert "gpc-status" not in page.text


def test_the_well_known_resource(api: Api) -> None:
    answer = api.client.get("/.well-known/gpc.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"gpc", "lastUpdate"} and body["gpc"] is True
    date.fromisoformat(body["lastUpdate"])


def test_the_well_known_date_comes_from_the_configuration(api: Api) -> None:
    settings = api.settings.model_copy(update={"gpc_last_update": date(2026, 12, 7)})
    with TestClient(create_app(settings, engine=api.engine, clock=api.clock)) as client:
        assert client.get("/.well-known/gpc.json").json() == {
            "gpc": True, "lastUpdate": "2026-12-07"}
