"""One-time codes: request verification, expiry, attempt limit, resend, generic verifications,
the status lookup that never reveals whether a reference exists, and the limits that bound
guessing (per address, per conversation, and under concurrency). The attacks on these limits
are in test_code_abuse.py."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, func, select

from privacy_backend.core.db import make_sessionmaker
from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import Verification, VerificationPurpose
from privacy_backend.core.settings import Settings
from privacy_backend.services import verification as verification_service

from .support import Api, FakeClock


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
    assert api.staff.get(f"/api/v1/requests/{ref}").json()["status"] == "pending_verification"


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
    actions = [e["action"] for e in api.staff.get(f"/api/v1/requests/{ref}/audit").json()]
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
        response = api.post("/api/v1/requests/lookup", json={**body, "conversation_id": name})
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


def test_a_lookup_that_matches_nothing_confirms_nothing_even_with_its_code(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An attacker looks up a made-up reference with someone else's address and guesses the
    code: even the code the backend would have drawn for that lookup verifies nothing."""
    monkeypatch.setattr(verification_service, "generate_code", lambda: "123456")
    started = api.post("/api/v1/requests/lookup", json={
        "reference": "PR-2222-3333", "email": "victim@example.com", "conversation_id": "eve"})
    assert started.status_code == 202
    vid = started.json()["verification_id"]
    answers = [api.post(f"/api/v1/verifications/{vid}/confirm", json={"code": "123456"})
               for _ in range(6)]
    assert [(r.status_code, r.json()["error"]) for r in answers] == (
        [(400, "invalid_code")] * 4 + [(429, "too_many_attempts")] * 2)
    assert [r.json()["attempts_left"] for r in answers[:4]] == [4, 3, 2, 1]
    assert api.get(f"/api/v1/verifications/{vid}").json()["verified"] is False
    assert api.mails() == []


def test_a_second_lookup_supersedes_the_first_whether_or_not_it_matched(api: Api) -> None:
    """A newer lookup in the same conversation replaces the older one alike for a match and a
    non-match, so confirming the older one does not tell them apart."""
    ref = api.create(email="ada@example.com")["reference"]
    outcomes = {}
    for case, reference in (("match", ref), ("no_match", "PR-2222-3333")):
        first, _ = (api.post("/api/v1/requests/lookup", json={
            "reference": reference, "email": "ada@example.com", "conversation_id": case,
        }).json()["verification_id"] for _ in range(2))
        response = api.post(f"/api/v1/verifications/{first}/confirm", json={"code": "123456"})
        outcomes[case] = (response.status_code, response.json()["error"])
    assert outcomes["match"] == outcomes["no_match"] == (410, "code_superseded")


def test_lookup_code_does_not_supersede_the_request_code(api: Api) -> None:
    ref = api.create()["reference"]
    request_code = api.last_code()
    api.post("/api/v1/requests/lookup", json={"reference": ref, "email": "ada@example.com"})
    response = api.post(f"/api/v1/requests/{ref}/verify", json={"code": request_code})
    assert response.status_code == 200


def test_codes_per_address_are_limited_per_hour(api: Api) -> None:
    wait = api.settings.code_address_wait_minutes
    ref = api.create()["reference"]  # code 1
    for _ in range(4):  # codes 2-5
        assert api.post(f"/api/v1/requests/{ref}/resend-code").status_code == 201
    before = api.counts()
    for attempt in (lambda: api.post(f"/api/v1/requests/{ref}/resend-code"),
                    lambda: api.post("/api/v1/requests", json={"type": "know",
                                                               "email": "ada@example.com"}),
                    lambda: api.post("/api/v1/verifications", json={
                        "email": "ada@example.com", "purpose": "preferences"})):
        response = attempt()
        assert response.status_code == 429, response.text
        assert response.json()["error"] == "too_many_codes"
        assert response.headers["retry-after"] == str(wait * 60)
    assert api.counts() == before
    # Status lookups have a budget of their own (a match and a miss count alike).
    assert api.post("/api/v1/requests/lookup", json={
        "reference": ref, "email": "ada@example.com"}).status_code == 202
    assert api.post("/api/v1/verifications", json={
        "email": "other@example.com", "purpose": "preferences"}).status_code == 201
    # A full budget holds the next code back for minutes, not for the rest of the hour.
    api.clock.advance(minutes=wait)
    assert api.post(f"/api/v1/requests/{ref}/resend-code").status_code == 201
    assert api.post(f"/api/v1/requests/{ref}/resend-code").status_code == 429
    api.clock.advance(hours=1)
    assert api.post(f"/api/v1/requests/{ref}/resend-code").status_code == 201


def test_someone_elses_unmatched_lookups_do_not_use_up_the_owners_codes(api: Api) -> None:
    lookups = [api.post("/api/v1/requests/lookup", json={  # from many conversations
        "reference": f"PR-2222-{3000 + i}", "email": "ada@example.com",
        "conversation_id": f"eve-{i}"}).status_code for i in range(12)]
    limit = api.settings.code_hourly_limit
    assert lookups == [202] * limit + [429] * (12 - limit)  # the lookups' own budget
    ref = api.create(email="ada@example.com")["reference"]
    for _ in range(4):
        assert api.post(f"/api/v1/requests/{ref}/resend-code").status_code == 201
    assert len(api.mails()) == 5
    assert api.verify(ref)["status"] == "verified"


