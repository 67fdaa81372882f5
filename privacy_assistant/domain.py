"""The assistant's Rasa domain as one mapping. The domain is split by capability into
`domain/*.yml` (Rasa merges a folder given to `--domain`); the tests and tools that check it
without Rasa's environment read it here, merged the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from privacy_assistant.config import PROJECT_ROOT

DOMAIN_DIR = PROJECT_ROOT / "domain"
# The keys whose entries are listed (a name, or a one-key mapping of a name to its
# properties), and those that map names to definitions.
LIST_KEYS = ("intents", "entities", "actions")
MAPPING_KEYS = ("slots", "forms", "responses")


class DomainConflict(ValueError):
    """Two domain files define the same name, or both set a setting that exists once."""


def _name(entry: str | dict[str, Any]) -> str:
    return entry if isinstance(entry, str) else next(iter(entry))


def load_domain(directory: Path = DOMAIN_DIR) -> dict[str, Any]:
    """Every YAML file of `directory`, in name order, merged into one domain: the lists
    (intents, entities, actions) joined, the mappings (slots, forms, responses) united, and
    the other keys (`version`, `session_config`) taken from the file that sets them. A name
    defined in two files, or a setting given two values, raises DomainConflict: Rasa would
    keep one of them without a word."""
    merged: dict[str, Any] = {}
    seen: dict[str, str] = {}  # "<key>:<name>" -> the file that defined it
    for path in sorted(directory.glob("*.yml")):
        part = yaml.safe_load(path.read_text("utf-8")) or {}
        for key, value in part.items():
            if key in LIST_KEYS or key in MAPPING_KEYS:
                names = [_name(e) for e in value] if key in LIST_KEYS else list(value)
                for name in names:
                    if f"{key}:{name}" in seen:
                        raise DomainConflict(f"{key} {name!r} is defined in both "
                                             f"{seen[f'{key}:{name}']} and {path.name}")
                    seen[f"{key}:{name}"] = path.name
                if key in LIST_KEYS:
                    merged.setdefault(key, []).extend(value)
                else:
                    merged.setdefault(key, {}).update(value)
            elif key in merged and merged[key] != value:
                raise DomainConflict(f"{key} is set in {seen[key]} and again in {path.name}")
            else:
                merged[key] = value
                seen.setdefault(key, path.name)
    return merged
