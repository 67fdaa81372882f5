"""The requester's copy of their data (`/exports/{token}`, no login: the signed link from the
completion email is the credential, so whoever holds it sees the package and nobody else
can make one).

`GET /exports/{token}` shows the readable page; `?format=json` gives the same package as a
JSON download (schema in docs/export-schema.md). A changed or made-up link gets 403, an
expired one, or one whose package the purge has deleted, 410. Each download is recorded
(when, which format, a keyed hash of the client's address) and shown to staff on the
request's page.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from privacy_backend.api.deps import NowDep, SessionDep, SettingsDep, UnsubscribeSecretDep
from privacy_backend.core.models import Export, ExportDownload
from privacy_backend.services import agents, export_links, fulfilment
from privacy_backend.site.templates import signed_link_headers, templates

log = logging.getLogger(__name__)
router = APIRouter(tags=["exports"])

_HEADERS = signed_link_headers(form_action="'none'")


def _refusal(request: Request, status: int, title: str, text: str) -> HTMLResponse:
    return templates.TemplateResponse(request, "export.html",
                                      {"title": title, "message": text, "data": None},
                                      status_code=status, headers=_HEADERS)


@router.get("/exports/{token}", response_class=HTMLResponse,
            summary="The requester's export package (the signed link is the credential)",
            responses={
                200: {"description": "The package: a page, or with `format=json` the JSON",
                      "content": {"text/html": {}, "application/json": {}}},
                403: {"description": "A changed or made-up link", "content": {"text/html": {}}},
                410: {"description": "An expired link, or a package the purge deleted",
                      "content": {"text/html": {}}},
                422: {"description": "A `format` other than html or json",
                      "content": {"application/json": {}}},
            })
def export_package(
    request: Request, token: str, session: SessionDep, settings: SettingsDep, now: NowDep,
    secret: UnsubscribeSecretDep,
    format: Annotated[Literal["html", "json"], Query(
        description="`html` (the default): a readable page; `json`: the package")] = "html",
) -> Response:
    try:
        export_id = export_links.open_token(secret, token, now)
    except export_links.LinkInvalid:
        log.info("refused an export link that does not verify")
        return _refusal(request, 403, "This link is not valid",
                        "The link is incomplete or was changed. Copy the whole link from the "
                        "email we sent you.")
    except export_links.LinkExpired:
        return _refusal(request, 410, "This link has expired",
                        f"For your security, the copy of your data is available for "
                        f"{settings.export_link_ttl_days} days. Ask our privacy team for a "
                        "new one.")
    export = session.get(Export, export_id)
    data = fulfilment.open_package(settings, export) if export is not None else None
    if export is None or data is None:
        return _refusal(request, 410, "This copy is no longer available",
                        "The copy of your data has been deleted. Ask our privacy team for a "
                        "new one.")
    client = request.client.host if request.client else None
    session.add(ExportDownload(export_id=export.id, format=format, downloaded_at=now,
                               client_key=agents.client_key(secret, client)))
    session.commit()
    if format == "json":
        return Response(json.dumps(data, indent=2, ensure_ascii=False),
                        media_type="application/json", headers={
                            **_HEADERS, "Content-Disposition":
                                'attachment; filename="privacy-export.json"'})
    return templates.TemplateResponse(request, "export.html",
                                      {"title": "Your personal information", "data": data,
                                       "message": None, "token": token}, headers=_HEADERS)
