"""rasa_server/speedups.py changes how fast Rasa checks an action server's response, not what
it accepts: for valid and invalid responses alike, the patched check and Rasa's own give the
same verdict and the same error (run with the Rasa environment's Python)."""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from tests.conftest import PROJECT_ROOT

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
RESPONSES = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "email", "value": "a@example.com"}],
     "responses": [{"text": "hello", "buttons": []}]},
    {"events": "not a list", "responses": []},
    {"events": [{"no_event_key": 1}], "responses": []},
    {"events": [], "responses": "not a list"},
]
CHECK = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction
    from rasa_server import speedups

    original = RemoteAction._validate_action_result
    action = RemoteAction("action_x", None)
    def verdict(check, response):
        try:
            return ["ok", check(action, response)]
        except ValidationError as error:
            return ["invalid", error.message, list(error.path)]
    out = []
    for response in json.loads(sys.argv[2]):
        out.append([verdict(original, response), verdict(speedups.validate_action_result,
                                                         response)])
    speedups.apply()
    out.append(RemoteAction._validate_action_result is speedups.validate_action_result)
    print(json.dumps(out))
""")


def test_the_patched_response_check_agrees_with_rasas_own() -> None:
    if not RASA_PYTHON.is_file():
        pytest.fail(f"{RASA_PYTHON} is missing: run `make install`")
    done = subprocess.run([str(RASA_PYTHON), "-c", CHECK, str(PROJECT_ROOT),
                           json.dumps(RESPONSES)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    *pairs, applied = json.loads(done.stdout.strip().splitlines()[-1])
    assert applied is True
    verdicts = [rasa for rasa, _ in pairs]
    assert [v[0] for v in verdicts] == ["ok", "ok", "invalid", "invalid", "invalid"]
    for rasa, ours in pairs:
        assert ours == rasa