def test_guessing_is_bounded_per_conversation(api: Api) -> None:
    ref = api.create(email="ada@example.com", conversation_id="ada")["reference"]
    limit = api.settings.code_conversation_limit
    lookups = [api.post("/api/v1/requests/lookup", json={
        "reference": f"PR-2222-{3000 + i}", "email": f"guess{i}@example.com",
        "conversation_id": "eve"}) for i in range(limit)]
    assert {r.status_code for r in lookups} == {202}
    mails = len(api.mails())
    for body in ({"reference": "PR-2222-9999", "email": "guess@example.com"},
                 {"reference": ref, "email": "ada@example.com"}):  # a match is refused alike
        refused = api.post("/api/v1/requests/lookup", json={**body, "conversation_id": "eve"})
        assert refused.status_code == 429 and refused.json()["error"] == "too_many_codes"
    assert len(api.mails()) == mails
    # A code the conversation already holds cannot be tried either; no attempt is used.
    vid = lookups[-1].json()["verification_id"]
    tried = api.post(f"/api/v1/verifications/{vid}/confirm", json={"code": "123456"})
    assert tried.status_code == 429 and tried.json()["error"] == "too_many_failures"
    assert api.get(f"/api/v1/verifications/{vid}").json()["attempts_left"] == 5
    # Other conversations are not held back, and the window passes.
    assert api.post("/api/v1/requests/lookup", json={
        "reference": ref, "email": "ada@example.com", "conversation_id": "ada"}
    ).status_code == 202
    api.clock.advance(minutes=api.settings.code_failure_window_minutes)
    assert api.post("/api/v1/requests/lookup", json={
        "reference": "PR-2222-9999", "email": "guess@example.com", "conversation_id": "eve"}
    ).status_code == 202


def test_guessing_is_bounded_per_address_across_conversations(api: Api) -> None:
    """Codes emailed to the victim, asked for from fresh conversations and guessed at: after
    `code_address_failure_limit` wrong guesses, each code may be tried once only, so the
    stranger gets one guess per code mailed while the owner's first try still counts."""
    vids = [api.post("/api/v1/verifications", json={
        "email": "victim@example.com", "purpose": "preferences", "conversation_id": f"eve-{i}",
    }).json()["verification_id"] for i in range(3)]
    code = api.last_code()  # the third code, which the attacker does not know
    wrong = _wrong(code)
    failures = 0
    for vid in vids[:2]:
        for _ in range(api.settings.code_max_attempts):
            response = api.post(f"/api/v1/verifications/{vid}/confirm", json={"code": wrong})
            assert response.status_code in (400, 429) and response.json()["error"] in (
                "invalid_code", "too_many_attempts")
            failures += 1
    assert failures >= api.settings.code_address_failure_limit
    more = api.post("/api/v1/verifications", json={
        "email": "victim@example.com", "purpose": "preferences", "conversation_id": "eve-9"})
    assert more.status_code == 201
    tries = [api.post(f"/api/v1/verifications/{more.json()['verification_id']}/confirm",
                      json={"code": "000000"}) for _ in range(2)]
    assert [(t.status_code, t.json()["error"], t.json()["attempts_left"]) for t in tries] == [
        (429, "too_many_attempts", 0)] * 2
    ok = api.post(f"/api/v1/verifications/{vids[2]}/confirm", json={"code": code})
    assert ok.status_code == 200
    api.clock.advance(hours=api.settings.code_address_failure_window_hours)
    fresh = api.post("/api/v1/verifications", json={
        "email": "victim@example.com", "purpose": "preferences", "conversation_id": "owner"})
    assert fresh.status_code == 201
    bad = api.post(f"/api/v1/verifications/{fresh.json()['verification_id']}/confirm",
                   json={"code": _wrong(api.last_code())})
    assert bad.status_code == 400 and bad.json()["attempts_left"] == 4  # the window passed


def test_concurrent_codes_for_one_address_stay_within_the_hourly_limit(
    db: Engine, settings: Settings, clock: FakeClock
) -> None:
    """Each thread is one request of its own: its session counts, writes its code, spends a
    moment on the mail, then commits. On PostgreSQL this races without the address lock."""
    factory = make_sessionmaker(db)
    threads = 4 * settings.code_hourly_limit
    barrier = threading.Barrier(threads)
    outcomes: list[str] = []

    def issue_one(i: int) -> None:
        with factory() as session:
            barrier.wait()
            try:
                verification_service.issue(
                    session, settings=settings, secret=b"s", now=clock(),
                    purpose=VerificationPurpose.PREFERENCES, email="ada@example.com",
                    conversation_id=f"c-{i}")
                time.sleep(0.2)  # the mail is handed over before the commit
                session.commit()
                outcomes.append("issued")
            except ApiError as error:
                outcomes.append(error.code)

    workers = [threading.Thread(target=issue_one, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    with db.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(Verification))
    assert stored == outcomes.count("issued") == settings.code_hourly_limit
    assert outcomes.count("too_many_codes") == threads - settings.code_hourly_limit


def test_the_newest_code_wins_even_within_the_same_instant(api: Api) -> None:
    # The fake clock stands still: both codes carry the same created_at.
    for i in range(6):
        ref = api.create(email=f"same{i}@example.com")["reference"]
        assert api.post(f"/api/v1/requests/{ref}/resend-code").status_code == 201
        assert api.verify(ref)["status"] == "verified"
