"""Codes, tokens, secrets and email bodies never reach the logs."""

from __future__ import annotations

import logging
import re

import pytest

from .support import TOKEN, Api


def test_no_secrets_in_logs(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    codes: list[str] = []
    ref = api.create()["reference"]
    codes.append(api.last_code())
    api.post(f"/api/v1/requests/{ref}/verify", json={"code": "000000"})
    api.post(f"/api/v1/requests/{ref}/resend-code")
    codes.append(api.last_code())
    api.verify(ref)
    api.post("/api/v1/requests/lookup", json={"reference": ref, "email": "ada@example.com"})
    codes.append(api.last_code())
    vid = api.post("/api/v1/verifications", json={
        "email": "b@example.com", "purpose": "preferences"}).json()["verification_id"]
    codes.append(api.last_code())
    api.post(f"/api/v1/verifications/{vid}/confirm", json={"code": codes[-1]})
    api.client.get("/api/v1/requests", headers={"Authorization": "Bearer wrong-token"})

    text = caplog.text
    assert "privacy request" in text and "mail written" in text  # we did log something
    for code in codes:  # as a word: a timestamp may contain the same six digits by chance
        assert not re.search(rf"\b{code}\b", text)
    for secret in (TOKEN, "wrong-token", "test-secret", "verification code is"):
        assert secret not in text
