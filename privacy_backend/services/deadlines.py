"""Response deadlines: which jurisdiction a region falls under, and when an answer is due.

The periods themselves are the jurisdictions' table (`core.jurisdictions`, replaceable with
`JURISDICTION_RULES`); this module only maps a free-text region onto a rule key (a US state
with a row of its own gets it, any other state `US`) and does the calendar arithmetic.
Two-letter codes are read as US states first (so "DE" is Delaware and "MT" Montana); write
the country name for Germany or Malta.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from dateutil.relativedelta import relativedelta

from privacy_backend.core.jurisdictions import DeadlineRule

US_STATES = {
    "AL": "alabama", "AK": "alaska", "AZ": "arizona", "AR": "arkansas", "CA": "california",
    "CO": "colorado", "CT": "connecticut", "DE": "delaware", "DC": "district of columbia",
    "FL": "florida", "GA": "georgia", "HI": "hawaii", "ID": "idaho", "IL": "illinois",
    "IN": "indiana", "IA": "iowa", "KS": "kansas", "KY": "kentucky", "LA": "louisiana",
    "ME": "maine", "MD": "maryland", "MA": "massachusetts", "MI": "michigan",
    "MN": "minnesota", "MS": "mississippi", "MO": "missouri", "MT": "montana",
    "NE": "nebraska", "NV": "nevada", "NH": "new hampshire", "NJ": "new jersey",
    "NM": "new mexico", "NY": "new york", "NC": "north carolina", "ND": "north dakota",
    "OH": "ohio", "OK": "oklahoma", "OR": "oregon", "PA": "pennsylvania", "RI": "rhode island",
    "SC": "south carolina", "SD": "south dakota", "TN": "tennessee", "TX": "texas",
    "UT": "utah", "VT": "vermont", "VA": "virginia", "WA": "washington", "WV": "west virginia",
    "WI": "wisconsin", "WY": "wyoming", "PR": "puerto rico",
}
US_COUNTRY = {"us", "usa", "u.s.", "u.s.a.", "united states", "united states of america",
              "america"}
# EU member states, the EEA, and the UK (UK GDPR keeps the same one-month clock).
GDPR_COUNTRIES = {
    "AT": "austria", "BE": "belgium", "BG": "bulgaria", "HR": "croatia", "CY": "cyprus",
    "CZ": "czechia", "DK": "denmark", "EE": "estonia", "FI": "finland", "FR": "france",
    "DE": "germany", "GR": "greece", "HU": "hungary", "IE": "ireland", "IT": "italy",
    "LV": "latvia", "LT": "lithuania", "LU": "luxembourg", "MT": "malta", "NL": "netherlands",
    "PL": "poland", "PT": "portugal", "RO": "romania", "SK": "slovakia", "SI": "slovenia",
    "ES": "spain", "SE": "sweden", "IS": "iceland", "LI": "liechtenstein", "NO": "norway",
    "GB": "united kingdom", "UK": "uk",
}
GDPR_ALIASES = {"eu", "european union", "eea", "czech republic", "the netherlands", "holland",
                "great britain", "britain", "england", "scotland", "wales", "northern ireland"}


def jurisdiction_for(region: str | None, default: str, rules: dict[str, DeadlineRule]) -> str:
    """Map a region ("California", "CA", "Germany", "EU", ...) to a key of `rules`."""
    if not region:
        return default
    raw = region.strip()
    upper = raw.upper()
    lower = raw.lower().removesuffix(", usa").removesuffix(", us").strip()
    if upper in rules:
        return upper
    state = upper if upper in US_STATES else next(
        (code for code, name in US_STATES.items() if name == lower), None)
    if state is not None and state in rules:
        return state  # a state with its own law's row
    if state is not None or lower in US_COUNTRY:
        return "US" if "US" in rules else default
    if upper in GDPR_COUNTRIES or lower in GDPR_COUNTRIES.values() or lower in GDPR_ALIASES:
        return "GDPR" if "GDPR" in rules else default
    return default


def add_months(day: date, months: int) -> date:
    """Same day `months` later, or the last day of that month if it has no such day."""
    return day + relativedelta(months=months)


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=timezone.utc)


def initial_due(received_at: datetime, rule: DeadlineRule) -> datetime:
    """The clock starts on the day of receipt, whatever time verification takes."""
    received = received_at.astimezone(timezone.utc).date()
    return end_of_day(add_months(received, rule.months) + timedelta(days=rule.days))


def extended_due(due_at: datetime, rule: DeadlineRule) -> datetime:
    day = due_at.astimezone(timezone.utc).date()
    return end_of_day(add_months(day, rule.extension_months) + timedelta(days=rule.extension_days))


def can_extend(rule: DeadlineRule, extensions_used: int) -> bool:
    has_period = rule.extension_days > 0 or rule.extension_months > 0
    return has_period and extensions_used < rule.max_extensions


def add_business_days(day: date, count: int) -> date:
    """The day `count` business days (Monday to Friday; public holidays are not counted
    out) after `day`: 15 business days from a Friday is the Friday three weeks later."""
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def days_left(due_at: datetime, now: datetime) -> int:
    """Calendar days (UTC) from `now` to the due date: 0 on the day it is due, negative once
    it is overdue (-1 the day after)."""
    return (due_at.astimezone(timezone.utc).date() - now.astimezone(timezone.utc).date()).days


def end_of_day_after(now: datetime, days: int) -> datetime:
    """The first instant after the UTC day that is `days` days from `now`: a request due
    before then is due within `days` days."""
    day = now.astimezone(timezone.utc).date() + timedelta(days=days + 1)
    return datetime.combine(day, time.min, tzinfo=timezone.utc)
