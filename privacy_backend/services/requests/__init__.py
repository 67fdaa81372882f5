"""Privacy requests, one module per job:

- `records`: the request rows (creation, the status graph, extensions, audit rows, closing
  what was never verified, the team's queue, finding one by its reference); its names are
  re-exported here, so `services.requests.transition` and the like keep working;
- `filing`: what the requester's side of the API does (file a request, check its code, send
  the code again, look a status up, read a request with the assistant's proof);
- `staff`: what staff do to a request through the API (a status change or an extension,
  with its email; the audit trail);
- `duplicates`: what becoming verified does (a second open request of the same type and
  address becomes a duplicate of the first, any other gets its confirmation of receipt),
  and staff's marking of a duplicate.
"""

from privacy_backend.services.requests.records import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    REFERENCE_ALPHABET,
    TRANSITIONS,
    close_unverified,
    create,
    extend,
    fingerprint,
    get_by_reference,
    get_or_404,
    new_reference,
    normalize_reference,
    queue,
    record,
    require_transition,
    transition,
)

__all__ = ["FINAL_STATUSES", "OPEN_STATUSES", "REFERENCE_ALPHABET", "TRANSITIONS",
           "close_unverified", "create", "extend", "fingerprint", "get_by_reference",
           "get_or_404", "new_reference", "normalize_reference", "queue", "record",
           "require_transition", "transition"]
