"""Denials, partial completions and the deadlines the state laws set around them: a denial
records its kind of reason and its email says how to appeal and within how long the appeal
is decided; a request completed in part says what was withheld; the extension needs notice
within the first period; receipt is confirmed by the code's email at filing (CCPA regs
§7021(a)); a request nobody verified is closed as identity not verified; staff do not
verify an authorized agent's request in the consumer's place.

Requests are filed through the real API on 10 March 2025, 14:30 UTC; the dates below are
written out by hand from the jurisdictions' rules (California: 45 days, appeals decided
within 60; Oregon: appeals within 45)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timezone
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from privacy_backend.core.models import AgentRole, DenialReason, PrivacyRequest
from privacy_backend.core.settings import Settings
from privacy_backend.mail.mailer import FileMailer, MailError
from privacy_backend.main import create_app
from privacy_backend.services import workbench

from .console_support import Console, logged_in
from .support import Api, FakeClock, TestClient, mail_text, mails_to, one_mail

ADA = "ada@example.com"
ADMIN = "priya.admin@example.com"
FILED = datetime(2025, 3, 10, 14, 30, tzinfo=timezone.utc)


@pytest.fixture
def api(store_api: Api) -> Api:
    return store_api


@pytest.fixture
def admin(api: Api) -> Console:
    return logged_in(api, ADMIN, "Priya", AgentRole.PRIVACY_ADMIN)


def _row(api: Api, reference: str) -> PrivacyRequest:
    with Session(api.engine) as session:
        row = session.scalar(select(PrivacyRequest).where(PrivacyRequest.reference == reference))
        assert row is not None
        return row


def _verified(api: Api, region: str = "California", request_type: str = "access") -> str:
    ref = str(api.create(type=request_type, email=ADA, region=region)["reference"])
    api.verify(ref)
    return ref


def _patch(api: Api, ref: str, **body: Any) -> Any:
    return api.staff.patch(f"/api/v1/requests/{ref}", json=body)


# -- denials --------------------------------------------------------------------------------
def test_a_denial_records_its_kind_and_tells_how_to_appeal(api: Api) -> None:
    ref = _verified(api)
    denied = _patch(api, ref, status="rejected", denial_reason="exemption",
                    note="The records are kept under a legal obligation.")
    assert denied.status_code == 200, denied.text
    row = _row(api, ref)
    assert (row.status.value, row.denial_reason) == ("rejected", DenialReason.EXEMPTION)
    assert row.closed_at == FILED
    text = mail_text(one_mail(api, ADA, f"Your privacy request {ref}"))
    assert "Reason: The records are kept under a legal obligation." in text
    assert f'"I want to appeal {ref}"' in text
    assert "reply to this email" in text
    assert "within 60 days" in text


def test_the_appeal_window_in_the_denial_is_the_jurisdictions(api: Api) -> None:
    ref = _verified(api, region="Oregon")
    assert _patch(api, ref, status="rejected", note="No account.").status_code == 200
    assert "within 45 days" in mail_text(one_mail(api, ADA, f"Your privacy request {ref}"))


def test_a_denial_without_a_kind_is_other_and_a_bad_kind_is_refused(api: Api) -> None:
    ref = _verified(api)
    before = api.counts()
    for body in ({"status": "rejected", "note": "x", "denial_reason": "because"},
                 {"status": "in_progress", "denial_reason": "exemption"}):
        refused = _patch(api, ref, **body)
        assert refused.status_code == 422, body
    assert api.counts() == before
    assert _patch(api, ref, status="rejected", note="No account.").status_code == 200
    assert _row(api, ref).denial_reason is DenialReason.OTHER


def test_the_workbench_denies_with_the_kind_given(api: Api, admin: Console) -> None:
    ref = _verified(api)
    done = admin.post(f"/requests/{ref}/actions", {
        "action": "deny", "note": "Asked three times this year.", "denial_reason": "unfounded"})
    assert done.status_code == 200, done.text
    assert _row(api, ref).denial_reason is DenialReason.UNFOUNDED


def test_a_request_nobody_verified_is_closed_as_identity_not_verified(api: Api) -> None:
    ref = str(api.create(email=ADA)["reference"])
    api.clock.advance(days=8)
    assert api.close_unverified() == 1
    row = _row(api, ref)
    assert (row.status.value, row.denial_reason) == (
        "closed_unverified", DenialReason.IDENTITY_NOT_VERIFIED)


# -- partial completion ---------------------------------------------------------------------
def test_a_partial_completion_needs_what_was_withheld_and_says_so(api: Api) -> None:
    ref = _verified(api)
    assert _patch(api, ref, status="in_progress").status_code == 200
    before, mails = api.all_counts(), len(api.mails())
    refused = _patch(api, ref, status="completed", partial=True)
    assert refused.status_code == 422 and refused.json()["error"] == "note_required"
    assert api.all_counts() == before and len(api.mails()) == mails
    assert not _row(api, ref).partial

    withheld = "Payment card numbers are withheld: disclosing them is a security risk."
    done = _patch(api, ref, status="completed", partial=True, note=withheld)
    assert done.status_code == 200, done.text
    row = _row(api, ref)
    assert (row.status.value, row.partial) == ("completed", True)
    answer = one_mail(api, ADA, f"Your privacy request {ref} is complete")
    assert f"We have completed your access request {ref} in part." in mail_text(answer)
    assert f"What we did not do, and why: {withheld}" in mail_text(answer)


def test_a_whole_completion_is_not_partial(api: Api) -> None:
    ref = _verified(api, request_type="know")
    assert _patch(api, ref, status="in_progress").status_code == 200
    assert _patch(api, ref, status="completed").status_code == 200
    assert _row(api, ref).partial is False
    done = one_mail(api, ADA, f"Your privacy request {ref} is complete")
    assert " in part" not in mail_text(done)


# -- the extension --------------------------------------------------------------------------
def test_the_extension_needs_notice_within_the_first_period(api: Api) -> None:
    ref = _verified(api)  # due April 24, 2025
    api.clock.now = datetime(2025, 4, 24, 23, 0, tzinfo=timezone.utc)
    admin = logged_in(api, ADMIN, "Priya", AgentRole.PRIVACY_ADMIN)
    assert "extend" in admin.get(f"/requests/{ref}").json()["actions"]
    api.clock.now = datetime(2025, 4, 25, 0, 1, tzinfo=timezone.utc)
    assert "extend" not in admin.get(f"/requests/{ref}").json()["actions"]
    before, mails = api.counts(), len(api.mails())
    late = api.staff.post(f"/api/v1/requests/{ref}/extend", json={"reason": "busy"})
    assert late.status_code == 409 and late.json()["error"] == "extension_too_late"
    refused = admin.post(f"/requests/{ref}/actions", {"action": "extend", "note": "busy"})
    assert refused.status_code == 409 and refused.json()["error"] == "extension_too_late"
    assert api.counts() == before and len(api.mails()) == mails
    assert _row(api, ref).extensions_used == 0


# -- receipt --------------------------------------------------------------------------------
def test_the_code_email_at_filing_confirms_receipt(api: Api) -> None:
    filed = api.create(email=ADA)
    ref = filed["reference"]
    [code_mail] = mails_to(api, ADA)
    text = mail_text(code_mail)
    assert f"We received your access request on March 10, 2025 (reference {ref})" in text
    assert "We will respond by April 24, 2025" in text
    assert _row(api, ref).receipt_confirmed_at == FILED
    # Verifying later keeps the first confirmation's time.
    api.clock.advance(minutes=5)
    api.verify(ref)
    assert _row(api, ref).receipt_confirmed_at == FILED


class _Relay(FileMailer):
    """The mail relay, refusing every message while `down`."""

    down = True

    def send(self, message: EmailMessage) -> None:
        if self.down:
            raise MailError("relay down")
        super().send(message)


@pytest.fixture
def relay(settings: Settings) -> _Relay:
    return _Relay(settings.mail_path)


@pytest.fixture
def relay_api(db: Engine, settings: Settings, clock: FakeClock, relay: _Relay
              ) -> Iterator[Api]:
    """The app sending through `relay`, which starts down."""
    app = create_app(settings, engine=db, clock=clock, mailer=relay)
    with TestClient(app) as client:
        yield Api(client=client, engine=db, settings=settings, clock=clock)


def test_receipt_is_confirmed_when_the_code_email_goes_out_not_when_queued(
        relay_api: Api, relay: _Relay) -> None:
    api = relay_api
    filed = api.create(email=ADA)
    assert filed["mail_status"] == "queued"
    ref = filed["reference"]
    assert _row(api, ref).receipt_confirmed_at is None  # nothing reached the person yet
    api.clock.advance(minutes=2)  # past the first retry, well before the code expires
    relay.down = False
    assert api.client.app.state.outbox.deliver_due() == 1  # type: ignore[attr-defined]
    [code_mail] = mails_to(api, ADA)
    assert "We will respond by April 24, 2025" in mail_text(code_mail)
    assert _row(api, ref).receipt_confirmed_at == datetime(2025, 3, 10, 14, 32,
                                                           tzinfo=timezone.utc)


def test_a_code_email_dropped_unsent_confirms_no_receipt(relay_api: Api, relay: _Relay
                                                         ) -> None:
    api = relay_api
    ref = api.create(email=ADA)["reference"]
    api.clock.advance(hours=1)  # the code expired while the relay was down
    relay.down = False
    api.client.app.state.outbox.deliver_due()  # type: ignore[attr-defined]
    assert mails_to(api, ADA) == []  # dropped unsent
    assert _row(api, ref).receipt_confirmed_at is None
    # A status lookup's code, which says nothing of receipt, does not confirm it either.
    started = api.post("/api/v1/requests/lookup", json={"reference": ref, "email": ADA})
    assert started.status_code == 202
    [lookup_mail] = mails_to(api, ADA)
    assert "code is: " in mail_text(lookup_mail) and "respond by" not in mail_text(lookup_mail)
    assert _row(api, ref).receipt_confirmed_at is None
    with Session(api.engine) as session:
        row = session.scalar(select(PrivacyRequest).where(PrivacyRequest.reference == ref))
        page = workbench.detail(session, row, api.settings, api.clock.now)
    # Still due: ten business days after Monday 10 March 2025.
    assert (page["receipt_confirmed_at"], page["receipt_due"]) == (None, date(2025, 3, 24))


def test_a_status_lookups_code_does_not_restate_receipt(api: Api) -> None:
    ref = _verified(api)
    seen = len(mails_to(api, ADA))
    started = api.post("/api/v1/requests/lookup", json={"reference": ref, "email": ADA})
    assert started.status_code == 202
    [code_mail] = mails_to(api, ADA)[seen:]
    assert "code is: " in mail_text(code_mail) and "respond by" not in mail_text(code_mail)


def test_the_page_shows_when_receipt_is_due_until_it_is_confirmed(api: Api) -> None:
    ref = _verified(api)
    app = api.client.app
    with app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        row = session.scalar(select(PrivacyRequest).where(PrivacyRequest.reference == ref))
        page = workbench.detail(session, row, api.settings, api.clock.now)
        assert (page["receipt_confirmed_at"], page["receipt_due"]) == (FILED, None)
        row.receipt_confirmed_at = None  # as for a request filed before receipts were noted
        page = workbench.detail(session, row, api.settings, api.clock.now)
        # Ten business days after Monday 10 March 2025.
        assert page["receipt_due"] == date(2025, 3, 24)
        session.rollback()


# -- an agent's request ---------------------------------------------------------------------
def test_staff_cannot_verify_an_agents_request_without_the_consumers_permission(api: Api
                                                                                ) -> None:
    ref = str(api.create(email="agent@example.org", authorized_agent=True,
                         consumer_email=ADA)["reference"])

    def refused() -> None:
        before = api.counts()
        answer = _patch(api, ref, status="verified")
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"] == "agent_permission_required"
        assert api.counts() == before
        assert _row(api, ref).status.value == "pending_verification"

    refused()
    # The agent proves their own address: the request waits for the consumer still.
    assert api.post(f"/api/v1/requests/{ref}/verify",
                    json={"code": api.last_code()}).status_code == 200
    refused()
