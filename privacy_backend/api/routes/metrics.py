"""The yearly request metrics (`/api/v1/metrics`, staff only; CCPA regs §7102): per request
type and opt-out kind, received, complied with in whole or in part, denied by reason, open,
and the median and mean days to respond; and the appeals. Counted as `services.metrics`
says."""

from __future__ import annotations

from fastapi import APIRouter

from privacy_backend.api.deps import SessionDep
from privacy_backend.core.security import StaffDep
from privacy_backend.schemas.metrics import Year, YearMetrics
from privacy_backend.services import metrics

router = APIRouter(prefix="/metrics", tags=["metrics"])


@router.get("", response_model=YearMetrics)
def year_metrics(year: Year, session: SessionDep, _: StaffDep) -> YearMetrics:
    """The metrics of one calendar year (staff only; 403 for the assistant's token)."""
    return metrics.year_metrics(session, year)
