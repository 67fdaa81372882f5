"""The one table of jurisdictions (`core.jurisdictions`) against the README's table, which a
privacy team reads: the same rows, the same periods, the same place to complain; and a few
rows' due dates worked out by hand."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from privacy_backend.core.jurisdictions import DEFAULT_RULES, DeadlineRule
from tests.conftest import PROJECT_ROOT

from .support import Api

ROW = re.compile(r"^\| `(?P<key>[A-Z]+)` \| (?P<name>[^|]+) \| (?P<answer>[^|]+) \| "
                 r"(?P<extension>[^|]+) \| (?P<appeal>[^|]+) \| \[[^]]+\]\((?P<url>[^)]+)\) \|")


def _readme_rows() -> dict[str, dict[str, str]]:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### The request lifecycle the state laws require", 1)[1]
    return {m["key"]: {k: v.strip() for k, v in m.groupdict().items()}
            for m in map(ROW.match, section.splitlines()) if m}


def _period(rule_days: int, rule_months: int) -> str:
    if rule_months:
        return f"{rule_months} month" + ("s" if rule_months > 1 else "")
    return f"{rule_days} days"


def _appeal(rule: DeadlineRule) -> int | tuple[int, int]:
    return (rule.appeal_days, rule.appeal_extension_days) if rule.appeal_extension_days \
        else rule.appeal_days


def _readme_appeal(cell: str) -> int | tuple[int, int]:
    numbers = [int(n) for n in re.findall(r"\d+", cell)]
    return (numbers[0], numbers[1]) if len(numbers) == 2 else numbers[0]


def test_the_readme_lists_every_jurisdiction_of_the_table() -> None:
    assert set(_readme_rows()) == set(DEFAULT_RULES)


@pytest.mark.parametrize("key", sorted(DEFAULT_RULES))
def test_each_readme_row_says_what_the_table_holds(key: str) -> None:
    row, rule = _readme_rows()[key], DEFAULT_RULES[key]
    assert row["name"] == rule.name
    assert row["answer"] == _period(rule.days, rule.months)
    assert row["extension"] == _period(rule.extension_days, rule.extension_months)
    assert _readme_appeal(row["appeal"]) == _appeal(rule)
    assert ("(policy)" in row["appeal"]) == rule.appeal_source.startswith("no right to appeal")
    assert ("†" in row["appeal"]) == ("†" in rule.appeal_source)
    assert row["url"] == rule.complaint_url


def test_every_row_names_its_law_its_sources_and_where_to_complain() -> None:
    for key, rule in DEFAULT_RULES.items():
        assert rule.law and rule.source and rule.appeal_source, key
        assert rule.complaint_authority, key
        assert rule.complaint_url.startswith(("https://", "mailto:")), key


def _day(value: str) -> date:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).date()


# Received on March 10, 2025 (the test clock): each answer's due date counted by hand.
@pytest.mark.parametrize(("region", "key", "due"), [
    ("Virginia", "VA", date(2025, 4, 24)),  # 45 days: 21 left in March + 24 in April
    ("Iowa", "IA", date(2025, 6, 8)),  # 90 days: 21 + 30 + 31 = 82 to May 31, + 8
    ("Oregon", "OR", date(2025, 4, 24)),
    ("Florida", "US", date(2025, 4, 24)),  # no row of its own: the common clock
    ("Germany", "GDPR", date(2025, 4, 10)),  # one month
])
def test_a_request_is_due_by_its_states_row(api: Api, region: str, key: str, due: date
                                            ) -> None:
    body = api.create(region=region)
    assert body["jurisdiction"] == key
    assert _day(body["due_at"]) == due
