"""The layout shows the architecture: the README's file overview matches the tree, and the
backend keeps no module loose at its top but the app factory and the CLI."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import PROJECT_ROOT

IGNORED = {".git", ".venv", ".venv-rasa", "models", "var", "__pycache__", ".ci",
           "privacy_assistant.egg-info", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def _files_block() -> list[str]:
    readme = (PROJECT_ROOT / "README.md").read_text("utf-8")
    section = readme.split("## Files", 1)[1].split("\n## ", 1)[0]
    return section.split("```", 2)[1].strip("\n").splitlines()


def _listed_paths() -> set[Path]:
    """Each entry of the overview as a path: an indented entry is inside the last folder
    named above it with less indentation."""
    paths: set[Path] = set()
    parents: list[tuple[int, Path]] = []
    for line in _files_block():
        indent = len(line) - len(line.lstrip(" "))
        entry = re.split(r" {2,}", line.strip(), maxsplit=1)[0]
        if indent >= 20 or not entry:  # a description's second line
            continue
        while parents and parents[-1][0] >= indent:
            parents.pop()
        base = parents[-1][1] if parents else Path()
        names = [name.strip() for name in entry.split(",") if name.strip()]
        for name in names:
            paths.add(base / name.rstrip("/"))
        if len(names) == 1 and names[0].endswith("/"):
            parents.append((indent, base / names[0].rstrip("/")))
    return paths


def test_every_entry_of_the_file_overview_exists() -> None:
    missing = sorted(str(p) for p in _listed_paths()
                     if not (PROJECT_ROOT / p).exists() and p.parts[0] not in IGNORED
                     and not any(ch in str(p) for ch in "*"))
    assert missing == []


def test_every_top_folder_and_backend_package_is_in_the_overview() -> None:
    listed = {str(p) for p in _listed_paths()}
    tracked_top = {p.name for p in PROJECT_ROOT.iterdir()
                   if p.is_dir() and p.name not in IGNORED and not p.name.startswith(".")}
    backend = {f"privacy_backend/{p.name}" for p in (PROJECT_ROOT / "privacy_backend").iterdir()
               if p.is_dir() and p.name != "__pycache__"}
    assert (tracked_top | backend) - listed == set()


def test_no_backend_module_is_loose_at_the_package_top() -> None:
    loose = {p.name for p in (PROJECT_ROOT / "privacy_backend").glob("*.py")}
    assert loose == {"__init__.py", "main.py", "cli.py"}
