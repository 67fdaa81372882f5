"""The environment of a running assistant: every port, URL and secret in one place.

Values come from the process environment, then from a `.env` file at the project root, then
from the documented defaults below (the same table as `.env.example` and the README).
Secrets that are not given are generated once into `var/` and reused; they are never
printed or logged.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, str] = {
    "VAR_DIR": "var",
    "BACKEND_HOST": "127.0.0.1",
    "BACKEND_PORT": "8000",
    "ACTION_SERVER_HOST": "127.0.0.1",
    "ACTION_SERVER_PORT": "5055",
    "RASA_HOST": "127.0.0.1",
    "RASA_PORT": "5005",
    "RASA_MODEL": "models/privacy-assistant.tar.gz",
    "RASA_CORS": "*",
    "TRACKER_STORE_DIALECT": "sqlite",
    "TRACKER_STORE_URL": "",
    "KNOWLEDGE_DIR": "data/knowledge",
    "MAIL_BACKEND": "file",
}

# Secrets generated into var/ on first use when the environment does not give them.
GENERATED_SECRETS = {
    "RASA_API_TOKEN": "rasa_api_token",
    "PRIVACY_API_TOKEN": "api_token",
}


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a `.env` file: `KEY=value` lines, `#` comments, optional quotes."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def secret_from_file(path: Path) -> str:
    """Return the secret stored at `path`, creating it (mode 0600) on first use."""
    if path.is_file():
        stored = path.read_text(encoding="utf-8").strip()
        if stored:
            return stored
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token


def resolve(
    environ: Mapping[str, str] | None = None, root: Path = PROJECT_ROOT
) -> dict[str, str]:
    """The full environment for the assistant's processes, defaults and secrets filled in."""
    env = dict(os.environ if environ is None else environ)
    for key, value in read_dotenv(root / ".env").items():
        env.setdefault(key, value)
    for key, value in DEFAULTS.items():
        env.setdefault(key, value)

    var_dir = Path(env["VAR_DIR"])
    if not var_dir.is_absolute():
        var_dir = root / var_dir
    env["VAR_DIR"] = str(var_dir)
    for key, filename in GENERATED_SECRETS.items():
        if not env.get(key):
            env[key] = secret_from_file(var_dir / filename)

    backend_url = f"http://{env['BACKEND_HOST']}:{env['BACKEND_PORT']}"
    env.setdefault("BACKEND_URL", backend_url)
    env.setdefault("SITE_URL", backend_url)
    env.setdefault(
        "ACTION_SERVER_URL",
        f"http://{env['ACTION_SERVER_HOST']}:{env['ACTION_SERVER_PORT']}/webhook",
    )
    env.setdefault("RASA_URL", f"http://{env['RASA_HOST']}:{env['RASA_PORT']}")
    env.setdefault("DATABASE_URL", f"sqlite:///{var_dir / 'privacy.db'}")
    env.setdefault("TRACKER_STORE_DB", str(var_dir / "rasa_tracker.db"))
    env.setdefault("MAIL_DIR", str(var_dir / "mail"))
    knowledge = Path(env["KNOWLEDGE_DIR"])
    env["KNOWLEDGE_DIR"] = str(knowledge if knowledge.is_absolute() else root / knowledge)
    model = Path(env["RASA_MODEL"])
    env["RASA_MODEL"] = str(model if model.is_absolute() else root / model)
    return env
