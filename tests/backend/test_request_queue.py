"""The privacy team's request queue (`GET /api/v1/requests/queue`): the assistant's token may
read it, because it carries nothing about the people behind the requests. With a fixed
clock, each view lists exactly the open requests it should, soonest due first."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from privacy_backend.services.requests import records as request_service

from .support import Api

URL = "/api/v1/requests/queue"
NOW = datetime(2025, 3, 10, 14, 30, tzinfo=timezone.utc)  # FakeClock's start


def _person(key: str) -> dict[str, str]:
    """What a requester tells us about themselves, unique to this test's request `key`."""
    return {"email": f"queue-{key}@example.org", "name": f"Requester Quill{key.upper()}",
            "details": f"Please send everything about account QX-{key}-771 to me",
            "conversation_id": f"conv-queue-{key}"}


PEOPLE = {key: _person(key) for key in "abcdefgh"}


def _file(api: Api, key: str, received: datetime, *, region: str = "California",
          status: str | None = None) -> str:
    """File a request as received at `received` and move it to `status`; its reference."""
    api.clock.now = received
    ref = str(api.create(region=region, **PEOPLE[key])["reference"])
    if status is not None:
        api.verify(ref)
        path = {"in_progress": ["in_progress"], "completed": ["in_progress", "completed"],
                "rejected": ["rejected"]}.get(status, [])
        for step in path:
            moved = api.staff.patch(f"/api/v1/requests/{ref}",
                                    json={"status": step, "note": "reason"})
            assert moved.status_code == 200, moved.text
    return ref


@pytest.fixture
def refs(api: Api) -> dict[str, str]:
    """Requests around NOW (US: 45 days from receipt; GDPR: one month), by key:

    a  verified, due 6 March: 4 days overdue      e  completed, due 1 March (done)
    b  in progress, due today (10 March)          f  never verified, received 20 January:
    c  GDPR, verified, due 15 March                  closed unverified after 7 days
    d  verified, due 18 March                     g  pending verification, received today,
    h  rejected, due 6 March                         due 24 April
    """
    made = {
        "a": _file(api, "a", datetime(2025, 1, 20, 9, tzinfo=timezone.utc), status="verified"),
        "b": _file(api, "b", datetime(2025, 1, 24, 9, tzinfo=timezone.utc),
                   status="in_progress"),
        "c": _file(api, "c", datetime(2025, 2, 15, 9, tzinfo=timezone.utc), region="Germany",
                   status="verified"),
        "d": _file(api, "d", datetime(2025, 2, 1, 9, tzinfo=timezone.utc), status="verified"),
        "e": _file(api, "e", datetime(2025, 1, 15, 9, tzinfo=timezone.utc),
                   status="completed"),
        "f": _file(api, "f", datetime(2025, 1, 20, 9, tzinfo=timezone.utc)),
        "h": _file(api, "h", datetime(2025, 1, 20, 9, tzinfo=timezone.utc), status="rejected"),
        "g": _file(api, "g", NOW),
    }
    api.clock.now = NOW
    api.close_unverified()  # f: the backend's close step, which `serve` runs hourly
    return made


def _queue(api: Api, **params: Any) -> httpx.Response:
    response = api.get(URL, params=params)
    _assert_nothing_personal(response)
    return response


def _assert_nothing_personal(response: httpx.Response) -> None:
    """The raw answer holds none of what the requesters told us."""
    for person in PEOPLE.values():
        for value in person.values():
            assert value not in response.text, value
    assert "example.org" not in response.text and "Quill" not in response.text


def _listed(response: httpx.Response, refs: dict[str, str]) -> list[str]:
    assert response.status_code == 200, response.text
    keys = {ref: key for key, ref in refs.items()}
    return [keys[item["reference"]] for item in response.json()["items"]]


def test_overdue_lists_the_open_requests_past_due(api: Api, refs: dict[str, str]) -> None:
    response = _queue(api, view="overdue")
    assert _listed(response, refs) == ["a"]
    body = response.json()
    assert (body["view"], body["days"], body["total"]) == ("overdue", None, 1)
    assert body["as_of"].startswith("2025-03-10T14:30")
    [item] = body["items"]
    assert item == {"reference": refs["a"], "request_type": "access", "status": "verified",
                    "jurisdiction": "CA", "due_at": "2025-03-06T23:59:59Z", "days_left": -4}


