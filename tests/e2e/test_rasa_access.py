"""Rasa's two doors for servers, tried from the attacker's side on the real stack: the REST
channel takes only callers with its bearer token, and the HTTP API only a JWT signed with
the API secret, in the header (never the secret in the query string)."""

from __future__ import annotations

import time

import pytest
import requests

from privacy_assistant.rasa_auth import rasa_api_headers, rasa_api_jwt
from privacy_assistant.stack import Stack
from tests.e2e.conftest import Chat, user_said

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ATTACKER_KEY = "an-attacker's-own-key-of-more-than-32-characters"
QUESTION = "what data do you collect?"


def _post(stack: Stack, sender: str, headers: dict[str, str] | None) -> requests.Response:
    return requests.post(f"{stack.env['RASA_URL']}/webhooks/rest/webhook", headers=headers,
                         json={"sender": sender, "message": QUESTION},
                         timeout=30)


@pytest.mark.parametrize("headers", [
    None,
    {"Authorization": "Bearer not-the-channel-token"},
    {"Authorization": "Bearer "},
], ids=["no token", "wrong token", "empty token"])
def test_the_rest_channel_refuses_a_caller_without_its_token(
    stack: Stack, headers: dict[str, str] | None, request: pytest.FixtureRequest
) -> None:
    sender = f"e2e-victim-{request.node.callspec.id.replace(' ', '-')}"
    response = _post(stack, sender, headers)
    assert response.status_code == 401, response.text
    assert response.json()["reason"] == "NotAuthenticated"
    # Nothing was processed: the conversation holds no message of the visitor's.
    assert user_said(stack, sender) == []
    # The secrets of the other doors do not open this one either.
    for other in ("RASA_API_TOKEN", "PRIVACY_API_TOKEN", "PRIVACY_STAFF_TOKEN",
                  "WIDGET_SESSION_SECRET"):
        assert _post(stack, sender, {"Authorization": f"Bearer {stack.env[other]}"}
                     ).status_code == 401, other
    assert user_said(stack, sender) == []

    # The support desk, with the token, talks in the same conversation.
    text, citation = Chat.of(stack, sender).ask(QUESTION)
    assert citation is not None, text
    assert user_said(stack, sender) == [QUESTION]


def test_the_http_api_refuses_its_secret_in_the_query_string(stack: Stack) -> None:
    url, secret = stack.env["RASA_URL"], stack.env["RASA_API_TOKEN"]
    assert requests.get(f"{url}/status", params={"token": secret}, timeout=10).status_code == 401
    assert requests.get(f"{url}/status", timeout=10).status_code == 401
    header = rasa_api_headers(secret, username="e2e")
    assert requests.get(f"{url}/status", headers=header, timeout=10).status_code == 200


def test_the_http_api_refuses_a_jwt_it_did_not_sign_or_that_expired(stack: Stack) -> None:
    url, secret = stack.env["RASA_URL"], stack.env["RASA_API_TOKEN"]
    cases = {
        "signed with another key": (rasa_api_jwt(ATTACKER_KEY, username="attacker"), 401),
        "expired": (rasa_api_jwt(secret, username="e2e", now=time.time() - 3600), 401),
        "the secret itself": (secret, 401),
        "another visitor's user role": (
            rasa_api_jwt(secret, username="someone-else", role="user"), 403),
    }
    for case, (token, status) in cases.items():
        response = requests.get(f"{url}/conversations/e2e-victim/tracker",
                                headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == status, (case, response.text)
