"""Global Privacy Control's one rule (W3C GPC): a request carries the signal when its
`Sec-GPC` header is exactly `1`. Any other value (`0`, `true`, `1,1` from a repeated
header) is no signal. HTTP servers strip the whitespace around a header value, so ` 1 `
arrives as `1` and counts, as the HTTP specification says it should.

Standard library only: the backend's pages (`privacy_backend/site/privacy_signals.py`) and
the Rasa server's socket.io channel (`channels/privacy_signals.py`) both use it.
"""

from __future__ import annotations

from collections.abc import Sequence

HEADER = "Sec-GPC"


def signals(values: Sequence[str | None]) -> bool:
    """Whether the `Sec-GPC` values a request carries (one per header line; a server that
    joins repeated headers gives one value with a comma) are the signal: exactly one `1`."""
    return list(values) == ["1"]
