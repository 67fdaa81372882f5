"""The yearly metrics of privacy requests (CCPA regs §7102): per request type, how many were
received, complied with in whole or in part, denied (by reason), still open, and the median
and mean days to respond; the same for the opt-outs; and the appeals.

How each figure is counted:

- A request counts in the calendar year (UTC) of its receipt, `created_at`, whatever its
  status now.
- `duplicate`s (a second open request of the same type for the same address, pointed to the
  first) are not counted as received; the `duplicates` column counts them.
- received: every other request received in the year.
  complied_in_whole: `completed` and not `partial`; complied_in_part: `completed` and
  `partial`. denied: `rejected` + `closed_unverified`, by reason (`denial_reason`):
  `closed_unverified` counts as identity_not_verified, a `rejected` request without a
  reason as other. open: still open (pending verification, verified, in progress; an appeal
  granted reopens a request, so it counts as open again until it is answered).
  received = complied_in_whole + complied_in_part + denied + open.
- Days to respond: calendar days between the UTC dates of `created_at` and `closed_at`, over
  the `completed` and `rejected` requests (closing an unverified request is no substantive
  response). Median and mean, rounded half up to one decimal; null when there are none.
- Opt-outs (sale_sharing, limit_sensitive): counted by the year of `received_at`. Each is
  applied when recorded: all complied with in whole, in 0 days; none denied, none open.
- Appeals: counted by the year of their `received_at`: received, granted, denied, open, and
  the median and mean calendar days (UTC dates) from receipt to decision over those decided.

The CSV (`csv_text`) has one line per request type and opt-out kind, then one `appeals`
line: its `complied_in_whole` is the appeals granted, `denied` those denied, `open` those
open, the days the days to decide; complied_in_part, the denial reasons and duplicates are
empty there."""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Iterable
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy_assistant.contract import AppealStatus, DenialReason, OptOutKind
from privacy_backend.core.models import (
    Appeal,
    PrivacyOptOut,
    PrivacyRequest,
    RequestStatus,
    RequestType,
)
from privacy_backend.schemas.metrics import (
    AppealMetrics,
    DeniedOut,
    TypeMetrics,
    YearMetrics,
)
from privacy_backend.services.requests import OPEN_STATUSES

S = RequestStatus
CSV_COLUMNS = [
    "year", "request_type", "received", "complied_in_whole", "complied_in_part", "denied",
    "denied_identity_not_verified", "denied_agent_not_authorized", "denied_exemption",
    "denied_unfounded", "denied_other", "open", "duplicates", "median_days", "mean_days",
]
# The statuses whose closing is a response to the request (days to respond).
RESPONDED = frozenset({S.COMPLETED, S.REJECTED})
ONE_DECIMAL = Decimal("0.1")


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=timezone.utc), datetime(year + 1, 1, 1, tzinfo=timezone.utc)


def _days(start: datetime, end: datetime) -> int:
    """Calendar days between the UTC dates of two instants."""
    return (end.astimezone(timezone.utc).date() - start.astimezone(timezone.utc).date()).days


def _one_decimal(value: Decimal) -> float:
    return float(value.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP))


def median_mean(days: Iterable[int]) -> tuple[float | None, float | None]:
    """Median and mean, rounded half up to one decimal; (None, None) when there are none."""
    values = sorted(days)
    if not values:
        return None, None
    median = Decimal(str(statistics.median(values)))
    mean = Decimal(sum(values)) / Decimal(len(values))
    return _one_decimal(median), _one_decimal(mean)


def _denial_reason(request: PrivacyRequest) -> DenialReason:
    if request.status is S.CLOSED_UNVERIFIED:
        return DenialReason.IDENTITY_NOT_VERIFIED
    return request.denial_reason or DenialReason.OTHER


