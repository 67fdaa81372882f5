"""The yearly request metrics (CCPA regs §7102): a calendar year seeded through the real API
and the console's workbench under a FakeClock — requests of several types received in the
year and either side of it, completed in whole and in part, denied for different reasons,
closed unverified, a duplicate, open ones, opt-outs, appeals granted, denied and open — and
the figures, worked out by hand below, from the staff API, the console's JSON and CSV, and
the CLI. An agent-role console user, the assistant's token and no token get nothing.

Counting (`services.metrics`): a request counts in the UTC year of its receipt; duplicates
apart; denied = rejected + closed unverified (which counts as identity_not_verified); days
to respond = UTC calendar days from receipt to the answer, over the completed and rejected
requests; opt-outs complied with at once; appeals by the year of their receipt."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from privacy_backend import cli
from privacy_backend.core.models import AgentRole

from .console_support import Console, logged_in
from .support import Api

ADMIN = "priya.admin@example.com"
AGENT = "sam@example.com"
YEAR = 2025


def at(y: int, m: int, d: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=timezone.utc)


@pytest.fixture
def api(store_api: Api) -> Api:
    return store_api


@pytest.fixture
def admin(api: Api) -> Console:
    return logged_in(api, ADMIN, "Priya", AgentRole.PRIVACY_ADMIN)


class Seeder:
    """Files and works requests through the API and the console, at the times given."""

    def __init__(self, api: Api, admin: Console) -> None:
        self.api = api
        self.admin = admin

    def file(self, when: datetime, kind: str, email: str, region: str = "California",
             verify: bool = True) -> str:
        self.api.clock.now = when
        ref = str(self.api.create(type=kind, email=email, region=region,
                                  conversation_id=f"conv-{email.split('@')[0]}")["reference"])
        if verify:
            self.api.clock.now = when + timedelta(minutes=5)
            self.api.verify(ref)
        return ref

    def console(self, when: datetime) -> Console:
        """The admin, signed in afresh at `when` (a console session ends when idle)."""
        self.api.clock.now = when
        assert self.admin.login().status_code == 200
        return self.admin

    def act(self, when: datetime, ref: str, action: str, **body: Any) -> dict[str, Any]:
        self.console(when)
        if action == "complete":  # started first, the same day
            assert self.admin.post(f"/requests/{ref}/actions",
                                   {"action": "start"}).status_code == 200
        response = self.admin.post(f"/requests/{ref}/actions", {"action": action, **body})
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def patch(self, when: datetime, ref: str, **body: Any) -> None:
        self.api.clock.now = when
        if body["status"] == "completed":  # started first, the same day
            assert self.api.staff.patch(f"/api/v1/requests/{ref}",
                                        json={"status": "in_progress"}).status_code == 200
        response = self.api.staff.patch(f"/api/v1/requests/{ref}", json=body)
        assert response.status_code == 200, response.text

    def appeal(self, when: datetime, ref: str) -> str:
        self.api.clock.now = when
        response = self.api.staff.post(f"/api/v1/requests/{ref}/appeals",
                                       json={"reason": "I disagree with the denial."})
        assert response.status_code == 201, response.text
        return str(response.json()["reference"])

    def decide(self, when: datetime, appeal: str, outcome: str) -> None:
        self.console(when)
        response = self.admin.post(f"/appeals/{appeal}/decision",
                                   {"outcome": outcome, "reason": "Reviewed in full."})
        assert response.status_code == 200, response.text

    def opt_out(self, when: datetime, kind: str, email: str) -> None:
        self.api.clock.now = when
        response = self.api.post("/api/v1/opt-outs", json={
            "kind": kind, "email": email, "conversation_id": f"conv-opt-{email.split('@')[0]}"})
        assert response.status_code == 201, response.text


@pytest.fixture
def seeded(api: Api, admin: Console) -> dict[str, str]:
    """The seeded history, in time order (the clock only moves forward). Name -> reference."""
    s = Seeder(api, admin)
    refs: dict[str, str] = {}
    # 2024, the last days: counted in 2024, not in 2025.
    s.opt_out(at(2024, 12, 30), "sale_sharing", "o0@example.com")
    refs["A6"] = s.file(at(2024, 12, 31, 23, 30), "access", "a6@example.com")
    s.patch(at(2025, 1, 2), refs["A6"], status="completed")  # 2024-12-31 -> 2025-01-02: 2 days

    # Access, 2025.
    refs["A1"] = s.file(at(2025, 1, 6), "access", "a1@example.com")
    s.patch(at(2025, 1, 9, 15), refs["A1"], status="completed")  # 3 days, in whole (API)
    refs["A2"] = s.file(at(2025, 1, 20), "access", "a2@example.com")
    s.act(at(2025, 1, 30), refs["A2"], "complete", partial=True,
          note="The call recordings are withheld: they hold other people's data.")  # 10, part
    refs["A3"] = s.file(at(2025, 2, 3), "access", "a3@example.com", region="Virginia")
    s.act(at(2025, 3, 16), refs["A3"], "deny", denial_reason="exemption",
          note="Kept under a legal obligation.")  # 2025-02-03 -> 2025-03-16: 41 days
    appeal_a3 = s.appeal(at(2025, 3, 20), refs["A3"])
    s.decide(at(2025, 4, 4), appeal_a3, "denied")  # appeal decided in 15 days; stays denied
    refs["A4"] = s.file(at(2025, 4, 7), "access", "a4@example.com")  # stays verified: open
    # The same person asks again while A4 is open: a duplicate, not a second request.
    refs["A5"] = s.file(at(2025, 4, 8), "access", "a4@example.com")

    # Deletion, 2025.
    refs["D1"] = s.file(at(2025, 5, 5), "deletion", "d1@example.com")
    s.act(at(2025, 5, 6), refs["D1"], "complete")  # 1 day, in whole
    refs["D2"] = s.file(at(2025, 6, 2), "deletion", "d2@example.com", verify=False)
    api.clock.now = at(2025, 6, 2) + timedelta(days=api.settings.unverified_close_days, hours=1)
    assert api.close_unverified() == 1  # denied: identity not verified; no days
    refs["D3"] = s.file(at(2025, 6, 16), "deletion", "d3@example.com", region="Virginia")
    s.act(at(2025, 6, 18), refs["D3"], "deny", denial_reason="unfounded",
          note="The fifth identical request this month.")
    appeal_d3 = s.appeal(at(2025, 6, 20), refs["D3"])
    s.decide(at(2025, 6, 30), appeal_d3, "granted")  # 10 days; D3 reopens: open again

    # Know, 2025 (and one on the first minutes of 2026).
    refs["K1"] = s.file(at(2025, 7, 7), "know", "k1@example.com", region="Virginia")
    s.patch(at(2025, 7, 10), refs["K1"], status="rejected",
            note="No record of this person.")  # 3 days; no reason given over the API: other
    s.appeal(at(2025, 7, 15), refs["K1"])  # stays open

    # Correction, 2025.
    refs["C1"] = s.file(at(2025, 8, 4), "correction", "c1@example.com")
    s.act(at(2025, 8, 5), refs["C1"], "start")  # in progress: open
    refs["C2"] = s.file(at(2025, 8, 11), "correction", "c2@example.com")
    s.act(at(2025, 8, 12), refs["C2"], "deny", denial_reason="agent_not_authorized",
          note="The agent's authority could not be confirmed.")  # 1 day

    # Opt-outs, 2025.
    s.opt_out(at(2025, 9, 1), "sale_sharing", "o1@example.com")
    s.opt_out(at(2025, 9, 2), "sale_sharing", "o2@example.com")
    s.opt_out(at(2025, 9, 3), "limit_sensitive", "o3@example.com")

    # Across the new year: received in 2025, answered in 2026.
    refs["K2"] = s.file(at(2025, 12, 29), "know", "k2@example.com")
    refs["K3"] = s.file(at(2026, 1, 1, 0, 10), "know", "k3@example.com")  # 2026: not counted
    s.patch(at(2026, 1, 2), refs["K2"], status="completed")  # 2025-12-29 -> 2026-01-02: 4
    s.console(at(2026, 1, 2, 11))
    return refs


def zero_denied(**given: int) -> dict[str, int]:
    reasons = {"identity_not_verified": 0, "agent_not_authorized": 0, "exemption": 0,
               "unfounded": 0, "other": 0}
    return {**reasons, **given}


def row(kind: str, received: int, whole: int, part: int, denied: dict[str, int], open_: int,
        duplicates: int, median: float | None, mean: float | None) -> dict[str, Any]:
    return {"request_type": kind, "received": received, "complied_in_whole": whole,
            "complied_in_part": part, "denied": sum(denied.values()),
            "denied_by_reason": denied, "open": open_, "duplicates": duplicates,
            "median_days": median, "mean_days": mean}


# 2025, by hand:
# access: A1, A2, A3, A4 received (A5 is A4's duplicate; A6 was received in 2024).
#   A1 whole, A2 in part, A3 denied (exemption), A4 open. Days: A1 3, A2 10, A3 41
#   -> sorted 3, 10, 41: median 10; mean (3 + 10 + 41) / 3 = 54 / 3 = 18.0.
# portability: nothing.
# deletion: D1, D2, D3. D1 whole (1 day); D2 closed unverified (identity_not_verified, no
#   days); D3 denied, then its appeal granted: open again, no days. Days: 1 -> 1.0, 1.0.
# correction: C1 open (in progress); C2 denied (agent_not_authorized), 1 day -> 1.0, 1.0.
# know: K1 denied without a reason (other), 3 days; K2 whole, 2025-12-29 -> 2026-01-02,
#   4 days (K3 was received in 2026). Days 3, 4: median (3 + 4) / 2 = 3.5, mean 3.5.
# opt-outs: sale_sharing o1, o2 (o0 was 2024): 2, at once, 0 days; limit_sensitive o3: 1.
# appeals: A3's (received 03-20, denied 04-04: 15 days), D3's (06-20, granted 06-30: 10
#   days), K1's (open): received 3, granted 1, denied 1, open 1; days 10, 15: median 12.5,
#   mean 25 / 2 = 12.5.
EXPECTED_2025 = {
    "year": 2025,
    "types": [
        row("know", 2, 1, 0, zero_denied(other=1), 0, 0, 3.5, 3.5),
        row("access", 4, 1, 1, zero_denied(exemption=1), 1, 1, 10.0, 18.0),
        row("portability", 0, 0, 0, zero_denied(), 0, 0, None, None),
        row("deletion", 3, 1, 0, zero_denied(identity_not_verified=1), 1, 0, 1.0, 1.0),
        row("correction", 2, 0, 0, zero_denied(agent_not_authorized=1), 1, 0, 1.0, 1.0),
        row("sale_sharing", 2, 2, 0, zero_denied(), 0, 0, 0.0, 0.0),
        row("limit_sensitive", 1, 1, 0, zero_denied(), 0, 0, 0.0, 0.0),
    ],
    "appeals": {"received": 3, "granted": 1, "denied": 1, "open": 1, "median_days": 12.5,
                "mean_days": 12.5},
}

EXPECTED_CSV_2025 = (
    "year,request_type,received,complied_in_whole,complied_in_part,denied,"
    "denied_identity_not_verified,denied_agent_not_authorized,denied_exemption,"
    "denied_unfounded,denied_other,open,duplicates,median_days,mean_days\r\n"
    "2025,know,2,1,0,1,0,0,0,0,1,0,0,3.5,3.5\r\n"
    "2025,access,4,1,1,1,0,0,1,0,0,1,1,10.0,18.0\r\n"
    "2025,portability,0,0,0,0,0,0,0,0,0,0,0,,\r\n"
    "2025,deletion,3,1,0,1,1,0,0,0,0,1,0,1.0,1.0\r\n"
    "2025,correction,2,0,0,1,0,1,0,0,0,1,0,1.0,1.0\r\n"
    "2025,sale_sharing,2,2,0,0,0,0,0,0,0,0,0,0.0,0.0\r\n"
    "2025,limit_sensitive,1,1,0,0,0,0,0,0,0,0,0,0.0,0.0\r\n"
    "2025,appeals,3,1,,1,,,,,,1,,12.5,12.5\r\n"
)


def test_a_seeded_year_counts_as_worked_out_by_hand(
        api: Api, admin: Console, seeded: dict[str, str]) -> None:
    # The seed did what it says (the statuses the figures rest on).
    statuses = {name: api.staff.get(f"/api/v1/requests/{ref}").json()["status"]
                for name, ref in seeded.items()}
    assert statuses == {
        "A6": "completed", "A1": "completed", "A2": "completed", "A3": "rejected",
        "A4": "verified", "A5": "duplicate", "D1": "completed", "D2": "closed_unverified",
        "D3": "in_progress", "K1": "rejected", "C1": "in_progress", "C2": "rejected",
        "K2": "completed", "K3": "verified"}

    response = api.staff.get("/api/v1/metrics?year=2025")
    assert response.status_code == 200, response.text
    assert response.json() == EXPECTED_2025

    # The console's JSON is the same; its CSV is the table written out.
    console_json = admin.get("/metrics?year=2025")
    assert console_json.status_code == 200, console_json.text
    assert console_json.json() == EXPECTED_2025
    download = admin.get("/metrics.csv?year=2025")
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"] == (
        'attachment; filename="privacy-metrics-2025.csv"')
    assert download.text == EXPECTED_CSV_2025


def test_the_year_before_holds_only_what_was_received_in_it(
        api: Api, admin: Console, seeded: dict[str, str]) -> None:
    # 2024: A6 (received 2024-12-31 23:30 UTC, completed 2025-01-02: 2 days) and o0.
    body = api.staff.get("/api/v1/metrics?year=2024").json()
    access = next(t for t in body["types"] if t["request_type"] == "access")
    assert access == row("access", 1, 1, 0, zero_denied(), 0, 0, 2.0, 2.0)
    sale = next(t for t in body["types"] if t["request_type"] == "sale_sharing")
    assert sale["received"] == 1
    assert sum(t["received"] for t in body["types"]) == 2
    assert body["appeals"]["received"] == 0
    # 2026: K3 only (received 00:10 on New Year's Day), still open.
    later = api.staff.get("/api/v1/metrics?year=2026").json()
    know = next(t for t in later["types"] if t["request_type"] == "know")
    assert know == row("know", 1, 0, 0, zero_denied(), 1, 0, None, None)


def test_the_cli_prints_the_same_figures(
        api: Api, seeded: dict[str, str], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The command opens the configured database: here, the test's own engine.
    import privacy_backend.core.db as db

    monkeypatch.setattr(db, "make_engine", lambda url, **kw: api.engine)
    args = cli.build_parser().parse_args(["metrics", "--year", "2025", "--csv"])
    assert args.func(api.settings, args) == 0
    assert capsys.readouterr().out == EXPECTED_CSV_2025.replace("\r\n", "\n")

    args = cli.build_parser().parse_args(["metrics", "--year", "2025"])
    assert args.func(api.settings, args) == 0
    table = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert table[0][:3] == ["year", "request_type", "received"]
    assert table[2] == ["2025", "access", "4", "1", "1", "1", "0", "0", "1", "0", "0", "1",
                        "1", "10.0", "18.0"]
    assert table[-1] == ["2025", "appeals", "3", "1", "1", "1", "12.5", "12.5"]


def test_only_staff_and_privacy_admins_read_the_metrics(api: Api, admin: Console) -> None:
    agent = logged_in(api, AGENT, "Sam", AgentRole.AGENT)
    for path in ("/metrics?year=2025", "/metrics.csv?year=2025"):
        refused = agent.get(path)
        assert refused.status_code == 403, path
        assert "year" not in refused.text
    assert api.get("/api/v1/metrics?year=2025").status_code == 403  # the assistant's token
    anonymous = api.client.get("/api/v1/metrics?year=2025")
    assert anonymous.status_code == 401
    # Logged out: the console's session cookie is gone, so is the access.
    assert admin.post("/logout").status_code in (200, 204)
    assert admin.get("/metrics.csv?year=2025").status_code == 401


@pytest.mark.parametrize("year", ["1999", "10000", "last", ""])
def test_a_year_out_of_range_is_refused(api: Api, admin: Console, year: str) -> None:
    assert api.staff.get(f"/api/v1/metrics?year={year}").status_code == 422
    assert admin.get(f"/metrics.csv?year={year}").status_code == 422
