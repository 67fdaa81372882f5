"""Due dates per jurisdiction (configuration, not code paths) and the one-time extension."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import Engine

from privacy_backend.core.settings import DEFAULT_RULES, DeadlineRule, Settings
from privacy_backend.main import create_app
from privacy_backend.services.deadlines import add_months, initial_due, jurisdiction_for

from .support import Api, FakeClock, TestClient


def _day(value: str) -> date:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).date()


@pytest.mark.parametrize(("region", "expected"), [
    ("California", "CA"), ("CA", "CA"), ("ca", "CA"), (" new york ", "US"), ("USA", "US"),
    ("Texas, USA", "TX"), ("DE", "DE"), ("virginia", "VA"), ("Colorado", "CO"),
    ("Oregon, US", "OR"), ("Montana", "MT"), ("NE", "NE"), ("Connecticut", "CT"),
    ("Florida", "US"), ("Germany", "GDPR"), ("france", "GDPR"),
    ("IE", "GDPR"), ("EU", "GDPR"), ("United Kingdom", "GDPR"), ("Norway", "GDPR"),
    ("gdpr", "GDPR"), ("Japan", "US"), (None, "US"), ("", "US"),
])
def test_region_to_jurisdiction(region: str | None, expected: str) -> None:
    assert jurisdiction_for(region, "US", DEFAULT_RULES) == expected


def test_unknown_region_uses_the_configured_default() -> None:
    assert jurisdiction_for("Japan", "GDPR", DEFAULT_RULES) == "GDPR"


@pytest.mark.parametrize(("start", "months", "expected"), [
    (date(2025, 1, 31), 1, date(2025, 2, 28)), (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2025, 3, 10), 1, date(2025, 4, 10)), (date(2025, 12, 15), 1, date(2026, 1, 15)),
    (date(2025, 11, 30), 2, date(2026, 1, 30)), (date(2025, 3, 31), 2, date(2025, 5, 31)),
])
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_due_is_end_of_the_due_day_utc_counted_from_the_day_of_receipt() -> None:
    late = datetime(2025, 3, 10, 23, 59, tzinfo=timezone.utc)
    due = initial_due(late, DEFAULT_RULES["US"])
    assert due == datetime(2025, 4, 24, 23, 59, 59, tzinfo=timezone.utc)


def test_us_request_is_due_45_days_after_receipt_whatever_verification_takes(api: Api) -> None:
    ref = api.create(region="California")["reference"]
    api.clock.advance(days=3)
    # a new code, then verification three days later: the clock does not move
    api.post(f"/api/v1/requests/{ref}/resend-code")
    verified = api.verify(ref)
    assert _day(verified["due_at"]) == date(2025, 4, 24)


def test_gdpr_request_is_due_one_month_after_receipt(api: Api) -> None:
    body = api.create(region="Germany")
    assert body["jurisdiction"] == "GDPR"
    assert _day(body["due_at"]) == date(2025, 4, 10)


def test_us_extension_adds_45_days_once_and_notifies(api: Api) -> None:
    ref = api.create(region="Oregon")["reference"]
    api.verify(ref)
    response = api.staff.post(f"/api/v1/requests/{ref}/extend",
                              json={"reason": "large data set"})
    assert response.status_code == 200, response.text
    assert _day(response.json()["due_at"]) == date(2025, 6, 8)
    assert response.json()["extensions_used"] == 1
    [notice] = [m for m in api.mails() if "more time" in m["Subject"]]
    assert "more time" in notice["Subject"] and "June 8, 2025" in notice.get_payload()
    last = api.staff.get(f"/api/v1/requests/{ref}/audit").json()[-1]
    assert last["action"] == "extended" and last["actor"] == "staff-token"
    assert last["before"]["due_at"].startswith("2025-04-24")
    assert last["after"]["due_at"].startswith("2025-06-08")
    before = api.counts()
    again = api.staff.post(f"/api/v1/requests/{ref}/extend", json={"reason": "again"})
    assert again.status_code == 409 and again.json()["error"] == "extension_not_allowed"
    assert api.counts() == before


def test_gdpr_extension_adds_two_months(api: Api) -> None:
    ref = api.create(region="Ireland")["reference"]
    api.verify(ref)
    response = api.staff.post(f"/api/v1/requests/{ref}/extend", json={"reason": "r"})
    assert _day(response.json()["due_at"]) == date(2025, 6, 10)


def test_finished_requests_cannot_be_extended(api: Api) -> None:
    ref = api.create()["reference"]
    api.staff.patch(f"/api/v1/requests/{ref}",
                    json={"status": "rejected", "note": "not our customer"})
    response = api.staff.post(f"/api/v1/requests/{ref}/extend", json={"reason": "r"})
    assert response.status_code == 409


def test_rules_come_from_configuration(db: Engine, var_dir, monkeypatch: pytest.MonkeyPatch,
                                       clock: FakeClock) -> None:
    monkeypatch.setenv("JURISDICTION_RULES",
                       '{"US": {"days": 30, "extension_days": 0}, "GDPR": {"months": 1}}')
    monkeypatch.setenv("PRIVACY_API_TOKEN", "t")
    monkeypatch.setenv("PRIVACY_STAFF_TOKEN", "s")
    settings = Settings(_env_file=None, var_dir=var_dir)
    assert settings.jurisdiction_rules["US"] == DeadlineRule(days=30, extension_days=0)
    with TestClient(create_app(settings, engine=db, clock=clock)) as client:
        headers = {"Authorization": "Bearer t"}
        body = client.post("/api/v1/requests", headers=headers, json={
            "type": "access", "email": "a@example.com", "region": "Utah"}).json()
        assert _day(body["due_at"]) == date(2025, 4, 9)
        ext = client.post(f"/api/v1/requests/{body['reference']}/extend",
                          headers={"Authorization": "Bearer s"}, json={"reason": "r"})
        assert ext.status_code == 409  # this configuration allows no extension


def test_bad_rule_configuration_fails_loudly() -> None:
    with pytest.raises(ValueError, match="days"):
        DeadlineRule()
    with pytest.raises(ValueError, match="DEFAULT_JURISDICTION"):
        Settings(_env_file=None, default_jurisdiction="MARS")
