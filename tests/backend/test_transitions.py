"""The status graph (every legal and illegal move) and the audit trail it writes."""

from __future__ import annotations

import pytest

from privacy_backend.core.models import RequestStatus
from privacy_backend.services.requests import TRANSITIONS

from .support import Api

STAFF_TARGETS = ["verified", "in_progress", "completed", "rejected"]
# How to bring a fresh request into each status through the API.
PATHS: dict[str, list[str]] = {
    "pending_verification": [],
    "verified": ["verified"],
    "in_progress": ["verified", "in_progress"],
    "completed": ["verified", "in_progress", "completed"],
    "rejected": ["rejected"],
}
CASES = [(src, dst, RequestStatus(dst) in TRANSITIONS[RequestStatus(src)])
         for src in PATHS for dst in STAFF_TARGETS]


def _move(api: Api, ref: str, status: str) -> tuple[int, dict]:
    response = api.patch(f"/api/v1/requests/{ref}",
                         json={"status": status, "actor": "staff:grace", "note": "checked"})
    return response.status_code, response.json()


@pytest.mark.parametrize(("source", "target", "legal"), CASES,
                         ids=[f"{s}->{t}" for s, t, _ in CASES])
def test_transition(api: Api, source: str, target: str, legal: bool) -> None:
    ref = api.create()["reference"]
    for step in PATHS[source]:
        assert _move(api, ref, step)[0] == 200
    before = api.counts()
    code, body = _move(api, ref, target)
    if legal:
        assert code == 200, body
        assert body["status"] == target
        last = api.get(f"/api/v1/requests/{ref}/audit").json()[-1]
        assert last["actor"] == "staff:grace" and last["action"] == "status_changed"
        assert last["before"] == {"status": source} and last["after"] == {"status": target}
        assert last["note"] == "checked"
    else:
        assert code == 409, body
        assert body["error"] == "illegal_transition"
        assert f"from '{source}' to '{target}'" in body["message"]
        assert api.counts() == before
        assert api.get(f"/api/v1/requests/{ref}").json()["status"] == source


def test_closed_unverified_is_final(api: Api) -> None:
    ref = api.create()["reference"]
    api.clock.advance(days=8)
    assert api.get(f"/api/v1/requests/{ref}").json()["status"] == "closed_unverified"
    for target in STAFF_TARGETS:
        assert _move(api, ref, target)[0] == 409


def test_system_statuses_cannot_be_set_by_staff(api: Api) -> None:
    ref = api.create()["reference"]
    for status in ("closed_unverified", "pending_verification", "nonsense"):
        code, body = _move(api, ref, status)
        assert code == 422 and body["error"] == "validation_failed"


def test_full_lifecycle_audit_trail(api: Api) -> None:
    ref = api.create()["reference"]
    api.verify(ref)
    api.clock.advance(days=1)
    _move(api, ref, "in_progress")
    _move(api, ref, "completed")
    trail = api.get(f"/api/v1/requests/{ref}/audit").json()
    assert [(e["actor"], e["action"]) for e in trail] == [
        ("requester", "created"), ("system", "verification_code_sent"),
        ("requester", "status_changed"), ("staff:grace", "status_changed"),
        ("staff:grace", "status_changed")]
    assert [e["after"].get("status") for e in trail[2:]] == ["verified", "in_progress",
                                                             "completed"]
    assert trail[0]["created_at"].startswith("2025-03-10")
    assert trail[-1]["created_at"].startswith("2025-03-11")
    request = api.get(f"/api/v1/requests/{ref}").json()
    assert request["verified_at"].startswith("2025-03-10")
    assert request["updated_at"].startswith("2025-03-11")


def test_patch_requires_an_actor(api: Api) -> None:
    ref = api.create()["reference"]
    response = api.patch(f"/api/v1/requests/{ref}", json={"status": "rejected"})
    assert response.status_code == 422
    response = api.patch(f"/api/v1/requests/{ref}", json={"status": "rejected", "actor": " "})
    assert response.status_code == 422
