"""What the capability modules share: the import rule that keeps them apart, the one name for
each verification purpose, and the "misunderstood twice" test that starts a handoff."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker

from actions.common import APPEAL_FLOW, Purpose, misunderstood_twice
from privacy_assistant.domain import load_domain
from tests.conftest import PROJECT_ROOT

ACTIONS = PROJECT_ROOT / "actions"
# One module per capability: none of them may import another (they share actions.common).
CAPABILITIES = {"knowledge", "rights_requests", "status_lookup", "cancel_restart", "marketing",
                "verification", "handoff", "explain", "staff", "privacy_opt_outs", "appeals"}
# Modules every capability may use (shared helpers, configuration); they import no
# capability module either.
SHARED = {"common", "request_types", "preference_words", "settings"}


def module_name(path: Path) -> str:
    """actions/api/base.py → actions.api.base (a package's own file: actions.api.__init__,
    so that its relative imports resolve against the package itself)."""
    return ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)


def imported_by(source: str, module: str) -> set[str]:
    """Every module name the source of `module` imports, by an import statement (relative
    ones resolved) or by a literal name handed to importlib."""
    package = module.rsplit(".", 1)[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            # `from actions import marketing` imports the module actions.marketing.
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)
    return names


def sideways(source: str, module: str) -> set[str]:
    """The capability modules other than `module` itself that its source imports."""
    others = {f"actions.{name}" for name in CAPABILITIES} - {module}
    return {other for name in imported_by(source, module) for other in others
            if name == other or name.startswith(f"{other}.")}


def test_every_action_module_is_a_capability_or_shared() -> None:
    top_level = {path.stem for path in ACTIONS.glob("*.py")} - {"__init__"}
    assert top_level == CAPABILITIES | SHARED, (
        "add the new module to CAPABILITIES or SHARED in this test")


@pytest.mark.parametrize("path", sorted(ACTIONS.rglob("*.py")), ids=module_name)
def test_no_module_imports_another_capability(path: Path) -> None:
    module = module_name(path)
    found = sideways(path.read_text("utf-8"), module)
    assert not found, f"{module} imports {sorted(found)}; share it through actions.common"


@pytest.mark.parametrize(
    "source",
    ["import actions.handoff", "from actions import handoff", "from . import handoff",
     "from .handoff import summary", "from actions.handoff import summary as s",
     "import importlib\nimportlib.import_module('actions.handoff')"],
)
def test_every_form_of_import_is_seen(source: str) -> None:
    assert sideways(source, "actions.marketing") == {"actions.handoff"}
    assert sideways(source, "actions.handoff") == set()


def test_every_purpose_is_a_domain_value_and_a_backend_purpose() -> None:
    from privacy_backend.core.models import VerificationPurpose

    domain = load_domain()
    slot_values = set(domain["slots"]["verification_purpose"]["values"])
    ours = {purpose.value for purpose in Purpose}
    # A value Rasa does not know is stored as __other__; one the backend does not know is a 422.
    # The chat's own flows (an appeal) send one of the backend's purposes (a status lookup).
    assert ours | {APPEAL_FLOW} == slot_values
    assert ours == {purpose.value for purpose in VerificationPurpose}


# --- two misunderstood messages in a row hand the conversation to a person ------------------

def user(text: str, intent: str) -> dict[str, Any]:
    return {"event": "user", "text": text,
            "parse_data": {"intent": {"name": intent, "confidence": 0.2}}}


def bot(response: str) -> dict[str, Any]:
    return {"event": "bot", "text": "…", "metadata": {"utter_action": response}}


def tracker(*events: dict[str, Any]) -> Tracker:
    latest = [e for e in events if e["event"] == "user"][-1]["parse_data"]
    return Tracker("visitor", {}, latest, list(events), False, None, {}, "action_listen")


def test_two_misunderstood_messages_in_a_row() -> None:
    assert misunderstood_twice(tracker(
        user("blorp", "nlu_fallback"), bot("utter_default"), user("zzz qq", "nlu_fallback")))


def test_one_misunderstanding_is_not_enough() -> None:
    assert not misunderstood_twice(tracker(user("zzz qq", "nlu_fallback")))
    assert not misunderstood_twice(tracker(
        user("hi", "greet"), bot("utter_greet"), user("zzz qq", "nlu_fallback")))


def test_a_low_confidence_message_that_was_answered_does_not_count() -> None:
    assert not misunderstood_twice(tracker(
        user("how long u keep stuff", "nlu_fallback"), bot("utter_answer_from_statement"),
        user("zzz qq", "nlu_fallback")))
