"""The backend's client of Rasa's HTTP API (privacy_backend/integrations/rasa.py), against
the loopback stand-in that checks callers as Rasa does: the secret never travels, each call
carries a short-lived admin JWT in its Authorization header, and nothing in the query."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from privacy_backend.integrations.rasa import RasaApi, RasaUnavailable

from .rasa_standin import RasaStandIn

SECRET = "rasa-api-secret-for-the-client-tests-0123"
CONVERSATION = "visitor-7"
SAID = [{"event": "user", "text": "what data do you collect?", "timestamp": 1.0}]


@pytest.fixture
def rasa() -> Iterator[RasaStandIn]:
    standin = RasaStandIn(secret=SECRET)
    standin.start()
    standin.conversations[CONVERSATION] = list(SAID)
    yield standin
    standin.stop()


def test_every_call_sends_a_short_lived_jwt_in_the_header_and_never_the_secret(
    rasa: RasaStandIn,
) -> None:
    api = RasaApi(rasa.url, SECRET)
    assert api.events(CONVERSATION) == SAID
    api.say(CONVERSATION, "Hello, I'm Sam.", agent="Sam")
    api.pause(CONVERSATION)
    api.trigger_intent(CONVERSATION, "handoff_returned")
    assert len(rasa.calls) == 4
    for call in rasa.calls:
        assert "token" not in call.query, call
        assert SECRET not in call.path and SECRET not in str(call.query)
        assert all(SECRET not in value for value in call.headers.values()), call
        assert call.claims is not None, call  # the stand-in accepted its JWT
        assert call.claims["user"]["role"] == "admin"
        assert 0 < call.claims["exp"] - call.claims["iat"] <= 60


def test_a_client_with_another_secret_is_refused_and_changes_nothing(
    rasa: RasaStandIn,
) -> None:
    api = RasaApi(rasa.url, "not-the-secret-but-just-as-long-0123456789")
    with pytest.raises(RasaUnavailable, match="401"):
        api.say(CONVERSATION, "hi", agent="Mallory")
    assert rasa.conversations[CONVERSATION] == SAID


def test_the_secret_in_the_query_string_opens_nothing(rasa: RasaStandIn) -> None:
    """What Rasa started without `--auth-token` does: the stand-in agrees, so a client that
    went back to `?token=` would fail every test above."""
    response = httpx.post(f"{rasa.url}/conversations/{CONVERSATION}/tracker/events",
                          params={"token": SECRET}, json=[{"event": "pause"}])
    assert response.status_code == 401
    assert rasa.conversations[CONVERSATION] == SAID
