"""The retention purge with a fixed clock: for each kind of data, one item just inside its
period and one just past it; exactly those past it go, and a dry run changes nothing but
reports the same. The periods come from the settings; the items' ages are set here. From
the auditor's side: a chat kept alive by weekly use, old one-time codes with their
addresses, and the addresses typed into failed console logins do not stay forever."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privacy_backend import cli
from privacy_backend.core.models import (
    ConversationLink,
    Export,
    Handoff,
    LoginAttempt,
    OutboundMail,
    PrivacyRequest,
    Verification,
)
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

    # The codes: the late request's, and the three proofs', all expired months ago (the
    # early request's goes with the request).
    expected = {"conversations never verified": 1, "verified conversations": 1,
                "mail files": 1, "requests closed unverified": 1, "export packages": 1,
                "verification codes": 4, "links to conversations past their maximum age": 0,
                "failed console logins": 0}
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


def _weekly(store: TrackerStore, conversation: str, first: datetime, until: datetime) -> None:
    """A chat used every week from `first` on (a Slack user, a widget chat resumed from its
    token): it is never idle for a retention period."""
    at = first
    while at < until:
        chat(store, conversation, at, ("hello again", "hi"))
        at += 7 * DAY


def test_a_chat_in_weekly_use_still_goes_at_its_maximum_age(api: Api, store: TrackerStore
                                                           ) -> None:
    s, now = api.settings, api.clock.now
    unverified_max = timedelta(days=s.retention_unverified_conversation_max_days)
    verified_max = timedelta(days=s.retention_verified_conversation_max_days)
    _weekly(store, "slack-old", now - unverified_max - HOUR, now)
    _weekly(store, "slack-new", now - unverified_max + DAY, now)
    _weekly(store, "verified-old", now - verified_max - HOUR, now)
    _weekly(store, "verified-new", now - verified_max + DAY, now)
    for conversation in ("verified-old", "verified-new"):
        api.proof(f"{conversation}@example.com", conversation)

    counts = _purge(api, store, now, dry_run=False)
    assert (counts["conversations never verified"], counts["verified conversations"]) == (1, 1)
    assert event_count(store, "slack-old") == event_count(store, "verified-old") == 0
    assert event_count(store, "slack-new") > 0 and event_count(store, "verified-new") > 0


def test_a_link_whose_chat_is_gone_goes_at_the_maximum_age(api: Api, store: TrackerStore
                                                          ) -> None:
    # An address linked to a conversation whose events are gone (erased some other way):
    # nothing in the tracker store brings the link to the purge's attention.
    api.proof("ada@example.com", "gone-chat")
    chat(store, "kept-chat", api.clock.now, ("hello", "hi"))
    api.proof("bob@example.com", "kept-chat")
    later = api.clock.now + timedelta(days=api.settings.retention_verified_conversation_max_days,
                                      hours=1)
    chat(store, "kept-chat", later - DAY, ("still here", "hi"))  # in use, past its maximum age
    counts = _purge(api, store, later, dry_run=False)
    assert counts["links to conversations past their maximum age"] == 1
    assert counts["verified conversations"] == 1
    with Session(api.engine) as session:
        assert session.scalars(select(ConversationLink.email)).all() == []


def test_a_maximum_age_shorter_than_the_idle_period_is_refused() -> None:
    with pytest.raises(ValueError, match="RETENTION_UNVERIFIED_CONVERSATION_MAX_DAYS"):
        Settings(_env_file=None, retention_unverified_conversation_days=30,
                 retention_unverified_conversation_max_days=10)


def test_codes_go_after_their_period_and_the_request_keeps_its_verification(
        api: Api, store: TrackerStore) -> None:
    s = api.settings
    reference = str(api.create(email="ada@example.com", conversation_id="c-ada")["reference"])
    api.verify(reference)
    api.proof("ada@example.com", "c-ada")
    # Expired RETENTION_VERIFICATION_DAYS ago (a code lives CODE_TTL_MINUTES).
    api.clock.advance(days=s.retention_verification_days, minutes=s.code_ttl_minutes + 1)
    api.proof("bob@example.com", "c-bob")

    assert _purge(api, store, api.clock.now, dry_run=False)["verification codes"] == 2
    with Session(api.engine) as session:
        held = session.execute(select(Verification.email, Verification.conversation_id)).all()
        code_mails = session.scalar(select(func.count()).select_from(OutboundMail).where(
            OutboundMail.verification_id.is_not(None)))
    assert [tuple(row) for row in held] == [("bob@example.com", "c-bob")]
    assert code_mails == 1
    kept = api.staff.get(f"/api/v1/requests/{reference}").json()
    assert kept["status"] == "verified" and kept["verified_at"] is not None


def test_failed_console_logins_go_once_out_of_the_lockout_window(api: Api, store: TrackerStore
                                                                ) -> None:
    def fail(address: str) -> None:
        tried = api.client.post("/console/api/login",
                                json={"email": address, "password": "not-the-password"})
        assert tried.status_code == 401, tried.text

    fail("someone.else@example.org")  # an address typed by whoever was guessing
    api.clock.advance(minutes=api.settings.login_window_minutes + 1)
    fail("recent@example.org")
    assert _purge(api, store, api.clock.now, dry_run=False)["failed console logins"] == 1
    with Session(api.engine) as session:
        assert session.scalars(select(LoginAttempt.email)).all() == ["recent@example.org"]
