"""The assistant's secrets: the variable that gives each, the file in `VAR_DIR` it is generated
into when the variable is empty, the fewest characters it may have, and which processes read
each credential.

Every process reads this one table: `settings.py` generates the files, `config.py` hands the
supervisor's secrets to the processes it starts, `processes.py` hides from each process the
credentials it does not read (the deployments in `deploy/` give the same, checked by
tests/assistant/test_secrets.py), the backend's settings name and check its own, and the
Rasa server's channels and start script check the lengths. Those run in the Rasa environment
(Rasa 3.6's pins, pydantic 1), so this module imports nothing beyond the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass

# HS256 wants a key at least as long as its hash (32 bytes); generated secrets have 43.
MIN_SECRET_CHARS = 32


@dataclass(frozen=True)
class SecretFile:
    """One secret: its variable, its file in VAR_DIR, and its shortest accepted length."""

    variable: str
    filename: str
    min_chars: int = 0


# Signs the JWTs of Rasa's HTTP API (`rasa_auth.py`, `scripts/rasa_run.py`).
RASA_API_TOKEN = SecretFile("RASA_API_TOKEN", "rasa_api_token", MIN_SECRET_CHARS)
# The backend API's bearer credentials: the assistant's and the staff's.
PRIVACY_API_TOKEN = SecretFile("PRIVACY_API_TOKEN", "api_token")
PRIVACY_STAFF_TOKEN = SecretFile("PRIVACY_STAFF_TOKEN", "staff_token")
# The REST channel's bearer token (`channels/rest.py`).
REST_CHANNEL_TOKEN = SecretFile("REST_CHANNEL_TOKEN", "rest_channel_token", MIN_SECRET_CHARS)
# Signs the widget's session tokens (`channels/socketio.py`).
WIDGET_SESSION_SECRET = SecretFile("WIDGET_SESSION_SECRET", "widget_session_secret",
                                   MIN_SECRET_CHARS)
# The backend's own: the code secret (one-time codes, suppressions, sealed data at rest, each
# under a key derived for its purpose: `privacy_backend/core/sealing.py`) and the link secret
# (unsubscribe and export links).
VERIFICATION_SECRET = SecretFile("VERIFICATION_SECRET", "verification_secret",
                                 MIN_SECRET_CHARS)
UNSUBSCRIBE_SECRET = SecretFile("UNSUBSCRIBE_SECRET", "unsubscribe_secret", MIN_SECRET_CHARS)

# The secrets the supervisor generates and gives to the processes it starts.
STACK_SECRETS = (RASA_API_TOKEN, PRIVACY_API_TOKEN, PRIVACY_STAFF_TOKEN, REST_CHANNEL_TOKEN,
                 WIDGET_SESSION_SECRET)
# Every secret, by its variable.
SECRET_FILES = {secret.variable: secret
                for secret in (*STACK_SECRETS, VERIFICATION_SECRET, UNSUBSCRIBE_SECRET)}

# The processes of the assistant (`processes.py`; the compose services and Kubernetes
# workloads of `deploy/` carry the same names).
BACKEND, ACTIONS, RASA = "backend", "actions", "rasa"
# Every variable that holds a credential (a secret, or a URL with a password in it), and the
# processes that read it: the backend's settings, the action server's (`actions/settings.py`:
# the assistant's token only), and the Rasa server's (`endpoints.yml`, `credentials.yml`,
# `scripts/rasa_run.py`). A process is given no other.
CREDENTIALS: dict[str, frozenset[str]] = {
    # The backend's alone: its database, its keys, its mail relay, the staff's token.
    "DATABASE_URL": frozenset({BACKEND}),
    "VERIFICATION_SECRET": frozenset({BACKEND}),
    "UNSUBSCRIBE_SECRET": frozenset({BACKEND}),
    "SMTP_PASSWORD": frozenset({BACKEND}),
    "PRIVACY_STAFF_TOKEN": frozenset({BACKEND}),
    # The assistant's token: the backend checks it, the action server and Rasa's socket.io
    # ("Delete chat") send it.
    "PRIVACY_API_TOKEN": frozenset({BACKEND, ACTIONS, RASA}),
    # Rasa's HTTP API (the backend's console calls it), the tracker store (the backend exports
    # and erases conversations in it) and the Slack bot (the backend posts handoffs).
    "RASA_API_TOKEN": frozenset({BACKEND, RASA}),
    "TRACKER_STORE_URL": frozenset({BACKEND, RASA}),
    "SLACK_BOT_TOKEN": frozenset({BACKEND, RASA}),
    # What the Rasa replicas share (the backend's erasure deletes the REST answers kept there).
    "REDIS_URL": frozenset({BACKEND, RASA}),
    # The Rasa server's channels.
    "REST_CHANNEL_TOKEN": frozenset({RASA}),
    "WIDGET_SESSION_SECRET": frozenset({RASA}),
    "SLACK_SIGNING_SECRET": frozenset({RASA}),
}


def hidden_from(process: str) -> frozenset[str]:
    """The credentials `process` does not read, so must not be given (all, for a process not
    in the table, such as the load balancer)."""
    return frozenset(name for name, readers in CREDENTIALS.items() if process not in readers)


# Values that stand for "set me" in examples and templates (compared lower-cased): a secret
# equal to one of them, or containing "replace-me" or "change-me", is refused.
PLACEHOLDERS = frozenset({"replace-me", "replace_me", "replaceme", "change-me", "change_me",
                          "changeme", "set-me", "set me", "setme", "secret", "password", "todo",
                          "xxx"})
_PLACEHOLDER_PARTS = ("replace-me", "replace_me", "change-me", "change_me", "changeme")
GENERATE_HINT = 'python3 -c "import secrets; print(secrets.token_urlsafe(32))"'


class WeakSecret(ValueError):
    """A secret that is a known placeholder or shorter than its minimum. The message names
    the variable, never the value."""


def is_placeholder(value: str) -> bool:
    text = value.strip().lower()
    return text in PLACEHOLDERS or any(part in text for part in _PLACEHOLDER_PARTS)


def check_secret(secret: SecretFile, value: str, source: str = "") -> str:
    """`value`, stripped, if it is fit to be `secret`; else `WeakSecret`. `source` says where
    the value came from when it is not the variable (a generated file)."""
    text = value.strip()
    where = f" ({source})" if source else ""
    if is_placeholder(text):
        raise WeakSecret(f"{secret.variable}{where} is a placeholder, not a secret: generate one "
                         f"with `{GENERATE_HINT}`")
    if len(text) < secret.min_chars:
        raise WeakSecret(f"{secret.variable}{where} is too short: it needs at least "
                         f"{secret.min_chars} characters (generate one with "
                         f"`{GENERATE_HINT}`)")
    return text
