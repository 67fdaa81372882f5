"""Keep personal data and secrets out of the access log.

Uvicorn logs every request line. Ours can carry an email address in the query string
(`/api/v1/preferences?email=…`, `/api/v1/requests?email=…`) and a signed token in the path
(`/unsubscribe/<token>`). The filter keeps method, path and status, which is what an
operator needs, and drops the rest.
"""

from __future__ import annotations

import logging
import re

_TOKEN_PATHS = re.compile(r"^(/unsubscribe/)[^/?#]+")


def redact_path(path: str) -> str:
    """`/api/v1/requests?email=a@b.c` → `/api/v1/requests?…`; unsubscribe tokens → `…`."""
    bare, question, _ = path.partition("?")
    bare = _TOKEN_PATHS.sub(r"\1…", bare)
    return bare + ("?…" if question else "")


class RedactAccessLog(logging.Filter):
    """For uvicorn.access records, whose args are (client, method, path, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


def install() -> None:
    logging.getLogger("uvicorn.access").addFilter(RedactAccessLog())