def _type_row(kind: str, requests: list[PrivacyRequest]) -> TypeMetrics:
    counted = [r for r in requests if r.status is not S.DUPLICATE]
    denied = [r for r in counted if r.status in (S.REJECTED, S.CLOSED_UNVERIFIED)]
    reasons = {reason: 0 for reason in DenialReason}
    for r in denied:
        reasons[_denial_reason(r)] += 1
    median, mean = median_mean(_days(r.created_at, r.closed_at) for r in counted
                               if r.status in RESPONDED and r.closed_at is not None)
    return TypeMetrics(
        request_type=kind, received=len(counted),
        complied_in_whole=sum(1 for r in counted if r.status is S.COMPLETED and not r.partial),
        complied_in_part=sum(1 for r in counted if r.status is S.COMPLETED and r.partial),
        denied=len(denied), denied_by_reason=DeniedOut(**{k.value: v for k, v in reasons.items()}),
        open=sum(1 for r in counted if r.status in OPEN_STATUSES),
        duplicates=len(requests) - len(counted), median_days=median, mean_days=mean)


def _opt_out_row(kind: OptOutKind, received: int) -> TypeMetrics:
    zero = 0.0 if received else None
    return TypeMetrics(
        request_type=kind.value, received=received, complied_in_whole=received,
        complied_in_part=0, denied=0, denied_by_reason=DeniedOut(
            identity_not_verified=0, agent_not_authorized=0, exemption=0, unfounded=0,
            other=0), open=0, duplicates=0, median_days=zero, mean_days=zero)


def _appeals(appeals: list[Appeal]) -> AppealMetrics:
    median, mean = median_mean(_days(a.received_at, a.decided_at) for a in appeals
                               if a.decided_at is not None)
    return AppealMetrics(
        received=len(appeals),
        granted=sum(1 for a in appeals if a.status is AppealStatus.GRANTED),
        denied=sum(1 for a in appeals if a.status is AppealStatus.DENIED),
        open=sum(1 for a in appeals if a.status is AppealStatus.OPEN),
        median_days=median, mean_days=mean)


def year_metrics(session: Session, year: int) -> YearMetrics:
    """The metrics of the calendar year `year` (UTC), counted as the module says."""
    start, end = _year_bounds(year)
    requests = list(session.scalars(select(PrivacyRequest).where(
        PrivacyRequest.created_at >= start, PrivacyRequest.created_at < end)))
    by_type: dict[RequestType, list[PrivacyRequest]] = {t: [] for t in RequestType}
    for r in requests:
        by_type[r.type].append(r)
    opt_outs = list(session.scalars(select(PrivacyOptOut.kind).where(
        PrivacyOptOut.received_at >= start, PrivacyOptOut.received_at < end)))
    appeals = list(session.scalars(select(Appeal).where(
        Appeal.received_at >= start, Appeal.received_at < end)))
    return YearMetrics(
        year=year,
        types=[_type_row(t.value, by_type[t]) for t in RequestType]
        + [_opt_out_row(k, sum(1 for o in opt_outs if o is k)) for k in OptOutKind],
        appeals=_appeals(appeals))


def _blank(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def rows(metrics: YearMetrics) -> list[list[str]]:
    """The table's lines, `CSV_COLUMNS` first: what the CSV and the CLI print."""
    lines = [CSV_COLUMNS]
    for t in metrics.types:
        d = t.denied_by_reason
        lines.append([str(v) for v in (
            metrics.year, t.request_type, t.received, t.complied_in_whole, t.complied_in_part,
            t.denied, d.identity_not_verified, d.agent_not_authorized, d.exemption,
            d.unfounded, d.other, t.open, t.duplicates)]
            + [_blank(t.median_days), _blank(t.mean_days)])
    a = metrics.appeals
    lines.append([str(metrics.year), "appeals", str(a.received), str(a.granted), "",
                  str(a.denied), "", "", "", "", "", str(a.open), "", _blank(a.median_days),
                  _blank(a.mean_days)])
    return lines


def csv_text(metrics: YearMetrics, newline: str = "\r\n") -> str:
    """The metrics as CSV (`CSV_COLUMNS`; see the module docstring for the appeals line),
    lines ending in CRLF as RFC 4180 has them (the CLI prints them with `\\n`)."""
    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerows(rows(metrics))
    return out.getvalue()


def table_text(metrics: YearMetrics) -> str:
    """The same lines as the CSV, in aligned columns (the CLI's output)."""
    lines = rows(metrics)
    widths = [max(len(line[i]) for line in lines) for i in range(len(CSV_COLUMNS))]
    return "\n".join("  ".join(cell.rjust(w) if n else cell.ljust(w)
                               for n, (cell, w) in enumerate(zip(line, widths, strict=True))
                               ).rstrip()
                     for line in lines) + "\n"
