"""The Rasa server's tracker store, from the side of someone who reads stored conversations
(an agent's transcript, an export, a database dump): a one-time code, however it was
spaced, is masked before it is written.

The real `MaskingSQLTrackerStore` saves a conversation into a SQLite file, in the Rasa
environment (`masked_tracker.py`); the test reads the rows back.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
SCRIPT = Path(__file__).with_name("masked_tracker.py")
# Six digits, and the nine-digit codes mailed while an address is over its guessing limit.
CODES = ["123456", "123 456", "123-456", "1 2 3 4 5 6", "123.456", "123 456 789",
         "123456789", "123 456."]


def _stored_texts(tmp_path: Path, unasked: list[str], asked: list[str]) -> list[str]:
    if not RASA_PYTHON.is_file():
        pytest.fail(f"{RASA_PYTHON} is missing: run `make install`")
    db = tmp_path / "tracker.db"
    done = subprocess.run([str(RASA_PYTHON), str(SCRIPT), str(db),
                           json.dumps({"unasked": unasked, "asked": asked})],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT data FROM events WHERE type_name = 'user' ORDER BY id")
        return [json.loads(data)["text"] for (data,) in rows]


def test_a_spaced_code_is_masked_before_it_is_stored(tmp_path: Path) -> None:
    asked = [f"it is {code} thanks" for code in CODES]
    stored = _stored_texts(tmp_path, unasked=CODES, asked=asked)
    assert stored[:len(CODES)] == ["[code]"] * (len(CODES) - 1) + ["[code]."]
    assert all(text.startswith("it is [code]") for text in stored[len(CODES):]), stored
    assert not any(ch.isdigit() for text in stored for ch in text), stored


def test_other_numbers_are_kept(tmp_path: Path) -> None:
    """Outside the code form, a message that holds more than a code keeps its numbers; while
    the code is asked for, the code goes but a date or a phone number is not taken for one."""
    said = ["my order 123456 from 2024-01-15", "call me on 555 123 4567"]
    longer = ["it was sent on 2024-01-15", "call me on 555 123 4567"]
    assert _stored_texts(tmp_path, unasked=said, asked=longer) == said + longer
