"""What every process of the assistant reads from its environment, in one place.

Each process has one settings class, built on pydantic-settings: the backend's
(`privacy_backend.core.settings.Settings`), the action server's (`actions.settings`) and the
supervisor's (`privacy_assistant.config.StackSettings`). Each extends `SharedSettings`, which
holds the variables more than one process reads, so every default is written once. Values
come from the process environment, then from the project's `.env`, then from the defaults
here. `.env.example` and the README's configuration table are checked against these classes
by `tests/assistant/test_config.py`.

Secrets that are not given are generated once into `VAR_DIR` (mode 0600) by
`load_or_create_secret` and reused; they are never printed or logged. Which file holds
which secret, and how long each must be, is the one table of `secret_files`.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from privacy_assistant.secret_files import (
    PRIVACY_API_TOKEN,
    PRIVACY_STAFF_TOKEN,
    RASA_API_TOKEN,
)

log = logging.getLogger(__name__)

_SOURCE_ROOT = Path(__file__).resolve().parent.parent
# A source checkout keeps its state and data beside the code; an installed copy uses the
# working directory.
PROJECT_ROOT = _SOURCE_ROOT if (_SOURCE_ROOT / "pyproject.toml").is_file() else Path.cwd()
ENV_FILE = PROJECT_ROOT / ".env"

_S = TypeVar("_S", bound="SharedSettings")


def project_path(value: str | Path) -> Path:
    """A path from the configuration: relative ones are relative to the project root."""
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


def loopback_url(host: str, port: int) -> str:
    """`http://host:port` for a client on this machine: a wildcard bind address means
    loopback, and an IPv6 literal gets its brackets."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def load_or_create_secret(path: Path) -> str:
    """Read a secret from `path`, generating it once (mode 0600) if the file does not exist.

    Creation is race-safe across processes: the secret is written to a private temporary file
    and hard-linked into place, which fails if another process got there first.
    """
    try:
        value = path.read_text(encoding="utf-8").strip()
        if value:
            if path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
            return value
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(value + "\n")
        try:
            os.link(tmp, path)
            log.info("generated a new secret in %s", path)
        except FileExistsError:
            value = path.read_text(encoding="utf-8").strip()
    finally:
        tmp.unlink(missing_ok=True)
    return value


