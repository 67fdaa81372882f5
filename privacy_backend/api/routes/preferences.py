"""Marketing preferences (`/api/v1/preferences`): read, replace, patch, history, the
code-free opt-out, and signed unsubscribe links for marketing mail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from privacy_backend.api.deps import NowDep, SessionDep, SettingsDep, UnsubscribeSecretDep
from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import PreferenceChange
from privacy_backend.core.security import Caller, CallerDep, StaffDep
from privacy_backend.core.settings import Settings
from privacy_backend.schemas.common import Email
from privacy_backend.schemas.preferences import (
    MarketingOptOutIn,
    MarketingOptOutOut,
    PreferenceChangeOut,
    PreferencesOut,
    PreferencesPatch,
    PreferencesReplace,
    UnsubscribeLinkIn,
    UnsubscribeLinkOut,
)
from privacy_backend.services import preferences as preference_service
from privacy_backend.services import unsubscribe as unsubscribe_links
from privacy_backend.services import verification as verification_service
from privacy_backend.services.preferences import Preferences

router = APIRouter(prefix="/preferences", tags=["preferences"])

DEFAULTS = (
    "An address with nothing recorded has the defaults, returned with `updated_at: null` and "
    "without writing anything: `global_opt_out: false` and **every topic on every channel "
    "`false`** — no marketing consent on record (and no opt-out either). Senders must treat "
    "`false`, and any topic under `global_opt_out: true`, as *do not send*. The channels and "
    "topics are configuration (`PREFERENCE_CHANNELS`, `PREFERENCE_TOPICS`). These choices "
    "cover marketing only: transactional messages (about an account, an order, a privacy "
    "request) continue whatever they say. Our privacy statement allows up to 10 business days "
    "for a change to reach every mailing system."
)
WRITES = (
    " Every write names its `source` (chat, unsubscribe_link, agent, slack, api) and may carry "
    "`conversation_id`; it is recorded under the authenticated caller (`assistant`, "
    "`staff-token`). The assistant's token needs `verification_id`, a code confirmed for this "
    "address (in this conversation) within VERIFIED_FOR_MINUTES; without it 403 "
    "`verification_required` and nothing is written, also for a write that only turns "
    "things off (the code-free opt-out is `POST /api/v1/preferences/opt-out`). A write that "
    "changes an effective setting adds one history entry with only the changed settings, "
    "before and after; a write that changes nothing records nothing. Unknown channels or "
    "topics: 422 naming them, nothing written."
)

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=128,
           description="A retry with the same key and body applies nothing again and returns "
                       "the current preferences (header `Idempotent-Replayed: true`); the same "
                       "key with another body is a 409."),
]
_email = TypeAdapter(Email)


def email_query(
    email: Annotated[str, Query(max_length=254, description="Case and spaces are ignored")],
) -> str:
    try:
        return str(_email.validate_python(email.strip()))
    except ValidationError as exc:
        raise RequestValidationError(
            [{**err, "loc": ("query", "email")} for err in exc.errors()]
        ) from None


EmailDep = Annotated[str, Depends(email_query)]
ProofQuery = Annotated[str | None, Query(
    max_length=64, description="The assistant's proof: a code confirmed for this address "
                               "within VERIFIED_FOR_MINUTES. Staff need none.")]
ConversationQuery = Annotated[str | None, Query(max_length=128)]


def _require_proof(caller: Caller, session: Session, verification_id: str | None, *,
                   email: str, conversation_id: str | None, settings: Settings,
                   now: datetime) -> None:
    """Staff act for any address; the assistant only for one it proves (403 otherwise)."""
    if not caller.is_staff:
        verification_service.proof(session, verification_id, email=email,
                                   conversation_id=conversation_id, settings=settings, now=now)


def _out(result: preference_service.WriteResult) -> PreferencesOut:
    return PreferencesOut(email=result.email, global_opt_out=result.preferences.global_opt_out,
                          channels=result.preferences.channels, updated_at=result.updated_at)


def _write(method: str, body: PreferencesReplace | PreferencesPatch, email: str,
           change: Callable[[Preferences], Preferences], response: Response, session: Session,
           settings: Settings, now: datetime, caller: Caller,
           idempotency_key: str | None) -> PreferencesOut:
    _require_proof(caller, session, body.verification_id, email=email,
                   conversation_id=body.conversation_id, settings=settings, now=now)
    result = preference_service.apply(
        session, email, change, method=method, channels=body.channels,
        body=body.model_dump(mode="json", exclude={"verification_id"}), source=body.source,
        conversation_id=body.conversation_id, settings=settings, now=now, actor=caller.actor,
        idempotency_key=idempotency_key)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return _out(result)


@router.get("", response_model=PreferencesOut, description=DEFAULTS)
def get_preferences(email: EmailDep, session: SessionDep, settings: SettingsDep, now: NowDep,
                    caller: CallerDep, verification_id: ProofQuery = None,
                    conversation_id: ConversationQuery = None) -> PreferencesOut:
    _require_proof(caller, session, verification_id, email=email,
                   conversation_id=conversation_id, settings=settings, now=now)
    return _out(preference_service.read(session, email, settings))


@router.put("", response_model=PreferencesOut,
            description="Replace all choices: topics not listed become `false`. " + WRITES)
def replace_preferences(body: PreferencesReplace, email: EmailDep, response: Response,
                        session: SessionDep, settings: SettingsDep, now: NowDep,
                        caller: CallerDep, idempotency_key: IdempotencyKey = None
                        ) -> PreferencesOut:
    def change(_: Preferences) -> Preferences:
        return preference_service.merged(preference_service.defaults(settings),
                                         global_opt_out=body.global_opt_out,
                                         choices=body.channels)

    return _write("PUT", body, email, change, response, session, settings, now, caller,
                  idempotency_key)


@router.patch("", response_model=PreferencesOut,
              description="Change only what is given, e.g. `{\"global_opt_out\": true}` or "
                          "`{\"channels\": {\"email\": {\"promotions\": false}}}`; a channel "
                          "set to `true`/`false` sets all its topics. " + WRITES)
def patch_preferences(body: PreferencesPatch, email: EmailDep, response: Response,
                      session: SessionDep, settings: SettingsDep, now: NowDep,
                      caller: CallerDep, idempotency_key: IdempotencyKey = None
                      ) -> PreferencesOut:
    def change(current: Preferences) -> Preferences:
        return preference_service.merged(current, global_opt_out=body.global_opt_out,
                                         choices=body.channels)

    return _write("PATCH", body, email, change, response, session, settings, now, caller,
                  idempotency_key)


@router.post("/opt-out", response_model=MarketingOptOutOut, description=(
    "Opt an address out of marketing with nothing but the address and the choice (CAN-SPAM): "
    "everything (neither `channel` nor `topic`: the global opt-out), every topic of one "
    "`channel`, or one `topic` on `channel` (on every channel without it). No proof is "
    "needed, from either token; seeing the choices and opting back in still need one (GET, "
    "PUT, PATCH). The answer says only what was recorded, never the address's other choices. "
    "Recorded with source `chat` (staff's: `api`) and `conversation_id`; the assistant's "
    "under the actor "
    "`assistant:unverified`, each one, also one that changes nothing (empty `before` and "
    "`after`). The assistant's are bounded per hour: MARKETING_OPT_OUTS_PER_ADDRESS_PER_HOUR "
    "for one address, MARKETING_OPT_OUTS_PER_CONVERSATION_PER_HOUR for one conversation; "
    "beyond, 429 `too_many_opt_outs` with Retry-After and nothing changes. Unknown channel or "
    "topic: 422 naming it, nothing written."))
def opt_out(body: MarketingOptOutIn, session: SessionDep, settings: SettingsDep, now: NowDep,
            caller: CallerDep) -> MarketingOptOutOut:
    recorded = preference_service.opt_out(
        session, body.email, channel=body.channel, topic=body.topic,
        conversation_id=body.conversation_id, settings=settings, now=now, actor=caller.actor,
        unverified=not caller.is_staff)
    return MarketingOptOutOut(scope=recorded.scope, channel=recorded.channel,
                              topic=recorded.topic, recorded_at=recorded.recorded_at)


@router.get("/history", response_model=list[PreferenceChangeOut],
            description="Every effective change, oldest first. Writes that changed nothing "
                        "are not recorded, except the assistant's code-free opt-outs (empty "
                        "`before` and `after`). An address with no changes: `[]`. Staff, or "
                        "the assistant with `verification_id` for the address.")
def preference_history(
    email: EmailDep, session: SessionDep, settings: SettingsDep, now: NowDep,
    caller: CallerDep, verification_id: ProofQuery = None,
    conversation_id: ConversationQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> list[PreferenceChange]:
    _require_proof(caller, session, verification_id, email=email,
                   conversation_id=conversation_id, settings=settings, now=now)
    return preference_service.history(session, email, limit=limit, offset=offset)


@router.post("/unsubscribe-links", response_model=UnsubscribeLinkOut,
             description="A signed, expiring one-click unsubscribe URL for one address and "
                         "scope (`all`, a channel, or `channel:topic`), with the "
                         "`List-Unsubscribe` and `List-Unsubscribe-Post` headers for the mail. "
                         "Nothing is stored; the address is not readable in the URL.")
def unsubscribe_link(body: UnsubscribeLinkIn, settings: SettingsDep, now: NowDep,
                     secret: UnsubscribeSecretDep, _: StaffDep) -> UnsubscribeLinkOut:
    try:
        issued = unsubscribe_links.issue(body.email, body.scope, secret=secret,
                                         settings=settings, now=now)
    except ValueError as exc:
        raise ApiError(422, "validation_failed", f"Invalid body.scope: {exc}.",
                       details=[{"field": "body.scope", "message": str(exc),
                                 "type": "unknown_scope"}]) from None
    return UnsubscribeLinkOut(url=issued.url, scope=str(issued.scope),
                              expires_at=issued.expires_at, headers=issued.headers)
