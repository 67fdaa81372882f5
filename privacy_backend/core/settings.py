"""Service configuration, read from the environment (and an optional `.env`) in one place."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _default_var_dir() -> Path:
    """`var/` under the project root in a source checkout, else under the working directory."""
    root = _PACKAGE_DIR.parent
    if (root / "pyproject.toml").is_file():
        return root / "var"
    return Path.cwd() / "var"


class DeadlineRule(BaseModel):
    """How long a jurisdiction gives us to answer, and how it may be extended."""

    model_config = {"extra": "forbid"}

    days: int = Field(default=0, ge=0)
    months: int = Field(default=0, ge=0)
    extension_days: int = Field(default=0, ge=0)
    extension_months: int = Field(default=0, ge=0)
    max_extensions: int = Field(default=1, ge=0)

    @model_validator(mode="after")
    def _has_period(self) -> DeadlineRule:
        if self.days == 0 and self.months == 0:
            raise ValueError("a deadline rule needs `days` or `months`")
        return self


DEFAULT_RULES: dict[str, DeadlineRule] = {
    # CCPA/CPRA: 45 calendar days from receipt, one further 45 days with notice.
    "US": DeadlineRule(days=45, extension_days=45, max_extensions=1),
    # GDPR art. 12(3): one month from receipt, extendable once by two further months.
    "GDPR": DeadlineRule(months=1, extension_months=2, max_extensions=1),
}


DEFAULT_PREFERENCE_CHANNELS = ["email", "sms", "phone", "postal"]
DEFAULT_PREFERENCE_TOPICS = ["product_news", "events", "newsletters", "promotions"]
DEFAULT_RASA_URL = "http://127.0.0.1:5005"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_file_encoding="utf-8")

    backend_host: str = "127.0.0.1"
    backend_port: int = 8000
    var_dir: Path = Field(default_factory=_default_var_dir)
    database_url: str | None = None
    privacy_api_token: SecretStr | None = None
    verification_secret: SecretStr | None = None
    unsubscribe_secret: SecretStr | None = None
    public_base_url: str | None = None

    mail_backend: Literal["file", "smtp"] = "file"
    mail_from: str = "Privacy Team <privacy@example.com>"
    mail_dir: Path | None = None
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_timeout: float = 10.0

    max_body_bytes: int = 16 * 1024
    code_ttl_minutes: int = 15
    code_max_attempts: int = 5
    code_hourly_limit: int = 5
    unverified_close_days: int = 7
    default_jurisdiction: str = "US"
    jurisdiction_rules: dict[str, DeadlineRule] = Field(default_factory=lambda: dict(DEFAULT_RULES))
    log_level: str = "INFO"

    preference_channels: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PREFERENCE_CHANNELS))
    preference_topics: list[str] = Field(default_factory=lambda: list(DEFAULT_PREFERENCE_TOPICS))
    unsubscribe_link_ttl_days: int = Field(default=60, ge=1)
    unsubscribe_mailto: str | None = None

    # The demo page, the chat widget and the agent console (human handoff).
    rasa_url: str = DEFAULT_RASA_URL
    widget_rasa_url: str | None = None
    rasa_api_token: SecretStr | None = None
    rasa_timeout: float = 10.0
    site_url: str | None = None
    knowledge_dir: Path = Field(default_factory=lambda: _PACKAGE_DIR.parent / "data" / "knowledge")
    agent_session_hours: float = Field(default=8.0, gt=0)
    agent_online_minutes: float = Field(default=3.0, gt=0)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_minutes: float = Field(default=15.0, gt=0)

    @field_validator("database_url", "privacy_api_token", "verification_secret", "mail_dir",
                     "smtp_user", "smtp_password", "unsubscribe_secret", "public_base_url",
                     "unsubscribe_mailto", "rasa_api_token", "site_url", "widget_rasa_url",
                     mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("var_dir", mode="before")
    @classmethod
    def _empty_var_dir_is_default(cls, value: object) -> object:
        return _default_var_dir() if isinstance(value, str) and not value.strip() else value

    @field_validator("preference_channels", "preference_topics", mode="after")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("list at least one name")
        bad = [name for name in value if not _NAME.match(name) or name == "all"]
        if bad:
            raise ValueError(f"names are lowercase identifiers (a-z, 0-9, _; not 'all'): {bad}")
        if len(set(value)) != len(value):
            raise ValueError("names must be unique")
        return value

    @field_validator("public_base_url", "site_url", mode="after")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.strip().rstrip("/") if value else value

    @field_validator("rasa_url", mode="before")
    @classmethod
    def _empty_rasa_url_is_default(cls, value: object) -> object:
        return DEFAULT_RASA_URL if isinstance(value, str) and not value.strip() else value

    @field_validator("knowledge_dir", mode="before")
    @classmethod
    def _knowledge_dir(cls, value: object) -> object:
        """Empty: the project's data/knowledge; relative: from the project root."""
        if isinstance(value, str) and not value.strip():
            return _PACKAGE_DIR.parent / "data" / "knowledge"
        if isinstance(value, (str, Path)) and not Path(value).is_absolute():
            return _PACKAGE_DIR.parent / value
        return value

    @field_validator("rasa_url", "widget_rasa_url", mode="after")
    @classmethod
    def _rasa_url_no_trailing_slash(cls, value: str | None) -> str | None:
        return value.strip().rstrip("/") if value else value

    @model_validator(mode="after")
    def _default_jurisdiction_known(self) -> Settings:
        if self.default_jurisdiction not in self.jurisdiction_rules:
            raise ValueError(
                f"DEFAULT_JURISDICTION={self.default_jurisdiction!r} has no rule in "
                f"JURISDICTION_RULES ({', '.join(sorted(self.jurisdiction_rules))})"
            )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'privacy.db'}"

    @property
    def mail_path(self) -> Path:
        return self.mail_dir or self.var_dir / "mail"

    @property
    def public_url(self) -> str:
        """`PUBLIC_BASE_URL`, else this server's own address (a wildcard host means loopback)."""
        if self.public_base_url:
            return self.public_base_url
        host = self.backend_host
        if host in ("", "0.0.0.0", "::", "[::]"):
            host = "127.0.0.1"
        elif ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.backend_port}"
