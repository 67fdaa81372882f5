"""The backend's configuration: the shared variables (`privacy_assistant.settings`) and the
backend's own, read from the environment, then `.env`, then the defaults here."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from privacy_assistant.secret_files import (
    SECRET_FILES,
    UNSUBSCRIBE_SECRET,
    VERIFICATION_SECRET,
    check_secret,
)
from privacy_assistant.settings import SharedSettings
from privacy_backend.core.jurisdictions import DEFAULT_RULES, DeadlineRule

# The jurisdictions' rules are one table of their own; re-exported here for the settings.
__all__ = ["DEFAULT_RULES", "DeadlineRule", "Settings"]


DEFAULT_PREFERENCE_CHANNELS = ["email", "sms", "phone", "postal"]
DEFAULT_PREFERENCE_TOPICS = ["product_news", "events", "newsletters", "promotions"]
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class Settings(SharedSettings):
    database_url: str | None = None
    verification_secret: SecretStr | None = None
    unsubscribe_secret: SecretStr | None = None

    mail_backend: Literal["file", "smtp"] = "file"
    mail_from: str = "Privacy Team <privacy@example.com>"
    mail_dir: Path | None = None
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_timeout: float = 10.0
    # Mail goes through the outbox (`mail.outbox`): a route waits at most this long, after its
    # commit, for its code's email to be handed over, then answers "queued"; what is not
    # handed over is retried every `mail_retry_seconds` (doubling, up to 16x) until the code
    # expires.
    mail_send_wait_seconds: float = Field(default=3.0, ge=0)
    mail_retry_seconds: float = Field(default=30.0, gt=0)

    max_body_bytes: int = 16 * 1024
    code_ttl_minutes: int = 15
    code_max_attempts: int = 5
    code_hourly_limit: int = 5
    # Once an address has had `code_hourly_limit` codes (or status lookups) in the hour, one
    # more only this many minutes after its latest: the longest a stranger's codes keep the
    # owner from one. And the codes (verifications) of the whole system per hour.
    code_address_wait_minutes: int = Field(default=15, ge=1)
    code_global_hourly_limit: int = Field(default=1000, ge=1)
    # Guessing limits (`services.code_limits`): one conversation's wrong codes plus status
    # lookups over the codes issued in the last `code_failure_window_minutes` (beyond the
    # limit, a 429), and the wrong codes typed for one address's codes from any conversation
    # over the last `code_address_failure_window_hours` (beyond the limit, each new code has 9
    # digits and every code may be tried once only).
    code_failure_window_minutes: int = Field(default=60, ge=1)
    code_conversation_limit: int = Field(default=10, ge=1)
    code_address_failure_limit: int = Field(default=10, ge=1)
    code_address_failure_window_hours: int = Field(default=24, ge=1)
    default_jurisdiction: str = "US"
    jurisdiction_rules: dict[str, DeadlineRule] = Field(default_factory=lambda: dict(DEFAULT_RULES))
    log_level: str = "INFO"

    preference_channels: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PREFERENCE_CHANNELS))
    preference_topics: list[str] = Field(default_factory=lambda: list(DEFAULT_PREFERENCE_TOPICS))
    unsubscribe_link_ttl_days: int = Field(default=60, ge=1)
    unsubscribe_mailto: str | None = None
    # Bounds on the assistant's code-free marketing opt-outs (`POST /preferences/opt-out`),
    # per hour: opt-outs of one address from any conversation, and opt-outs one conversation
    # makes for any addresses (429 too_many_opt_outs beyond). Staff are not bounded.
    marketing_opt_outs_per_address_per_hour: int = Field(default=10, ge=1)
    marketing_opt_outs_per_conversation_per_hour: int = Field(default=10, ge=1)

    # The demo page, the chat widget and the agent console (human handoff).
    widget_rasa_url: str | None = None
    rasa_timeout: float = 10.0
    agent_session_hours: float = Field(default=8.0, gt=0)
    agent_online_minutes: float = Field(default=3.0, gt=0)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_minutes: float = Field(default=15.0, gt=0)
    # A handoff nobody takes within this many minutes closes: the bot resumes and tells the
    # visitor how to reach the team. `privacy-backend serve` checks every sweep interval.
    handoff_wait_minutes: float = Field(default=10.0, gt=0)
    handoff_sweep_seconds: float = Field(default=30.0, gt=0)
    # Flood limits on the handoff queue (and the privacy team's Slack channel, which gets one
    # post per handoff): open handoffs in all (503 handoff_queue_full beyond), and handoffs
    # one conversation may open per hour (429 too_many_handoffs beyond).
    handoff_max_open: int = Field(default=200, ge=1)
    handoffs_per_conversation_per_hour: int = Field(default=3, ge=1)
    # Privacy opt-outs that need no proof (`services.opt_outs`): new ones one conversation may
    # record per hour, and new ones of one kind for one address (429 too_many_opt_outs
    # beyond). And the `lastUpdate` of /.well-known/gpc.json; empty: the statement's date.
    opt_out_hourly_limit: int = Field(default=10, ge=1)
    # New privacy opt-outs the whole system records per hour (beyond: 429 for everyone), so
    # that many conversations together cannot fill the table.
    opt_out_global_hourly_limit: int = Field(default=1000, ge=1)
    gpc_last_update: date | None = None

    # Fulfilment: how long the signed link to an access request's export package works
    # (the package is deleted by the purge after that).
    export_link_ttl_days: int = Field(default=7, ge=1, le=90)
    # Retention (`services.retention`, run daily by `serve` and by `privacy-backend purge`):
    # conversations nobody verified, by their last message; conversations linked to a
    # verified address (CCPA regs §7101 keep request records 24 months); mail files; and
    # requests closed unverified, by their closing.
    retention_unverified_conversation_days: int = Field(default=30, ge=1)
    retention_verified_conversation_days: int = Field(default=730, ge=1)
    retention_mail_days: int = Field(default=30, ge=1)
    retention_closed_unverified_days: int = Field(default=90, ge=1)
    # However recent its last message, a conversation goes this many days after its first
    # (a Slack chat or a resumed widget chat is never idle for long): never verified, and
    # linked to a verified address.
    retention_unverified_conversation_max_days: int = Field(default=90, ge=1)
    retention_verified_conversation_max_days: int = Field(default=1095, ge=1)
    # One-time codes (their address and conversation), days after they expired; the request
    # keeps when it was verified. Failed console logins go after LOGIN_WINDOW_MINUTES.
    retention_verification_days: int = Field(default=30, ge=1)
    # How often `serve` runs the purge.
    retention_purge_hours: float = Field(default=24.0, gt=0)
    # Redis, where the REST channel keeps its answers to turns sent with a message id: an
    # erasure deletes those of the erased conversations. Empty: nothing to delete there.
    redis_url: str = ""

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

    @field_validator("widget_rasa_url", mode="after")
    @classmethod
    def _widget_url_no_trailing_slash(cls, value: str | None) -> str | None:
        return value.strip().rstrip("/") if value else value

    @model_validator(mode="after")
    def _conversation_ages(self) -> Settings:
        for kind in ("unverified", "verified"):
            idle = getattr(self, f"retention_{kind}_conversation_days")
            most = getattr(self, f"retention_{kind}_conversation_max_days")
            if most < idle:
                raise ValueError(
                    f"RETENTION_{kind.upper()}_CONVERSATION_MAX_DAYS ({most}) is shorter than "
                    f"RETENTION_{kind.upper()}_CONVERSATION_DAYS ({idle})")
        return self

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

    def secret(self, value: SecretStr | None, filename: str) -> str:
        """A secret given in the environment, else the one generated into `VAR_DIR`; a
        placeholder (`REPLACE-ME`) or one shorter than its minimum raises `WeakSecret`, which
        names the variable, never the value (`secret_files.check_secret`)."""
        text = super().secret(value, filename)
        known = {secret.filename: secret for secret in SECRET_FILES.values()}
        if filename not in known:
            return text
        given = value is not None and bool(value.get_secret_value().strip())
        return check_secret(known[filename], text,
                            "" if given else f"from {self.var_dir / filename}")

    def code_secret(self) -> bytes:
        """The code secret (`VERIFICATION_SECRET`, else generated). Each use derives its own
        key from it (`core/sealing.py`): code hashes, suppressions, client keys, export
        packages and queued mail."""
        return self.secret(self.verification_secret, VERIFICATION_SECRET.filename).encode()

    def link_secret(self) -> bytes:
        """The link secret (`UNSUBSCRIBE_SECRET`, else generated): unsubscribe, export and
        agent confirmation links, each under a key derived for its purpose
        (`core/sealing.py`)."""
        return self.secret(self.unsubscribe_secret, UNSUBSCRIBE_SECRET.filename).encode()
