"""One-time codes: request verification, expiry, attempt limit, resend, generic verifications,
and the status lookup that never reveals whether a reference exists."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from privacy_backend.core.models import Verification

from .support import Api


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_correct_code_verifies_the_request(api: Api) -> None:
    ref = api.create()["reference"]
    api.clock.advance(minutes=14)
    body = api.verify(ref)
    assert body["status"] == "verified"
    assert body["verified_at"].startswith("2025-03-10T14:44")
    again = api.post(f"/api/v1/requests/{ref}/verify", json={"code": api.last_code()})
    assert again.status_code == 409


def test_codes_are_stored_hashed(api: Api) -> None:
    api.create()
    code = api.last_code()
    with api.engine.connect() as conn:
        stored = conn.scalar(select(Verification.code_hash))
    assert stored and code not in stored and len(stored) == 64


def test_code_accepts_spaces_and_dashes(api: Api) -> None:
    ref = api.create()["reference"]
    code = api.last_code()
    response = api.post(f"/api/v1/requests/{ref}/verify", json={"code": f"{code[:3]} {code[3:]}"})
    assert response.status_code == 200


def test_wrong_code_reports_attempts_left_then_locks(api: Api) -> None:
    ref = api.create()["reference"]
    wrong = _wrong(api.last_code())
    for left in (4, 3, 2, 1):
        response = api.post(f"/api/v1/requests/{ref}/verify", json={"code": wrong})
        assert response.status_code == 400
        assert response.json() == {"error": "invalid_code", "attempts_left": left,
                                   "message": f"The code is not correct. {left} attempt(s) left."}
    fifth = api.post(f"/api/v1/requests/{ref}/verify", json={"code": wrong})
    assert fifth.status_code == 429 and fifth.json()["error"] == "too_many_attempts"
    right = api.post(f"/api/v1/requests/{ref}/verify", json={"code": api.last_code()})
    assert right.status_code == 429  # even the right code, once exhausted
    assert api.get(f"/api/v1/requests/{ref}").json()["status"] == "pending_verification"


def test_fifth_attempt_may_still_succeed(api: Api) -> None:
    ref = api.create()["reference"]
    for _ in range(4):
        api.post(f"/api/v1/requests/{ref}/verify", json={"code": _wrong(api.last_code())})
    assert api.verify(ref)["status"] == "verified"


def test_code_expires_after_15_minutes(api: Api) -> None:
    ref = api.create()["reference"]
    api.clock.advance(minutes=15)
    response = api.post(f"/api/v1/requests/{ref}/verify", json={"code": api.last_code()})
    assert response.status_code == 410
    assert response.json()["error"] == "code_expired"
    assert "new code" in response.json()["message"]


def test_resend_supersedes_the_old_code(api: Api) -> None:
    ref = api.create()["reference"]
    old = api.last_code()
    api.clock.advance(minutes=20)
    resent = api.post(f"/api/v1/requests/{ref}/resend-code")
    assert resent.status_code == 201
    assert resent.json()["expires_at"].startswith("2025-03-10T15:05")
    assert len(api.mails()) == 2
    new = api.last_code()
    if new != old:
        stale = api.post(f"/api/v1/requests/{ref}/verify", json={"code": old})
        assert stale.status_code == 400  # only the newest code counts
    assert api.verify(ref)["status"] == "verified"
    actions = [e["action"] for e in api.get(f"/api/v1/requests/{ref}/audit").json()]
    assert actions.count("verification_code_sent") == 2
    assert api.post(f"/api/v1/requests/{ref}/resend-code").status_code == 409


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", ""])
def test_malformed_code_is_422_and_costs_no_attempt(api: Api, code: str) -> None:
    ref = api.create()["reference"]
    response = api.post(f"/api/v1/requests/{ref}/verify", json={"code": code})
    assert response.status_code == 422
    with api.engine.connect() as conn:
        assert conn.scalar(select(Verification.attempts)) == 0


def test_generic_verification_for_preferences(api: Api) -> None:
    started = api.post("/api/v1/verifications", json={
        "email": "Bob@Example.com", "purpose": "preferences", "conversation_id": "c-9"})
    assert started.status_code == 201
    vid = started.json()["verification_id"]
    assert api.mails()[-1]["To"] == "bob@example.com"
    state = api.get(f"/api/v1/verifications/{vid}").json()
    assert state["verified"] is False and state["attempts_left"] == 5
    bad = api.post(f"/api/v1/verifications/{vid}/confirm", json={"code": _wrong(api.last_code())})
    assert bad.status_code == 400 and bad.json()["attempts_left"] == 4
    ok = api.post(f"/api/v1/verifications/{vid}/confirm", json={"code": api.last_code()})
    assert ok.status_code == 200
    assert ok.json()["email"] == "bob@example.com"
    assert ok.json()["purpose"] == "preferences" and ok.json()["conversation_id"] == "c-9"
    assert ok.json()["request_reference"] is None
    reused = api.post(f"/api/v1/verifications/{vid}/confirm", json={"code": api.last_code()})
    assert reused.status_code == 409
    assert api.get(f"/api/v1/verifications/{vid}").json()["verified"] is True


def test_generic_verification_rejects_request_purpose_and_unknown_ids(api: Api) -> None:
    bad = api.post("/api/v1/verifications", json={"email": "a@example.com", "purpose": "request"})
    assert bad.status_code == 422
    missing = api.post("/api/v1/verifications/deadbeef/confirm", json={"code": "123456"})
    assert missing.status_code == 404


def test_request_codes_cannot_be_confirmed_through_the_generic_endpoint(api: Api) -> None:
    api.create()
    with api.engine.connect() as conn:
        vid = conn.scalar(select(Verification.id))
    response = api.post(f"/api/v1/verifications/{vid}/confirm", json={"code": api.last_code()})
    assert response.status_code == 409


def test_generic_verification_expires(api: Api) -> None:
    vid = api.post("/api/v1/verifications", json={
        "email": "a@example.com", "purpose": "status_lookup"}).json()["verification_id"]
    api.clock.advance(minutes=16)
    response = api.post(f"/api/v1/verifications/{vid}/confirm", json={"code": api.last_code()})
    assert response.status_code == 410


def test_lookup_answers_the_same_shape_whatever_matches(api: Api) -> None:
    request = api.create(email="ada@example.com")
    ref = request["reference"]
    mails_before = len(api.mails())
    cases = {
        "match": {"reference": ref.lower(), "email": "ADA@example.com"},
        "wrong_email": {"reference": ref, "email": "eve@example.com"},
        "wrong_reference": {"reference": "PR-2222-3333", "email": "ada@example.com"},
        "garbage_reference": {"reference": "hello", "email": "ada@example.com"},
    }
    answers = {}
    for name, body in cases.items():
        response = api.post("/api/v1/requests/lookup", json=body)
        assert response.status_code == 202, response.text
        answers[name] = response.json()
    shapes = {(tuple(sorted(a)), a["message"], len(a["verification_id"])) for a in answers.values()}
    assert len(shapes) == 1
    assert len(api.mails()) == mails_before + 1  # only the match was emailed
    vid = answers["match"]["verification_id"]
    ok = api.post(f"/api/v1/verifications/{vid}/confirm", json={"code": api.last_code()})
    assert ok.status_code == 200
    assert ok.json()["request_reference"] == ref
    # The non-matching lookups behave like a code that is simply wrong.
    decoy = answers["wrong_email"]["verification_id"]
    response = api.post(f"/api/v1/verifications/{decoy}/confirm", json={"code": api.last_code()})
    assert response.status_code == 400 and response.json()["error"] == "invalid_code"


def test_lookup_code_does_not_supersede_the_request_code(api: Api) -> None:
    ref = api.create()["reference"]
    request_code = api.last_code()
    api.post("/api/v1/requests/lookup", json={"reference": ref, "email": "ada@example.com"})
    response = api.post(f"/api/v1/requests/{ref}/verify", json={"code": request_code})
    assert response.status_code == 200


def test_codes_per_address_are_limited_per_hour(api: Api) -> None:
    ref = api.create()["reference"]  # code 1
    for _ in range(3):  # codes 2-4
        assert api.post(f"/api/v1/requests/{ref}/resend-code").status_code == 201
    # a non-matching lookup counts too, so the limit reveals nothing about the reference
    assert api.post("/api/v1/requests/lookup", json={
        "reference": "PR-2222-2222", "email": "ada@example.com"}).status_code == 202
    before = api.counts()
    for attempt in (lambda: api.post(f"/api/v1/requests/{ref}/resend-code"),
                    lambda: api.post("/api/v1/requests", json={"type": "know",
                                                               "email": "ada@example.com"}),
                    lambda: api.post("/api/v1/requests/lookup", json={
                        "reference": ref, "email": "ada@example.com"})):
        response = attempt()
        assert response.status_code == 429, response.text
        assert response.json()["error"] == "too_many_codes"
        assert response.headers["retry-after"] == "3600"
    assert api.counts() == before
    assert api.post("/api/v1/verifications", json={
        "email": "other@example.com", "purpose": "preferences"}).status_code == 201
    api.clock.advance(hours=1)
    assert api.post(f"/api/v1/requests/{ref}/resend-code").status_code == 201


def test_the_newest_code_wins_even_within_the_same_instant(api: Api) -> None:
    # The fake clock stands still: both codes carry the same created_at.
    for i in range(6):
        ref = api.create(email=f"same{i}@example.com")["reference"]
        assert api.post(f"/api/v1/requests/{ref}/resend-code").status_code == 201
        assert api.verify(ref)["status"] == "verified"
