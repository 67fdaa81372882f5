"""Keep personal data and secrets out of the access log.

Uvicorn logs every request line. Ours can carry an email address in the query string
(`/api/v1/preferences?email=…`, `/api/v1/requests?email=…`) and a credential in the path:
the signed token of an unsubscribe link (`/unsubscribe/<token>`) or of an export link
(`/exports/<token>`, whoever holds it reads a person's whole package), the id of a confirmed
code (`/api/v1/verifications/<id>`, the assistant's proof for an address) and a
conversation's id (`/api/v1/conversations/<id>`, which addresses a visitor's chat). The
filter keeps method, path and status, which is what an operator needs, and drops the rest.
"""

from __future__ import annotations

import logging
import re

# The paths whose next segment is a credential (HAProxy's and the ingress's logs leave
# these out too: deploy/haproxy.cfg, deploy/kubernetes/ingress.yaml).
TOKEN_PREFIXES = ("/unsubscribe/", "/exports/", "/api/v1/verifications/",
                  "/api/v1/conversations/")
_TOKEN_PATHS = re.compile(
    r"^(/*(?:" + "|".join(re.escape(prefix.strip("/")) for prefix in TOKEN_PREFIXES)
    + r")/+)[^/?#]+", re.IGNORECASE)


def redact_path(path: str) -> str:
    """`/api/v1/requests?email=a@b.c` → `/api/v1/requests?…`; `/exports/<token>` →
    `/exports/…` (and the other TOKEN_PREFIXES alike)."""
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
