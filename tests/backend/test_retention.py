"""The retention purge with a fixed clock: for each kind of data, one item just inside its
period and one just past it; exactly those past it go, and a dry run changes nothing but
reports the same. The periods come from the settings; the items' ages are set here."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privacy_backend import cli
from privacy_backend.core.models import Export, Handoff, PrivacyRequest
from privacy_backend.core.settings import Settings
from privacy_backend.integrations.tracker_store import TrackerStore
from privacy_backend.services import retention

from .support import Api
from .tracker_support import chat, event_count, rasa_store

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@pytest.fixture
def api(store_api: Api) -> Api:
    return store_api


def _purge(api: Api, store: TrackerStore, now: datetime, dry_run: bool) -> dict[str, int]:
    with Session(api.engine) as session:
        return retention.purge(session, store, api.settings, now=now, dry_run=dry_run).counts


def _mail_file(settings: Settings, name: str, written: datetime) -> Path:
    settings.mail_path.mkdir(parents=True, exist_ok=True)
    path = settings.mail_path / f"{name}.eml"
    path.write_text("To: someone@example.com\n\nhello\n")
    os.utime(path, (written.timestamp(), written.timestamp()))
    return path


def test_exactly_what_is_past_its_period_goes(api: Api, store: TrackerStore) -> None:
    s, start = api.settings, api.clock.now
    # Requests closed unverified: both filed now, one closed a day later than the other.
    early = str(api.create(email="early@example.com", conversation_id="c-early")["reference"])
    api.clock.advance(days=1)
    late = str(api.create(email="late@example.com", conversation_id="c-late")["reference"])
    api.clock.now = start + timedelta(days=s.unverified_close_days) + HOUR
    assert api.close_unverified() == 1
    assert api.staff.get(f"/api/v1/requests/{early}").json()["status"] == "closed_unverified"
    early_closed = api.clock.now
    api.clock.now = start + DAY + timedelta(days=s.unverified_close_days) + HOUR
    assert api.close_unverified() == 1
    assert api.staff.get(f"/api/v1/requests/{late}").json()["status"] == "closed_unverified"

    # The fixed "now" of the purge, and everything's age relative to it.
    now = early_closed + timedelta(days=s.retention_closed_unverified_days) + HOUR
    unverified, verified = (timedelta(days=s.retention_unverified_conversation_days),
                            timedelta(days=s.retention_verified_conversation_days))
    chat(store, "old-anon", now - unverified - HOUR, ("hello", "hi"))
    chat(store, "new-anon", now - unverified + HOUR, ("hello", "hi"))
    chat(store, "old-verified", now - verified - HOUR, ("hello", "hi"))
    chat(store, "new-verified", now - verified + HOUR, ("hello", "hi"))
    chat(store, "verified-month-old", now - unverified - HOUR, ("hello", "hi"))
    for conversation in ("old-verified", "new-verified", "verified-month-old"):
        api.proof(f"{conversation}@example.com", conversation)
    api.post("/api/v1/handoffs", json={"conversation_id": "old-anon", "reason": "a person"})
    old_mail = _mail_file(s, "old", now - timedelta(days=s.retention_mail_days) - HOUR)
    new_mail = _mail_file(s, "new", now - timedelta(days=s.retention_mail_days) + HOUR)
    with Session(api.engine) as session:
        request_id = session.scalar(select(PrivacyRequest.id).where(
            PrivacyRequest.reference == late))
        for name, expires in (("expired", now - HOUR), ("live", now + HOUR)):
            session.add(Export(id=name, request_id=request_id, schema_version="1",
                               sealed="sealed", created_at=now - 7 * DAY, expires_at=expires))
        session.commit()

    expected = {"conversations never verified": 1, "verified conversations": 1,
                "mail files": 1, "requests closed unverified": 1, "export packages": 1}
    events_before = {c: event_count(store, c) for c in (
        "old-anon", "new-anon", "old-verified", "new-verified", "verified-month-old")}
    assert _purge(api, store, now, dry_run=True) == expected
    assert {c: event_count(store, c) for c in events_before} == events_before
    assert old_mail.exists() and api.staff.get(f"/api/v1/requests/{early}").status_code == 200

    assert _purge(api, store, now, dry_run=False) == expected
    assert {c: event_count(store, c) for c in events_before} == {
        "old-anon": 0, "new-anon": 2, "old-verified": 0, "new-verified": 2,
        "verified-month-old": 2}
    assert not old_mail.exists() and new_mail.exists()
    assert api.staff.get(f"/api/v1/requests/{early}").status_code == 404
    assert api.staff.get(f"/api/v1/requests/{late}").json()["status"] == "closed_unverified"
    assert api.staff.get(f"/api/v1/requests/{early}/audit").status_code == 404
    with Session(api.engine) as session:
        assert session.scalar(select(func.count()).select_from(Handoff)) == 0
        packages = dict(session.execute(select(Export.id, Export.sealed)).all())
    assert packages == {"expired": None, "live": "sealed"}
    # Nothing is left to go: a second purge deletes nothing.
    assert set(_purge(api, store, now, dry_run=False).values()) == {0}


def test_the_command_line_prints_what_it_would_delete_and_what_it_deleted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    var = tmp_path / "var"
    monkeypatch.setenv("VAR_DIR", str(var))
    monkeypatch.setenv("TRACKER_STORE_DB", str(tmp_path / "rasa_tracker.db"))
    store = rasa_store(tmp_path)
    chat(store, "ancient", datetime(2020, 1, 1).astimezone(), ("hello", "hi"))
    store.close()
    assert cli.main(["purge", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would delete 1 conversations never verified" in out
    assert "would delete 0 mail files" in out
    assert cli.main(["purge"]) == 0
    assert "deleted 1 conversations never verified" in capsys.readouterr().out
    assert cli.main(["purge"]) == 0
    assert "deleted 0 conversations never verified" in capsys.readouterr().out
