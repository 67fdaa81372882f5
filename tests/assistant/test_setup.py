"""The setup behind the two commands: idempotent installs and training, a clear error
when Python 3.10 is missing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT


@pytest.mark.model  # the model must be trained before make can call it up to date
def test_second_run_reinstalls_and_retrains_nothing() -> None:
    # `make test` has just installed both environments and trained the model: with nothing
    # changed since, make must consider every step up to date (`-q` exits 0 only then).
    result = subprocess.run(
        ["make", "-q", ".venv/.installed", ".venv-rasa/.installed",
         "models/privacy-assistant.tar.gz"],
        cwd=PROJECT_ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, "make would redo a step: " + (
        subprocess.run(["make", "-n", "install", "train"], cwd=PROJECT_ROOT,
                       capture_output=True, text=True).stdout
    )


def test_missing_python_310_fails_with_a_clear_message(tmp_path: Path) -> None:
    system_pythons = [p for p in ("/usr/bin/python3.10", "/usr/local/bin/python3.10")
                      if Path(p).exists()]
    if system_pythons:
        pytest.skip(f"this machine has a system Python 3.10 ({system_pythons[0]})")
    result = subprocess.run(
        ["/bin/bash", str(PROJECT_ROOT / "scripts" / "find-python310")],
        env={"PATH": "/nonexistent", "HOME": str(tmp_path)},
        capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Python 3.10 was not found, and Rasa Open Source 3.6 needs it" in result.stderr


def test_python_310_is_found() -> None:
    result = subprocess.run(
        [str(PROJECT_ROOT / "scripts" / "find-python310")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    version = subprocess.run(
        [result.stdout.strip(), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True, text=True,
    )
    assert version.stdout.strip() == "(3, 10)"
