"""Appeals of denied requests (`/api/v1/requests/{reference}/appeals`, `/api/v1/appeals`):
the assistant files one with its proof of the request's address (staff without), staff
list, read, decide and extend them. Each route does one function of `services.appeals` and
sends the mail it queued after the commit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from privacy_backend.api.deps import NowDep, OutboxDep, SessionDep, SettingsDep
from privacy_backend.api.routes.requests import StaffWorkDep
from privacy_backend.core.models import Appeal, AppealStatus
from privacy_backend.core.security import CallerDep, StaffDep
from privacy_backend.schemas.appeals import AppealCreate, AppealDecision, AppealOut, ExtendIn
from privacy_backend.services import appeals, workbench

router = APIRouter(tags=["appeals"])


def _out(appeal: Appeal, created: bool = True) -> AppealOut:
    return AppealOut.model_validate(appeal).model_copy(update={"created": created})


@router.post("/requests/{reference}/appeals", response_model=AppealOut,
             status_code=status.HTTP_201_CREATED,
             responses={200: {"description": "The request's appeal, filed before"}})
def file_appeal(reference: str, body: AppealCreate, response: Response, session: SessionDep,
                settings: SettingsDep, now: NowDep, outbox: OutboxDep, caller: CallerDep
                ) -> AppealOut:
    """Appeal a denied request. The assistant sends `verification_id`, a request or
    status-lookup code confirmed for the request's address (or its agent's) in this
    conversation within VERIFIED_FOR_MINUTES (else 403 `verification_required`, the same for
    a request that does not exist), the consumer's own for a denial of their agent
    (`agent_not_authorized`); staff need none. 409 `not_appealable` unless the request
    is `rejected`. One appeal per request: filing again returns it (200, `created` false).
    The person is emailed the appeal's reference and due date."""
    appeal, created, mail_ids = appeals.file(session, outbox, settings, reference, body,
                                             staff=caller.is_staff, now=now)
    if created:
        response.headers["Location"] = f"/api/v1/appeals/{appeal.reference}"
    else:
        response.status_code = status.HTTP_200_OK
    for mail_id in mail_ids:
        outbox.send_later(mail_id)
    return _out(appeal, created)


@router.get("/appeals", response_model=list[AppealOut])
def list_appeals(session: SessionDep, _: StaffDep, status: AppealStatus | None = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100,
                 offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0) -> list[AppealOut]:
    """Staff's list of appeals (of one status, if given), the soonest due first."""
    return [_out(a) for a in appeals.search(session, status=status, limit=limit,
                                            offset=offset)[1]]


@router.get("/appeals/{reference}", response_model=AppealOut)
def get_appeal(reference: str, session: SessionDep, _: StaffDep) -> AppealOut:
    return _out(appeals.get_or_404(session, reference))


@router.post("/appeals/{reference}/decision", response_model=AppealOut)
def decide(reference: str, body: AppealDecision, work: StaffWorkDep) -> AppealOut:
    """Decide the appeal in writing; the reason is emailed. `granted` reopens the request
    (in progress, due when the appeal is; 409 `not_reopenable` for a request never verified
    or whose agent the consumer never permitted); `denied` tells the person where to
    complain. 409 `appeal_decided` once decided; nothing changes then."""
    appeal, mail_ids = appeals.decide(work, reference, body.outcome, body.reason)
    workbench.send(work.outbox, mail_ids, work.settings)
    return _out(appeal)


@router.post("/appeals/{reference}/extend", response_model=AppealOut)
def extend(reference: str, body: ExtendIn, work: StaffWorkDep) -> AppealOut:
    """Extend the appeal's time once where the jurisdiction allows it (Colorado), before it
    is due, with the reason emailed (409 otherwise)."""
    appeal, mail_ids = appeals.extend(work, reference, body.reason)
    workbench.send(work.outbox, mail_ids, work.settings)
    return _out(appeal)
