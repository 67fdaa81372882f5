"""The assistant's secrets: the variable that gives each, the file in `VAR_DIR` it is generated
into when the variable is empty, and the fewest characters it may have.

Every process reads this one table: `settings.py` generates the files, `config.py` hands the
supervisor's secrets to the processes it starts, the backend's settings name its own, and the
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
# The backend's own: one-time codes and sealed data at rest, and signed links.
VERIFICATION_SECRET = SecretFile("VERIFICATION_SECRET", "verification_secret")
UNSUBSCRIBE_SECRET = SecretFile("UNSUBSCRIBE_SECRET", "unsubscribe_secret")

# The secrets the supervisor generates and gives to every process it starts.
STACK_SECRETS = (RASA_API_TOKEN, PRIVACY_API_TOKEN, PRIVACY_STAFF_TOKEN, REST_CHANNEL_TOKEN,
                 WIDGET_SESSION_SECRET)
# Every secret, by its variable.
SECRET_FILES = {secret.variable: secret
                for secret in (*STACK_SECRETS, VERIFICATION_SECRET, UNSUBSCRIBE_SECRET)}
