"""The action server's configuration: the shared variables (`privacy_assistant.settings`) and
its own, read from the environment, then `.env`, then the defaults. Read once per process, on
first use (never at import); `settings.cache_clear()` makes the next call read them again
(the tests do, after changing the environment)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from privacy_assistant.settings import SharedSettings


class ActionSettings(SharedSettings):
    # Longer than the backend's own SMTP time-out (SMTP_TIMEOUT, 10 s): a request whose code
    # mail is slow must not be reported as failed to the visitor after the backend filed it.
    backend_timeout: float = Field(default=15.0, gt=0)

    def stored_api_token(self) -> str | None:
        """`PRIVACY_API_TOKEN`, else the token the backend generated into `VAR_DIR`; `None`
        when there is neither. The action server never generates one: the backend owns it."""
        if self.privacy_api_token is not None and self.privacy_api_token.get_secret_value():
            return self.privacy_api_token.get_secret_value().strip()
        try:
            return (self.var_dir / "api_token").read_text(encoding="utf-8").strip() or None
        except OSError:
            return None


@lru_cache(maxsize=1)
def settings() -> ActionSettings:
    """The action server's settings, read on the first call and then kept."""
    return ActionSettings.load()
