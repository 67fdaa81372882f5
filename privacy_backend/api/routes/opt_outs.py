"""Privacy opt-outs that need no proof (`/api/v1/opt-outs`): the assistant records "do not
sell or share" and "limit the use of my sensitive information" (from the chat, or `gpc` from
the widget's channel); staff list them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from privacy_assistant.contract import OptOutKind, OptOutSource
from privacy_backend.api.deps import NowDep, SessionDep, SettingsDep
from privacy_backend.core.errors import ApiError
from privacy_backend.core.security import CallerDep, StaffDep
from privacy_backend.schemas.opt_outs import OptOutCreate, OptOutOut, OptOutRecord
from privacy_backend.services import opt_outs

router = APIRouter(prefix="/opt-outs", tags=["opt-outs"])


@router.post("", response_model=OptOutOut, status_code=status.HTTP_201_CREATED,
             responses={200: {"description": "This conversation recorded the same opt-out "
                                             "before (`already_recorded`: true)"}})
def record_opt_out(body: OptOutCreate, response: Response, session: SessionDep,
                   settings: SettingsDep, now: NowDep, caller: CallerDep) -> OptOutOut:
    """Record an opt-out at once, with no code: 201 and its reference and due date (15
    business days), or 200 with what this conversation recorded before for the same kind
    and address. The answer says nothing about anything else held for the address. 429
    `too_many_opt_outs` past OPT_OUT_HOURLY_LIMIT (or OPT_OUT_GLOBAL_HOURLY_LIMIT in all).
    The assistant's token only (staff: 403)."""
    if caller.is_staff:
        raise ApiError(403, "assistant_only", "Opt-outs are recorded on a visitor's behalf "
                       "by the assistant, in their conversation.")
    recorded = opt_outs.record(session, body, limit=settings.opt_out_hourly_limit,
                               global_limit=settings.opt_out_global_hourly_limit, now=now)
    session.commit()
    if not recorded.created:
        response.status_code = status.HTTP_200_OK
    return opt_outs.out(recorded)


@router.get("", response_model=list[OptOutRecord])
def list_opt_outs(
    session: SessionDep, _: StaffDep,
    kind: OptOutKind | None = None,
    source: OptOutSource | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[OptOutRecord]:
    """The newest opt-outs first, with the address they hold for (staff only)."""
    return [OptOutRecord.model_validate(o)
            for o in opt_outs.listing(session, kind=kind, source=source, limit=limit)]
