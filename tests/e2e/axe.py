"""Accessibility checks in the real browser: axe-core (npm, pinned in tests/e2e/axe/, installed
by `make test`) injected into the page Playwright drives, run against WCAG 2.0 and 2.1 level A
and AA. A violation fails the test, named with its rule, its help text and the elements.

`assert_accessible(page, "where")` checks the whole page as it is now; call it in each state
that matters (a panel open, an answer shown, an error said).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PROJECT_ROOT

AXE_JS = PROJECT_ROOT / "tests" / "e2e" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, which include 2.0's.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def violations(page: Any) -> list[dict[str, Any]]:
    """What axe-core finds on the page against `TAGS`."""
    if not AXE_JS.is_file():
        pytest.fail(f"{AXE_JS} is missing: run `make test` (it installs axe-core with npm)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, which a page's Content-Security-Policy
        # does not govern (a <script> tag would be refused by the console's).
        page.evaluate(AXE_JS.read_text("utf-8") + "\n;undefined")
    result: dict[str, Any] = page.evaluate(
        "async (tags) => await axe.run(document, "
        "{runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", TAGS)
    found: list[dict[str, Any]] = result["violations"]
    return found


def describe(found: list[dict[str, Any]]) -> str:
    lines = []
    for v in found:
        targets = ", ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:5])
        lines.append(f"{v['id']} ({v.get('impact')}): {v['help']} -> {targets}")
    return "\n".join(lines)


def assert_accessible(page: Any, where: str) -> None:
    found = violations(page)
    assert not found, f"{where}: WCAG 2.1 A/AA violations\n{describe(found)}"