class _MappingSource(EnvSettingsSource):
    """The environment source, reading a given mapping instead of `os.environ`."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {key.lower(): value for key, value in self._environ.items()}


class SharedSettings(BaseSettings):
    """The variables that more than one process reads."""

    model_config = SettingsConfigDict(env_file=ENV_FILE, env_file_encoding="utf-8",
                                      extra="ignore", validate_default=True)

    # Runtime state: SQLite databases, generated secrets, outgoing mail.
    var_dir: Path = Path("var")
    # The backend service (privacy requests, preferences, handoffs, the page and console).
    backend_host: str = "127.0.0.1"
    backend_port: int = 8000
    backend_url: str | None = None
    # The backend API's two bearer credentials: the assistant's (the action server holds it)
    # and the staff's (automation; the backend and the supervisor read it, never the actions).
    privacy_api_token: SecretStr | None = None
    privacy_staff_token: SecretStr | None = None
    # How long one confirmed code proves an address, within the same conversation: the
    # action server remembers it that long, and the backend accepts it as proof that long.
    verified_for_minutes: int = Field(default=30, ge=1)
    # Days a filed request waits for its code before it is closed unverified: the backend
    # closes it then, and the assistant tells the visitor so.
    unverified_close_days: int = 7
    # The Rasa server (REST, socket.io, HTTP API).
    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    rasa_url: str | None = None
    rasa_api_token: SecretStr | None = None
    # The Rasa server's limits, which the supervisor passes on to it (scripts/rasa_run.py and
    # channels/limits.py read them there, with these defaults): the largest body it reads
    # (413 beyond, before any token or signature check), the proxies in front of it that
    # append X-Forwarded-For, and the channels' flood limits (0: off).
    rasa_max_body_bytes: int = Field(default=65536, ge=1024)
    rasa_proxies_count: int = Field(default=0, ge=0)
    widget_sessions_per_ip_per_minute: int = Field(default=60, ge=0)
    widget_messages_per_ip_per_minute: int = Field(default=120, ge=0)
    conversation_turns_per_hour: int = Field(default=200, ge=0)
    # Rasa's conversation store: a SQLite file, or a database server at TRACKER_STORE_URL.
    # The Rasa server writes it; the backend reads it for exports and erases from it.
    tracker_store_dialect: str = "sqlite"
    tracker_store_url: str = ""
    tracker_store_db: Path | None = None
    # The documents the assistant quotes, and the page whose anchors citations link to.
    knowledge_dir: Path = Path("data/knowledge")
    site_url: str | None = None
    # The backend's public https address, for links in mail and citations.
    public_base_url: str | None = None
    # Slack (off while the bot token is unset): the Rasa server's Slack channel answers staff
    # with it, and the backend posts website handoffs to the privacy team's channel with it.
    slack_bot_token: SecretStr | None = None
    # Slack's Web API; tests point it at a loopback stand-in that speaks the same JSON.
    slack_api_url: str = "https://slack.com/api/"
    # The privacy team's channel id (C…): handoffs are posted there, and its members may ask
    # the bot for the request queue.
    slack_privacy_channel: str = ""

    @classmethod
    def load(cls: type[_S], environ: Mapping[str, str] | None = None,
             env_file: Path | None = ENV_FILE) -> _S:
        """The settings from `environ` (default: the process environment) and `env_file`."""
        if environ is None:
            return cls(_env_file=env_file)  # type: ignore[call-arg]
        given = environ

        class Scoped(cls):  # type: ignore[valid-type,misc]
            @classmethod
            def settings_customise_sources(
                cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                env_settings: PydanticBaseSettingsSource,
                dotenv_settings: PydanticBaseSettingsSource,
                file_secret_settings: PydanticBaseSettingsSource,
            ) -> tuple[PydanticBaseSettingsSource, ...]:
                return init_settings, _MappingSource(settings_cls, given), dotenv_settings

        return cls.model_validate(Scoped(_env_file=env_file).model_dump())

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object, info: Any) -> object:
        """An empty variable (`DATABASE_URL=` in `.env`) means the default."""
        if isinstance(value, str) and not value.strip() and info.field_name:
            field: FieldInfo = cls.model_fields[info.field_name]
            if not field.is_required():
                return field.get_default(call_default_factory=True)
        return value

    @field_validator("slack_api_url", mode="after")
    @classmethod
    def _api_base_with_slash(cls, value: str) -> str:
        """slack_sdk joins method names onto the base URL, which must end with a slash."""
        return value.strip().rstrip("/") + "/"

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_bot_token.get_secret_value().strip())

    @field_validator("var_dir", "knowledge_dir", mode="after")
    @classmethod
    def _from_project_root(cls, value: Path) -> Path:
        return project_path(value)

    @field_validator("backend_url", "rasa_url", "site_url", "public_base_url", mode="after")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.strip().rstrip("/") if value else value

    @property
    def tracker_store_path(self) -> Path:
        return self.tracker_store_db or self.var_dir / "rasa_tracker.db"

    @property
    def tracker_store_sqlalchemy_url(self) -> str:
        """The tracker store's SQLAlchemy URL, as the Rasa server's `endpoints.yml` names it."""
        return self.tracker_store_url or f"sqlite:///{self.tracker_store_path}"

    @property
    def backend_base_url(self) -> str:
        """`BACKEND_URL`, else the backend's own address as a client here reaches it."""
        return self.backend_url or loopback_url(self.backend_host, self.backend_port)

    @property
    def rasa_base_url(self) -> str:
        """`RASA_URL`, else the Rasa server's own address as a client here reaches it."""
        return self.rasa_url or loopback_url(self.rasa_host, self.rasa_port)

    @property
    def public_url(self) -> str:
        """`PUBLIC_BASE_URL`, else the backend's own address (for local use only)."""
        return self.public_base_url or loopback_url(self.backend_host, self.backend_port)

    @property
    def site_base_url(self) -> str:
        """`SITE_URL`, else the backend's public address: it serves the statement page."""
        return self.site_url or self.public_url

    def secret(self, value: SecretStr | None, filename: str) -> str:
        """A secret given in the environment, else the one generated into `VAR_DIR`."""
        if value is not None and value.get_secret_value().strip():
            return value.get_secret_value().strip()
        return load_or_create_secret(self.var_dir / filename)

    def api_token(self) -> str:
        """The backend API's bearer token (`PRIVACY_API_TOKEN`, else `var/api_token`)."""
        return self.secret(self.privacy_api_token, PRIVACY_API_TOKEN.filename)

    def staff_token(self) -> str:
        """The staff's bearer token (`PRIVACY_STAFF_TOKEN`, else `var/staff_token`)."""
        return self.secret(self.privacy_staff_token, PRIVACY_STAFF_TOKEN.filename)

    def rasa_token(self) -> str:
        """The Rasa HTTP API's token (`RASA_API_TOKEN`, else `var/rasa_api_token`)."""
        return self.secret(self.rasa_api_token, RASA_API_TOKEN.filename)


def normalise_email(address: str) -> str:
    """The form an email address is stored and compared in: trimmed and lower-cased."""
    return address.strip().lower()
