"""The privacy opt-out client against a real backend over real HTTP (uvicorn on a loopback
port, see conftest.py). No call carries a proof: none is asked for."""

from __future__ import annotations

import pytest

from actions.api.errors import BackendUnavailable, Unauthorized, ValidationFailed
from actions.api.opt_outs import OptOut, OptOutKind, OptOutsClient, OptOutSource
from tests.actions.conftest import TOKEN, Backend, client_fixture

client = client_fixture(OptOutsClient)
PATH = "/api/v1/opt-outs"


def test_create_records_an_opt_out_once_and_answers_typed(client: OptOutsClient,
                                                          backend: Backend) -> None:
    recorded = client.create(OptOutKind.SALE_SHARING, email="Ada@Example.com ",
                             conversation_id="conv-1")
    assert isinstance(recorded, OptOut)
    assert recorded.reference.startswith("OO-") and recorded.kind is OptOutKind.SALE_SHARING
    assert recorded.source is OptOutSource.CHAT and recorded.linked_to_email
    assert not recorded.already_recorded
    assert recorded.received_at.tzinfo is not None
    assert recorded.due_date > recorded.received_at.date()
    again = client.create("sale_sharing", email="ada@example.com", conversation_id="conv-1")
    assert again.already_recorded and again.reference == recorded.reference
    [listed] = [o for o in backend.staff("GET", PATH) if o["reference"] == recorded.reference]
    assert (listed["email"], listed["conversation_id"]) == ("ada@example.com", "conv-1")


def test_create_without_an_address_holds_for_the_conversation(client: OptOutsClient,
                                                              backend: Backend) -> None:
    recorded = client.create(OptOutKind.LIMIT_SENSITIVE, conversation_id="conv-2",
                             source=OptOutSource.GPC)
    assert (recorded.kind, recorded.source) == (OptOutKind.LIMIT_SENSITIVE, OptOutSource.GPC)
    assert not recorded.linked_to_email and not recorded.already_recorded
    [listed] = [o for o in backend.staff("GET", PATH) if o["reference"] == recorded.reference]
    assert (listed["email"], listed["conversation_id"]) == (None, "conv-2")


def test_errors_are_the_shared_exceptions(client: OptOutsClient, backend: Backend,
                                          down_url: str) -> None:
    with pytest.raises(ValidationFailed):
        client.create(OptOutKind.SALE_SHARING, email="not-an-email", conversation_id="conv-3")
    with pytest.raises(ValidationFailed):
        client.create(OptOutKind.SALE_SHARING, conversation_id="")
    with pytest.raises(ValueError):
        client.create("sell_everything", conversation_id="conv-3")
    with pytest.raises(Unauthorized) as listing:
        client._call("GET", PATH)  # the listing names addresses: staff only
    assert listing.value.status_code == 403
    with OptOutsClient(backend.url, "wrong-token", timeout=5) as wrong, \
            pytest.raises(Unauthorized):
        wrong.create(OptOutKind.SALE_SHARING, conversation_id="conv-3")
    with OptOutsClient(down_url, TOKEN, timeout=2) as down, pytest.raises(BackendUnavailable):
        down.create(OptOutKind.SALE_SHARING, conversation_id="conv-3")


def test_from_env_reads_the_backend_url_and_token(backend: Backend,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_URL", backend.url)
    monkeypatch.setenv("PRIVACY_API_TOKEN", TOKEN)
    with OptOutsClient.from_env() as client:
        assert client.create(OptOutKind.SALE_SHARING,
                             conversation_id="conv-env").linked_to_email is False
