"""What each credential may do, from the attacker's side: the assistant's token on staff
routes, and on one address's requests and choices without proof that the address was
verified. Every refusal writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from .support import Api

URL = "/api/v1/preferences"
ADA = {"email": "ada@example.com"}
OPT_OUT = {"source": "chat", "global_opt_out": True, "conversation_id": "conv-1"}

# Every staff-only route: (method, path, body). `{ref}` and `{handoff}` are filled in.
STAFF_ROUTES = {
    "list requests": ("GET", "/api/v1/requests", None),
    "change a status": ("PATCH", "/api/v1/requests/{ref}", {"status": "rejected", "note": "n"}),
    "extend a deadline": ("POST", "/api/v1/requests/{ref}/extend", {"reason": "busy"}),
    "read an audit trail": ("GET", "/api/v1/requests/{ref}/audit", None),
    "issue an unsubscribe link": ("POST", f"{URL}/unsubscribe-links",
                                  {"email": "ada@example.com", "scope": "all"}),
    "list handoffs": ("GET", "/api/v1/handoffs", None),
    "read a handoff": ("GET", "/api/v1/handoffs/{handoff}", None),
}


def _fill(api: Api, case: str) -> tuple[str, str, Any]:
    ref = api.create()["reference"]
    api.verify(ref)  # a request awaiting its code is not extended
    handoff = api.post("/api/v1/handoffs", json={
        "conversation_id": "conv-1", "channel": "web", "reason": "asked for a person"}).json()
    method, path, body = STAFF_ROUTES[case]
    return method, path.format(ref=ref, handoff=handoff["id"]), body


@pytest.mark.parametrize("case", sorted(STAFF_ROUTES))
def test_the_assistant_token_is_refused_on_every_staff_route(api: Api, case: str) -> None:
    method, path, body = _fill(api, case)
    before, mails = api.all_counts(), len(api.mails())
    response = api.request(method, path, json=body)
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "staff_only"
    assert "PRIVACY_STAFF_TOKEN" in response.json()["message"]
    assert api.all_counts() == before and len(api.mails()) == mails
    [request] = api.staff.get("/api/v1/requests").json()
    assert (request["status"], request["extensions_used"]) == ("verified", 0)


@pytest.mark.parametrize("case", sorted(STAFF_ROUTES))
def test_the_staff_token_may_use_every_staff_route(api: Api, case: str) -> None:
    method, path, body = _fill(api, case)
    response = api.staff.request(method, path, json=body)
    assert response.status_code == 200, response.text


# Routes both tokens may read with no proof, because they say nothing about a person.
NO_PROOF_READS = {
    "the request queue": ("/api/v1/requests/queue", {"view": "due", "days": 90}),
    "one request in the queue": ("/api/v1/requests/queue", {"reference": "{ref}"}),
}


@pytest.mark.parametrize("case", sorted(NO_PROOF_READS))
def test_both_tokens_read_the_queue_which_names_no_one(api: Api, case: str) -> None:
    ref = api.create(name="Ada Lovelace", details="my account 4471")["reference"]
    path, params = NO_PROOF_READS[case]
    params = {k: str(v).format(ref=ref) for k, v in params.items()}
    for caller in (api, api.staff):
        response = caller.get(path, params=params)
        assert response.status_code == 200, response.text
        assert [i["reference"] for i in response.json()["items"]] == [ref]
        for private in ("ada@example.com", "Ada Lovelace", "my account 4471", "conv-1"):
            assert private not in response.text


# --- preferences: the assistant needs proof of the address -----------------------------------

def _unconfirmed(api: Api) -> str:
    started = api.post("/api/v1/verifications", json={
        "email": "ada@example.com", "purpose": "preferences", "conversation_id": "conv-1"})
    return str(started.json()["verification_id"])


def _expired(api: Api) -> str:
    vid = api.proof()
    api.clock.advance(minutes=api.settings.verified_for_minutes, seconds=1)
    return vid


PROOFS = {
    "none": lambda api: None,
    "unknown": lambda api: "0" * 32,
    "unconfirmed": _unconfirmed,
    "expired": _expired,
    "another address": lambda api: api.proof("eve@example.com"),
    "another conversation": lambda api: api.proof(conversation_id="conv-eve"),
}


@pytest.mark.parametrize("proof", sorted(PROOFS))
def test_preferences_need_a_confirmed_recent_code_for_the_same_address(api: Api,
                                                                      proof: str) -> None:
    verification_id = PROOFS[proof](api)
    before = api.all_counts()
    body = {**OPT_OUT, **({"verification_id": verification_id} if verification_id else {})}
    for method, json in (("PATCH", body), ("PUT", {**body, "channels": {}})):
        response = api.request(method, URL, params=ADA, json=json)
        assert response.status_code == 403, (method, response.text)
        assert response.json()["error"] == "verification_required"
    query = {**ADA, "conversation_id": "conv-1",
             **({"verification_id": verification_id} if verification_id else {})}
    for path in (URL, f"{URL}/history"):
        assert api.get(path, params=query).status_code == 403, path
    assert api.all_counts() == before
    assert api.staff.get(URL, params=ADA).json()["updated_at"] is None


def test_a_proof_from_a_conversation_is_refused_when_the_call_names_none(api: Api) -> None:
    """Before: the conversations were compared only when both were known, so a call that left
    `conversation_id` out was accepted with a code confirmed in any conversation."""
    vid = api.proof()  # confirmed in conv-1
    before = api.all_counts()
    body = {k: v for k, v in OPT_OUT.items() if k != "conversation_id"}
    response = api.patch(URL, params=ADA, json={**body, "verification_id": vid})
    assert response.status_code == 403, response.text
    assert "conversation" in response.json()["message"]
    assert api.get(URL, params={**ADA, "verification_id": vid}).status_code == 403
    assert api.all_counts() == before


def test_preferences_with_proof_are_recorded_under_the_assistant(api: Api) -> None:
    vid = api.proof()
    changed = api.patch(URL, params=ADA, json={**OPT_OUT, "verification_id": vid})
    assert changed.status_code == 200, changed.text
    assert changed.json()["global_opt_out"] is True
    proof = {**ADA, "verification_id": vid, "conversation_id": "conv-1"}
    assert api.get(URL, params=proof).json()["global_opt_out"] is True
    [entry] = api.get(f"{URL}/history", params=proof).json()
    assert (entry["actor"], entry["source"]) == ("assistant", "chat")
    # Any confirmed code of the address proves it, within the window: a request's too.
    api.clock.advance(minutes=api.settings.verified_for_minutes - 1)
    assert api.patch(URL, params=ADA, json={**OPT_OUT, "global_opt_out": False,
                                            "verification_id": vid}).status_code == 200


def test_a_preference_write_naming_its_own_actor_is_refused(api: Api) -> None:
    before = api.all_counts()
    for client in (api, api.staff):
        response = client.patch(URL, params=ADA, json={
            **OPT_OUT, "verification_id": api.proof(), "actor": "agent:kim"})
        assert response.status_code == 422 and "actor" in response.json()["message"]
    assert api.all_counts()["preference_changes"] == before["preference_changes"]


# --- one request: the assistant reads it only with proof of its address ---------------------

def test_the_assistant_reads_a_request_only_with_proof_of_its_address(api: Api) -> None:
    ref = api.create()["reference"]
    path = f"/api/v1/requests/{ref}"
    refused = api.get(path)
    assert refused.status_code == 403 and refused.json()["error"] == "verification_required"
    # Neither another address's code, nor a preferences code, nor an unknown request.
    other = api.create(email="eve@example.com")["reference"]
    eve = api.verify(other)["verification_id"]
    assert api.get(path, params={"verification_id": eve}).status_code == 403
    assert api.get(path, params={"verification_id": api.proof()}).status_code == 403
    missing = api.get("/api/v1/requests/PR-2222-2222", params={"verification_id": eve})
    assert missing.status_code == 403
    # The request's own code proves it, in its conversation.
    assert api.post(f"{path}/resend-code").status_code == 201
    verified = api.verify(ref)
    assert verified["status"] == "verified"
    proof = {"verification_id": verified["verification_id"], "conversation_id": "conv-1"}
    assert api.get(path, params=proof).json()["status"] == "verified"
    assert api.get(path, params={**proof, "conversation_id": "conv-eve"}).status_code == 403
    api.clock.advance(minutes=api.settings.verified_for_minutes)
    assert api.get(path, params=proof).status_code == 403
    assert api.staff.get(path).status_code == 200


def test_a_status_lookup_code_proves_the_request(api: Api) -> None:
    ref = api.create(conversation_id="conv-filed")["reference"]
    started = api.post("/api/v1/requests/lookup", json={
        "reference": ref, "email": "ada@example.com", "conversation_id": "conv-2"}).json()
    vid = started["verification_id"]
    assert api.get(f"/api/v1/requests/{ref}", params={"verification_id": vid}
                   ).status_code == 403  # not confirmed yet
    api.post(f"/api/v1/verifications/{vid}/confirm", json={"code": api.last_code()})
    shown = api.get(f"/api/v1/requests/{ref}",
                    params={"verification_id": vid, "conversation_id": "conv-2"})
    assert shown.status_code == 200 and shown.json()["reference"] == ref


# --- filing a request already verified -------------------------------------------------------

def test_a_request_filed_with_proof_is_verified_without_a_code(api: Api) -> None:
    vid = api.proof()
    mails = len(api.code_mails())
    response = api.post("/api/v1/requests", json={
        "type": "deletion", "email": "ada@example.com", "conversation_id": "conv-1",
        "verification_id": vid})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["status"], body["code_sent"], body["code_expires_at"]) == (
        "verified", False, None)
    assert len(api.code_mails()) == mails  # no second code
    trail = api.staff.get(f"/api/v1/requests/{body['reference']}/audit").json()
    assert [(e["actor"], e["action"]) for e in trail] == [
        ("assistant", "created"), ("assistant", "status_changed")]
    assert vid in trail[-1]["note"]


@pytest.mark.parametrize("proof", sorted(set(PROOFS) - {"none"}))
def test_a_request_filed_with_a_bad_proof_is_refused_and_not_stored(api: Api,
                                                                   proof: str) -> None:
    verification_id = PROOFS[proof](api)
    before, mails = api.all_counts(), len(api.mails())
    response = api.post("/api/v1/requests", json={
        "type": "deletion", "email": "ada@example.com", "conversation_id": "conv-1",
        "verification_id": verification_id})
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "verification_required"
    assert api.all_counts() == before and len(api.mails()) == mails
