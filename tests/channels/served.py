"""What the channel test servers share (run with the Rasa environment's Python): the
channels of credentials.yml with one name, built from their credentials as Rasa builds them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rasa.core.channels import BUILTIN_CHANNELS
from rasa.shared.utils.common import class_from_module_path
from rasa.shared.utils.io import read_config_file

ROOT = Path(__file__).resolve().parents[2]


def channels_named(name: str) -> list[Any]:
    """The channels of credentials.yml called `name`, built from their credentials."""
    found = []
    for key, credentials in read_config_file(str(ROOT / "credentials.yml")).items():
        cls = BUILTIN_CHANNELS.get(key) or class_from_module_path(key)
        if cls.name() == name:
            found.append(cls.from_credentials(credentials))
    return found
