"""Schemathesis over the backend's own OpenAPI document: every operation, a bounded number of
generated requests each (valid and invalid), all of schemathesis' checks. No server error,
no answer that breaks the documented schema, status or headers.

The API checks more than JSON Schema can say (an address must be deliverable, a one-time
code and an unsubscribe token must be ones the backend issued), so a schema-valid request
may still be refused with 400, 410 or 422; those count as accepted answers to valid data.
The app runs in-process (ASGI) on a SQLite file of its own, with the file mailer, and the
calls carry the staff token, which every operation accepts.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from privacy_backend.core.db import upgrade
from privacy_backend.core.settings import Settings
from privacy_backend.main import create_app

EXAMPLES_PER_OPERATION = 15

_VAR = Path(tempfile.mkdtemp(prefix="privacy-openapi-fuzz-"))
_SETTINGS = Settings(_env_file=None, var_dir=_VAR)
upgrade(_SETTINGS)
_APP = create_app(_SETTINGS)
_STAFF = getattr(_SETTINGS, "staff_token", _SETTINGS.api_token)()
_CONFIG = SchemathesisConfig.from_dict({"checks": {
    "positive_data_acceptance": {"expected-statuses": [
        "2xx", "3xx", "400", "401", "403", "404", "409", "410", "422", "429"]},
    # A body over MAX_BODY_BYTES is refused with 413 before it is parsed.
    "negative_data_rejection": {"expected-statuses": [
        "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]},
}})
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP, config=_CONFIG)


@schema.auth()
class StaffToken:
    """The staff bearer token, given to schemathesis as the API's authentication, so that
    the cases it makes without credentials are sent without them."""

    def get(self, case: schemathesis.Case, context: object) -> str:
        return str(_STAFF)

    def set(self, case: schemathesis.Case, data: str, context: object) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_contract(case: schemathesis.Case) -> None:
    case.call_and_validate()
