"""Creating, reading and listing privacy requests."""

from __future__ import annotations

from datetime import date, datetime

from .support import Api


def test_create_returns_201_with_reference_due_date_and_emails_a_code(api: Api) -> None:
    # Filed by an authorized agent: the request is the consumer's, the code goes to the agent.
    response = api.post("/api/v1/requests", json={
        "type": "deletion", "email": "Agent@LawFirm.example", "consumer_email": "Ada@Example.com",
        "name": "Ada", "region": "California", "authorized_agent": True,
        "details": "all of it", "channel": "slack", "conversation_id": "c-42"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["reference"].startswith("PR-") and len(body["reference"]) == 12
    assert response.headers["location"] == f"/api/v1/requests/{body['reference']}"
    assert body["status"] == "pending_verification"
    assert body["email"] == "ada@example.com"
    assert body["agent_email"] == "agent@lawfirm.example" and body["awaiting_consumer"] is False
    assert body["jurisdiction"] == "CA" and body["authorized_agent"] is True
    assert body["channel"] == "slack" and body["conversation_id"] == "c-42"
    assert body["created_at"].startswith("2025-03-10T14:30")
    assert datetime.fromisoformat(body["due_at"].replace("Z", "+00:00")).date() == date(2025, 4, 24)
    [mail] = api.mails()
    assert mail["To"] == "agent@lawfirm.example"
    assert body["reference"] in mail.get_payload()
    assert len(api.last_code()) == 6
    assert api.counts() == {"outbound_mail": 1, "verifications": 1, "audit_events": 2,
                            "privacy_requests": 1, "export_downloads": 0, "exports": 0,
                            "conversation_links": 0, "suppressions": 0}


def test_get_accepts_a_sloppy_reference_and_404s_unknown(api: Api) -> None:
    ref = api.create()["reference"]
    sloppy = ref.lower().replace("-", " ")
    assert api.staff.get(f"/api/v1/requests/{sloppy}").json()["reference"] == ref
    missing = api.staff.get("/api/v1/requests/PR-2222-2222")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


def test_references_are_unique_and_use_the_unambiguous_alphabet(api: Api) -> None:
    refs = {api.create(email=f"u{i}@example.com")["reference"] for i in range(20)}
    assert len(refs) == 20
    assert not any(set(r[3:].replace("-", "")) & set("01OILU") for r in refs)


def test_list_filters_by_email_type_status_and_due_date(api: Api) -> None:
    a = api.create(email="a@example.com", type="access")
    b = api.create(email="b@example.com", type="deletion", region="Germany")
    api.verify(b["reference"])

    def refs(query: str) -> set[str]:
        response = api.staff.get(f"/api/v1/requests{query}")
        assert response.status_code == 200, response.text
        return {item["reference"] for item in response.json()}

    assert refs("") == {a["reference"], b["reference"]}
    assert refs("?email=A@example.com") == {a["reference"]}
    assert refs("?type=deletion") == {b["reference"]}
    assert refs("?status=verified") == {b["reference"]}
    assert refs("?status=pending_verification&type=access") == {a["reference"]}
    # GDPR: 2025-04-10, US: 2025-04-24
    assert refs("?due_before=2025-04-11") == {b["reference"]}
    assert refs("?due_before=2025-04-25T00:00:00Z") == {a["reference"], b["reference"]}
    assert api.staff.get("/api/v1/requests?status=bogus").status_code == 422
    # A bare number is not a date (pydantic alone would read it as a Unix time).
    for number in ("-1437", "1700000000", "1.5e9"):
        bad = api.staff.get(f"/api/v1/requests?due_before={number}")
        assert bad.status_code == 422, (number, bad.text)
        assert "ISO 8601" in bad.text


def test_openapi_and_health_need_no_token(api: Api) -> None:
    assert api.client.get("/health").json() == {"status": "ok", "database": "ok",
                                                 "version": "0.1.0"}
    paths = api.client.get("/openapi.json").json()["paths"]
    assert "/api/v1/requests/{reference}/verify" in paths
    assert "/api/v1/verifications/{verification_id}/confirm" in paths
