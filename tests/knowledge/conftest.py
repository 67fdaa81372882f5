from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from privacy_kb.kb import AUDIENCE_SCOPES, KnowledgeBase

ROOT = Path(__file__).resolve().parents[2]
KNOWLEDGE_DIR = ROOT / "data" / "knowledge"
STATEMENT = KNOWLEDGE_DIR / "privacy_statement.md"
SEED = ROOT.parent / "shared" / "seeds" / "privacy_statement_page.md"
QUESTIONS: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent / "questions.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The public knowledge base, as the website's and REST's answers are ranked."""
    return KnowledgeBase.from_directory(KNOWLEDGE_DIR, audiences=AUDIENCE_SCOPES["public"])


@pytest.fixture(scope="session")
def statement_text() -> str:
    return STATEMENT.read_text(encoding="utf-8")
