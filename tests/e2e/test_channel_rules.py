"""The REST channel's rules on the real Rasa server, as `make run` starts it
(`scripts/rasa_run.py`): a body too big is refused before the token is looked at, and a REST
caller cannot pose as another channel or hand the assistant metadata.

`tests/channels` tries the same attacks on the channel alone; these show that the running
server applies them (the body limit is Sanic's, set before Rasa builds its app)."""

from __future__ import annotations

import requests

from privacy_assistant.stack import Stack
from tests.e2e.conftest import Chat, rasa_tracker

# The handbook's own words, which only staff in Slack are quoted (data/knowledge/internal/).
INTERNAL_QUESTION = "what is our internal escalation process for a privacy incident?"


def test_a_body_over_the_limit_is_refused_before_the_token(stack: Stack) -> None:
    url = f"{stack.env['RASA_URL']}/webhooks/rest/webhook"
    body = b'{"sender": "big", "message": "' + b"x" * 200_000 + b'"}'
    for headers in ({}, {"Authorization": f"Bearer {stack.env['REST_CHANNEL_TOKEN']}"}):
        response = requests.post(url, data=body, timeout=30,
                                 headers={"Content-Type": "application/json", **headers})
        assert response.status_code == 413, (headers.keys(), response.status_code)
    # A message of ordinary size still goes through.
    assert Chat.of(stack, "e2e-big-after").reply("hi")


def test_a_rest_caller_cannot_pose_as_slack(stack: Stack) -> None:
    sender = "e2e-posing-as-slack"
    response = requests.post(
        f"{stack.env['RASA_URL']}/webhooks/rest/webhook",
        json={"sender": sender, "message": INTERNAL_QUESTION, "input_channel": "slack",
              "metadata": {"slack": {"user": "U0PRIVACY", "team": "T0COMPANY",
                                     "privacy_team": True, "channel": "C0PRIVACY"}}},
        headers={"Authorization": f"Bearer {stack.env['REST_CHANNEL_TOKEN']}"}, timeout=30)
    assert response.status_code == 200
    events = rasa_tracker(stack, sender)["events"]
    said = [e for e in events if e["event"] == "user"]
    assert said and all(e["input_channel"] == "rest" for e in said)
    assert all(not (e.get("metadata") or {}).get("slack") for e in said)
