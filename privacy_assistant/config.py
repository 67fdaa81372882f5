"""The supervisor's configuration, and the environment it gives the processes it starts.

`StackSettings` adds what only the supervisor and the Rasa server read (the action server's
and Rasa's addresses, the model, the tracker store) to the shared variables. `resolve` turns
it into the environment of the three processes: every documented variable with its value,
the secrets generated into `var/` when not given, so that all three agree on them.
`endpoints.yml` and `credentials.yml` read theirs from that environment with `${VAR}`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr, field_validator

from privacy_assistant.secret_files import STACK_SECRETS
from privacy_assistant.settings import ENV_FILE, PROJECT_ROOT, SharedSettings, project_path
from privacy_backend.core.settings import Settings as BackendSettings

__all__ = ["PROJECT_ROOT", "GENERATED_SECRETS", "StackSettings", "resolve"]

# Secrets generated into var/ on first use when the environment does not give them: each
# variable (a settings field of the same name) and its file in VAR_DIR (`secret_files`).
GENERATED_SECRETS = {secret.variable: secret.filename for secret in STACK_SECRETS}


class StackSettings(SharedSettings):
    """What the supervisor and the Rasa server read, besides the shared variables."""

    action_server_host: str = "127.0.0.1"
    action_server_port: int = 5055
    action_server_url: str | None = None
    rasa_model: Path = Path("models/privacy-assistant.tar.gz")
    rasa_cors: str = "*"
    # Bearer token of Rasa's REST channel (channels/rest.py, via credentials.yml).
    rest_channel_token: SecretStr | None = None
    # Key the socket.io channel signs the widget's session tokens with.
    widget_session_secret: SecretStr | None = None
    # Slack's signing secret: the Slack channel answers only requests signed with it.
    slack_signing_secret: SecretStr | None = None
    # The one Slack workspace (T…) whose events are taken; empty takes any that is signed.
    slack_team_id: str = ""
    # Redis, for what Rasa replicas share: the conversation locks, the socket.io rooms, the
    # REST turns sent with a message id and the Slack events taken. Empty keeps them in the
    # Rasa process (one replica only).
    redis_url: str = ""

    @field_validator("rasa_model", mode="after")
    @classmethod
    def _model_from_project_root(cls, value: Path) -> Path:
        return project_path(value)

    @property
    def action_server_webhook(self) -> str:
        return (self.action_server_url
                or f"http://{self.action_server_host}:{self.action_server_port}/webhook")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return str(value)


def resolve(environ: Mapping[str, str] | None = None,
            env_file: Path | None = ENV_FILE) -> dict[str, str]:
    """The full environment for the assistant's processes, defaults and secrets filled in."""
    source = dict(os.environ if environ is None else environ)
    stack = StackSettings.load(source, env_file)
    backend = BackendSettings.load(source, env_file)
    env = dict(source)
    env.update({name.upper(): _text(getattr(stack, name)) for name in StackSettings.model_fields})
    env.update({
        "BACKEND_URL": stack.backend_base_url,
        "RASA_URL": stack.rasa_base_url,
        "SITE_URL": stack.site_base_url,
        "ACTION_SERVER_URL": stack.action_server_webhook,
        "TRACKER_STORE_DB": str(stack.tracker_store_path),
        "DATABASE_URL": backend.sqlalchemy_url,
        "MAIL_BACKEND": backend.mail_backend,
        "MAIL_DIR": str(backend.mail_path),
    })
    env.update({name: stack.secret(getattr(stack, name.lower()), filename)
                for name, filename in GENERATED_SECRETS.items()})
    return env
