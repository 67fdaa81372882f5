"""The export package: everything held about one address, as one JSON document under a
versioned schema (`docs/export-schema.md`), and how it is sealed at rest (`core.sealing`,
under the code secret) until the purge deletes it. `services.fulfilment` builds one for a
know, access or portability request; the export page (`site/exports.py`) opens it.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

# A code that escaped the tracker store's own masking is masked in the package too.
from privacy_assistant.code_mask import mask_codes
from privacy_backend.core.models import Export, Handoff, PreferenceChange, PrivacyRequest
from privacy_backend.core.sealing import EXPORT_PACKAGE, Sealer
from privacy_backend.core.settings import Settings
from privacy_backend.integrations.tracker_store import TrackerStore
from privacy_backend.services import links, opt_outs
from privacy_backend.services import preferences as prefs
from privacy_backend.services.handoffs import transcript

SCHEMA = "privacy-assistant/export"
SCHEMA_VERSION = "1"


def _sealer(settings: Settings) -> Sealer:
    """Export packages are sealed at rest under the code secret, for this purpose only."""
    return Sealer(settings.code_secret(), EXPORT_PACKAGE)


def seal(settings: Settings, data: dict[str, Any]) -> str:
    """The package as it is stored: compact JSON, sealed."""
    return _sealer(settings).seal(json.dumps(data, separators=(",", ":")).encode())


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _stamp(value: float | None) -> str | None:
    return datetime.fromtimestamp(value, tz=timezone.utc).isoformat() if value else None


def package(session: Session, tracker_store: TrackerStore, settings: Settings, address: str,
            now: datetime) -> dict[str, Any]:
    """Everything held about `address`, as schema version 1 (docs/export-schema.md)."""
    requests = list(session.scalars(select(PrivacyRequest).where(
        PrivacyRequest.email == address).order_by(PrivacyRequest.id)))
    row = prefs.get_row(session, address)
    current = prefs.current(session, row, address, settings)
    history = list(session.scalars(select(PreferenceChange).where(
        PreferenceChange.preference_id == row.id).order_by(PreferenceChange.id))) if row else []
    conversations = links.conversations_of(session, address)
    ids = [link.conversation_id for link in conversations]
    handoffs = list(session.scalars(select(Handoff).where(
        Handoff.conversation_id.in_(ids)).order_by(Handoff.id))) if ids else []
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "generated_at": now.isoformat(),
        "subject": {"email": address},
        "requests": [{
            "reference": r.reference, "type": r.type.value, "status": r.status.value,
            "name": r.name, "region": r.region, "jurisdiction": r.jurisdiction,
            "authorized_agent": r.authorized_agent, "details": r.details,
            "channel": r.channel.value, "created_at": _iso(r.created_at),
            "verified_at": _iso(r.verified_at), "due_at": _iso(r.due_at),
            "agent_email": r.agent_email, "duplicate_of": r.duplicate_of,
            "closed_at": _iso(r.closed_at),
            "denial_reason": r.denial_reason.value if r.denial_reason else None,
            "partial": r.partial,
            "appeal": {
                "reference": r.appeal.reference, "status": r.appeal.status.value,
                "reason": r.appeal.reason, "received_at": _iso(r.appeal.received_at),
                "due_at": _iso(r.appeal.due_at), "decided_at": _iso(r.appeal.decided_at),
                "decision": r.appeal.decision,
            } if r.appeal is not None else None,
            "audit": [{"at": _iso(e.created_at), "action": e.action, "actor": e.actor,
                       "before": e.before, "after": e.after, "note": e.note}
                      for e in r.audit_events],
        } for r in requests],
        "marketing": {
            "current": {"global_opt_out": current.global_opt_out,
                        "channels": current.channels},
            "updated_at": _iso(row.updated_at) if row else None,
            "history": [{"at": _iso(c.created_at), "source": c.source.value,
                         "before": c.before, "after": c.after} for c in history],
        },
        "conversations": [{
            "conversation": link.conversation_id,
            "verified_at": _iso(link.verified_at),
            "messages": [{"at": _stamp(line.timestamp), "from": line.kind,
                          "text": mask_codes(line.text) if line.kind == "user"
                          else line.text}
                         for line in transcript(tracker_store.events(link.conversation_id))
                         if line.kind != "system"],
        } for link in conversations],
        "handoffs": [{
            "conversation": h.conversation_id, "channel": h.channel, "reason": h.reason,
            "status": h.status.value, "summary": h.summary, "created_at": _iso(h.created_at),
            "taken_at": _iso(h.taken_at), "closed_at": _iso(h.closed_at),
        } for h in handoffs],
        "privacy_opt_outs": [{
            "reference": o.reference, "kind": o.kind.value, "source": o.source.value,
            "received_at": _iso(o.received_at), "due_date": o.due_date.isoformat(),
            "linked_at": _iso(o.linked_at),
        } for o in opt_outs.of_address(session, address)],
    }


def open_package(settings: Settings, export: Export) -> dict[str, Any] | None:
    """The package, or None once the purge has deleted it."""
    if export.sealed is None:
        return None
    data: dict[str, Any] = json.loads(_sealer(settings).open(export.sealed.encode()))
    return data
