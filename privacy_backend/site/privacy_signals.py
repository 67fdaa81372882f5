"""Global Privacy Control on the website (W3C GPC; CCPA regs §7025): the `Sec-GPC` header a
browser sends with every request, and `/.well-known/gpc.json`, which tells browsers and
auditors that this site honours it.

The header counts only when it is exactly `1` (`privacy_assistant.gpc`); `0`, `true` or a
repeated header are no signal. The statement page shows "Opt-out preference signal honored"
whenever the request carries it. The opt-out itself is recorded for the browser's chat
conversation by the socket.io channel (`channels/socketio.py`), which sees the same header
on its handshake, or the widget's `navigator.globalPrivacyControl`."""

from __future__ import annotations

from datetime import date, datetime, timezone

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from privacy_assistant import gpc
from privacy_backend.api.deps import SettingsDep
from privacy_backend.core.settings import Settings
from privacy_kb.document import parse_front_matter

router = APIRouter(tags=["site"])


def gpc_signal(request: Request) -> bool:
    """Whether the request carries the GPC signal: `Sec-GPC` exactly `1`, and only once."""
    return gpc.signals(request.headers.getlist(gpc.HEADER))


def last_update(settings: Settings) -> date:
    """GPC_LAST_UPDATE, else the statement's `updated` front matter, else the day (UTC) its
    file last changed."""
    if settings.gpc_last_update:
        return settings.gpc_last_update
    path = settings.knowledge_dir / "privacy_statement.md"
    meta, _ = parse_front_matter(path.read_text(encoding="utf-8"))
    try:
        return date.fromisoformat(str(meta.get("updated", "")))
    except ValueError:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).date()


@router.get("/.well-known/gpc.json", include_in_schema=False)
def gpc_json(settings: SettingsDep) -> JSONResponse:
    """The GPC support resource: `{"gpc": true, "lastUpdate": "YYYY-MM-DD"}`."""
    return JSONResponse({"gpc": True, "lastUpdate": last_update(settings).isoformat()},
                        headers={"Cache-Control": "max-age=86400"})
