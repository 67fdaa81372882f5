"""What the Rasa server does on every turn, done once instead (scripts/rasa_run.py applies
this before Rasa starts; nothing Rasa does changes).

Rasa 3.6 checks each action server response against its response schema with
`jsonschema.validate(result, schema)`, and `validate` first checks the schema itself against
the JSON Schema meta-schema, on every call. The schema is a constant: on a statement question
that check was 13% of the Rasa server's CPU (py-spy, docs/benchmarks.md). Here the schema is
checked and its validator built once, then each response is validated as `validate` does it
(the best-matching error raised, with Rasa's message added).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import ValidationError, exceptions
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@lru_cache(maxsize=1)
def response_validator() -> Validator:
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """`RemoteAction._validate_action_result`, with the validator built once."""
    error = exceptions.best_match(response_validator().iter_errors(result))
    if error is None:
        return True
    assert isinstance(error, ValidationError)
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def apply() -> None:
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
