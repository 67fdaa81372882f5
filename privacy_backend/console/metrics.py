"""The yearly request metrics in the console (`/console/api/metrics`, privacy admins only;
CCPA regs §7102): the table for a calendar year, and the same as a CSV download. Counted as
`services.metrics` says, the same figures as `GET /api/v1/metrics` and `privacy-backend
metrics`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from privacy_backend.api.deps import SessionDep
from privacy_backend.console.auth import PrivacyAdminDep
from privacy_backend.schemas.metrics import Year, YearMetrics
from privacy_backend.services import metrics

router = APIRouter(prefix="/metrics")


@router.get("", response_model=YearMetrics)
def year_metrics(year: Year, _: PrivacyAdminDep, session: SessionDep) -> YearMetrics:
    """The metrics of one calendar year."""
    return metrics.year_metrics(session, year)


@router.get(".csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def year_metrics_csv(year: Year, _: PrivacyAdminDep, session: SessionDep) -> Response:
    """The same figures as CSV, downloaded as `privacy-metrics-YYYY.csv`."""
    return Response(metrics.csv_text(metrics.year_metrics(session, year)),
                    media_type="text/csv; charset=utf-8", headers={
                        "Content-Disposition": f'attachment; filename="privacy-metrics-{year}.csv"',
                        "Cache-Control": "no-store"})