def test_due_lists_the_window_with_the_overdue_first(api: Api, refs: dict[str, str]) -> None:
    week = _queue(api, view="due")
    assert _listed(week, refs) == ["a", "b", "c"]
    assert (week.json()["days"], week.json()["total"]) == (7, 3)
    assert [i["days_left"] for i in week.json()["items"]] == [-4, 0, 5]
    assert [i["jurisdiction"] for i in week.json()["items"]] == ["CA", "CA", "GDPR"]
    assert _listed(_queue(api), refs) == ["a", "b", "c"]  # `due` and 7 days by default
    # The window ends with the last day's end: d is due on day 8.
    assert _listed(_queue(api, view="due", days=8), refs) == ["a", "b", "c", "d"]
    assert _listed(_queue(api, view="due", days=4), refs) == ["a", "b"]
    # Awaiting verification is open too; completed, rejected and lapsed requests are not.
    assert _listed(_queue(api, view="due", days=90), refs) == ["a", "b", "c", "d", "g"]


def test_the_window_moves_with_the_clock(api: Api, refs: dict[str, str]) -> None:
    api.clock.now = datetime(2025, 3, 11, 0, 0, 1, tzinfo=timezone.utc)  # b's day is over
    assert _listed(_queue(api, view="overdue"), refs) == ["a", "b"]
    items = _queue(api, view="due", days=1).json()["items"]
    assert [(i["reference"], i["days_left"]) for i in items] == [
        (refs["a"], -5), (refs["b"], -1)]


def test_one_reference_whatever_its_status(api: Api, refs: dict[str, str]) -> None:
    done = _queue(api, view="reference", reference=refs["e"])
    assert _listed(done, refs) == ["e"]
    [item] = done.json()["items"]
    assert (item["status"], item["days_left"], done.json()["total"]) == ("completed", -9, 1)
    lapsed = _queue(api, reference=refs["f"])  # the view follows from the reference
    assert lapsed.json()["view"] == "reference"
    assert lapsed.json()["items"][0]["status"] == "closed_unverified"
    typed = refs["b"].lower().replace("-", " ")  # as a person might type it
    assert _listed(_queue(api, reference=typed), refs) == ["b"]


@pytest.mark.parametrize("reference", ["PR-2222-2222", "not-a-reference"])
def test_an_unknown_reference_is_404(api: Api, refs: dict[str, str], reference: str) -> None:
    response = _queue(api, view="reference", reference=reference)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_the_list_is_capped_and_counted(api: Api, refs: dict[str, str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(request_service, "QUEUE_CAP", 2)
    body = _queue(api, view="due", days=90).json()
    assert body["total"] == 5
    assert [i["reference"] for i in body["items"]] == [refs["a"], refs["b"]]


@pytest.mark.parametrize("params", [
    {"view": "everything"}, {"view": ""}, {"days": 0}, {"days": 91}, {"days": "week"},
    {"view": "due", "days": -1}, {"view": "reference"}, {"reference": ""},
    {"reference": "P" * 33}, {"view": "overdue", "reference": "PR-2222-2222"},
    {"view": "due", "reference": "PR-2222-2222"}, {"view": "overdue", "days": 3},
    {"view": "reference", "reference": "PR-2222-2222", "days": 3},
])
def test_bad_input_is_422_and_nothing_else(api: Api, refs: dict[str, str],
                                           params: dict[str, Any]) -> None:
    response = _queue(api, **params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_failed" and set(body) == {"error", "message", "details"}


def test_both_tokens_may_read_it_and_no_token_may_not(api: Api, refs: dict[str, str]) -> None:
    for caller in (api, api.staff):
        assert _listed(caller.get(URL, params={"view": "overdue"}), refs) == ["a"]
    for headers in ({}, {"Authorization": "Bearer not-the-token-at-all-0000000000"}):
        refused = api.client.get(URL, params={"view": "overdue"}, headers=headers)
        assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
        _assert_nothing_personal(refused)
