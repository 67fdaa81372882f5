"""Bad input gets a clear 4xx and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from .support import Api

GOOD = {"type": "access", "email": "ada@example.com"}

BAD_BODIES: dict[str, tuple[Any, str]] = {
    "unknown_field": ({**GOOD, "admin": True}, "Unknown field(s): admin."),
    "bad_type": ({**GOOD, "type": "everything"}, "Invalid body.type"),
    "bad_email": ({**GOOD, "email": "not-an-email"}, "Invalid body.email"),
    "missing_email": ({"type": "access"}, "Invalid body.email"),
    "long_name": ({**GOOD, "name": "n" * 201}, "at most 200 characters"),
    "long_region": ({**GOOD, "region": "r" * 65}, "at most 64 characters"),
    "long_details": ({**GOOD, "details": "d" * 2001}, "at most 2000 characters"),
    "long_conversation": ({**GOOD, "conversation_id": "c" * 129}, "at most 128 characters"),
    "long_email": ({**GOOD, "email": "a" * 250 + "@example.com"}, "Invalid body.email"),
    "bad_channel": ({**GOOD, "channel": "fax"}, "Invalid body.channel"),
    "not_an_object": ([GOOD], "Invalid body"),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_invalid_create_is_422_and_writes_nothing(api: Api, case: str) -> None:
    body, message = BAD_BODIES[case]
    before = api.counts()
    response = api.post("/api/v1/requests", json=body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["error"] == "validation_failed"
    assert message in error["message"]
    assert all(set(d) == {"field", "message", "type"} for d in error["details"])  # no echo
    assert api.counts() == before
    assert api.mails() == []


def test_malformed_json_is_422(api: Api) -> None:
    before = api.counts()
    response = api.post("/api/v1/requests", content=b'{"type": "access", "email": ',
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["message"] == "Malformed JSON body."
    assert api.counts() == before


def test_oversize_body_is_413_and_writes_nothing(api: Api) -> None:
    before = api.counts()
    big = {**GOOD, "details": "x" * (api.settings.max_body_bytes + 1)}
    response = api.post("/api/v1/requests", json=big)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert api.counts() == before


def test_oversize_chunked_body_is_413(api: Api) -> None:
    def chunks():  # no Content-Length: the limit must hold while streaming too
        yield b'{"type": "access", "email": "ada@example.com", "details": "'
        for _ in range(40):
            yield b"x" * 1024
        yield b'"}'

    before = api.counts()
    response = api.post("/api/v1/requests", content=chunks(),
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert api.counts() == before


ELSEWHERE = {
    "verify": ("POST", "/api/v1/requests/{ref}/verify", {"code": "123456", "x": 1}),
    "extend": ("POST", "/api/v1/requests/{ref}/extend", {"reason": "r", "days": 9}),
    "patch": ("PATCH", "/api/v1/requests/{ref}", {"status": "rejected", "x": 1}),
    "lookup": ("POST", "/api/v1/requests/lookup", {"reference": "{ref}", "email": "a@example.com",
                                                  "x": 1}),
    "verifications": ("POST", "/api/v1/verifications", {"email": "a@example.com",
                                                         "purpose": "preferences", "x": 1}),
}


@pytest.mark.parametrize("case", sorted(ELSEWHERE))
def test_unknown_fields_elsewhere_are_rejected(api: Api, case: str) -> None:
    ref = api.create()["reference"]
    method, path, body = ELSEWHERE[case]
    body = {k: v.format(ref=ref) if isinstance(v, str) else v for k, v in body.items()}
    before = api.counts()
    response = api.staff.request(method, path.format(ref=ref), json=body)
    assert response.status_code == 422
    assert "Unknown field(s)" in response.json()["message"]
    assert api.counts() == before


def test_lookup_validates_too(api: Api) -> None:
    response = api.post("/api/v1/requests/lookup", json={"reference": "x" * 33,
                                                        "email": "a@example.com"})
    assert response.status_code == 422
    assert api.counts()["verifications"] == 0
