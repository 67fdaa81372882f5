"""One-time codes from the attacker's side: a stranger who knows the victim's address and opens
as many conversations as they like tries to keep the owner from a code, to guess one, to mail
the world, and to learn from the status lookup whether a reference belongs to an address."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from privacy_backend.core.models import Verification
from privacy_backend.core.settings import Settings
from privacy_backend.mail.mailer import FileMailer, MailError
from privacy_backend.main import create_app

from .support import Api, FakeClock, TestClient

VICTIM = "victim@example.com"


def _wrong(code: str) -> str:
    """Another code of the same length."""
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def _start(api: Api, conversation_id: str, email: str = VICTIM) -> httpx.Response:
    return api.post("/api/v1/verifications", json={
        "email": email, "purpose": "preferences", "conversation_id": conversation_id})


def _confirm(api: Api, vid: str, code: str) -> httpx.Response:
    return api.post(f"/api/v1/verifications/{vid}/confirm", json={"code": code})


def _guesses(api: Api, email: str = VICTIM) -> int:
    """Codes checked for `email` so far (each attempt counted, right or wrong)."""
    with api.engine.connect() as conn:
        return conn.scalar(select(func.coalesce(func.sum(Verification.attempts), 0))
                           .where(Verification.email == email)) or 0


def test_a_strangers_wrong_guesses_do_not_keep_the_owner_from_a_code(api: Api) -> None:
    """Before: two codes asked for and guessed wrong ten times locked the address out of any
    code (429 too_many_codes) for an hour, again and again."""
    limit = api.settings.code_address_failure_limit
    failures, i = 0, 0
    while failures < limit:
        vid = _start(api, f"eve-{i}").json()["verification_id"]
        i += 1
        for _ in range(api.settings.code_max_attempts):
            response = _confirm(api, vid, "000000")
            failures += response.json()["error"] in ("invalid_code", "too_many_attempts")
    owner = _start(api, "owner")
    assert owner.status_code == 201, owner.text
    ok = _confirm(api, owner.json()["verification_id"], api.last_code())
    assert ok.status_code == 200 and ok.json()["email"] == VICTIM
    # The owner's request code works at once too.
    ref = api.create(email=VICTIM, conversation_id="owner")["reference"]
    assert api.verify(ref)["status"] == "verified"


def test_beyond_the_address_limit_each_code_can_be_tried_once(api: Api) -> None:
    limit = api.settings.code_address_failure_limit
    for i in range(2):
        vid = _start(api, f"eve-{i}").json()["verification_id"]
        for _ in range(api.settings.code_max_attempts):
            _confirm(api, vid, "000000")
    assert _guesses(api) == limit
    vid = _start(api, "eve-9").json()["verification_id"]
    code = api.last_code()
    first = _confirm(api, vid, _wrong(code))
    assert first.status_code == 429
    assert first.json() == {"error": "too_many_attempts", "attempts_left": 0,
                            "message": "Too many wrong codes. Ask for a new code."}
    # Even the right code: the stranger's one guess on this code is spent.
    second = _confirm(api, vid, code)
    assert second.status_code == 429 and second.json()["error"] == "too_many_attempts"
    assert api.get(f"/api/v1/verifications/{vid}").json()["verified"] is False
    assert _guesses(api) == limit + 1
    # Another address is not held back at all.
    other = _start(api, "bob", email="bob@example.com").json()["verification_id"]
    assert _confirm(api, other, _wrong(api.last_code())).json()["attempts_left"] == 4


def test_an_hour_of_guessing_gets_a_handful_of_tries_and_the_owner_still_gets_in(
    api: Api,
) -> None:
    """The attacker asks for a code every minute for an hour from fresh conversations and
    guesses each as often as allowed. The bound the README states: at most
    `code_address_failure_limit` guesses plus one per further code mailed, and at most
    `code_hourly_limit` + 60 / `code_address_wait_minutes` - 1 codes mailed in the hour."""
    settings = api.settings
    mailed = 0
    for minute in range(60):
        started = _start(api, f"eve-{minute}")
        if started.status_code == 429:
            assert started.json()["error"] == "too_many_codes"
            assert 0 < int(started.headers["retry-after"]) <= (
                settings.code_address_wait_minutes * 60)
        else:
            mailed += 1
            vid = started.json()["verification_id"]
            while _confirm(api, vid, "000000").status_code == 400:
                pass
        api.clock.advance(minutes=1)
    assert mailed == settings.code_hourly_limit + 60 // settings.code_address_wait_minutes - 1
    assert _guesses(api) == settings.code_address_failure_limit + mailed - 2
    # The owner asks now: at most `code_address_wait_minutes` after the stranger's last code.
    api.clock.advance(minutes=settings.code_address_wait_minutes)
    owner = _start(api, "owner")
    assert owner.status_code == 201, owner.text
    assert _confirm(api, owner.json()["verification_id"], api.last_code()).status_code == 200


def _digits_and_attempts(api: Api, email: str = VICTIM) -> list[tuple[int, int]]:
    with api.engine.connect() as conn:
        return [(row.code_digits, row.attempts) for row in conn.execute(
            select(Verification.code_digits, Verification.attempts)
            .where(Verification.email == email).order_by(Verification.created_at))]


def test_a_day_of_guessing_gets_the_limit_at_6_digits_and_one_try_per_9_digit_code(
    api: Api,
) -> None:
    """Before: about ten guesses an hour at 6-digit codes, every hour, for as long as the
    attacker kept at it (a one-in-twelve chance a year). Now the attacker asks for a code
    every five minutes for a day from fresh conversations and guesses each as often as
    allowed: `code_address_failure_limit` guesses at 6-digit codes in all, and beyond them
    every code mailed has 9 digits and takes one guess."""
    settings = api.settings
    for step in range(24 * 12):
        started = _start(api, f"eve-{step}")
        if started.status_code == 201:
            vid = started.json()["verification_id"]
            while _confirm(api, vid, _wrong(api.last_code())).status_code == 400:
                pass
        api.clock.advance(minutes=5)
    codes = _digits_and_attempts(api)
    short = [attempts for digits, attempts in codes if digits == 6]
    long = [attempts for digits, attempts in codes if digits == 9]
    assert sum(short) == settings.code_address_failure_limit
    assert len(long) > 24 and all(attempts == 1 for attempts in long)
    # The owner, once the mail budget admits a code: a 9-digit code, the email saying why,
    # and in at the first try.
    api.clock.advance(minutes=settings.code_address_wait_minutes)
    owner = _start(api, "owner")
    assert owner.status_code == 201 and owner.json()["code_digits"] == 9, owner.text
    code = api.last_code()
    assert len(code) == 9
    assert "longer than usual" in api.mails()[-1].get_payload(decode=True).decode()
    assert _confirm(api, owner.json()["verification_id"], code).status_code == 200
    # A day after the last wrong guess, codes are 6 digits again.
    api.clock.advance(hours=settings.code_address_failure_window_hours)
    again = _start(api, "owner-next-day")
    assert again.status_code == 201 and again.json()["code_digits"] == 6
    assert len(api.last_code()) == 6


def test_a_full_mail_budget_keeps_the_owner_waiting_minutes_not_an_hour(api: Api) -> None:
    """Before: five codes asked for in the victim's name refused the owner for an hour."""
    wait = api.settings.code_address_wait_minutes
    for i in range(api.settings.code_hourly_limit):
        assert _start(api, f"eve-{i}").status_code == 201
    mails = len(api.mails())
    api.clock.advance(minutes=1)
    refused = api.post("/api/v1/requests", json={
        "type": "access", "email": VICTIM, "conversation_id": "owner"})
    assert refused.status_code == 429 and refused.json()["error"] == "too_many_codes"
    assert refused.headers["retry-after"] == str((wait - 1) * 60)
    assert len(api.mails()) == mails
    api.clock.advance(minutes=wait - 1)
    ref = api.create(email=VICTIM, conversation_id="owner")["reference"]
    assert api.verify(ref)["status"] == "verified"
    # The budget is still full: the next code again only after the wait.
    again = _start(api, "eve-9")
    assert again.status_code == 429 and again.headers["retry-after"] == str(wait * 60)


class _Relay(FileMailer):
    """Writes `.eml` files, or refuses while `down`."""

    down = True

    def send(self, message: EmailMessage) -> None:
        if self.down:
            raise MailError("relay down")
        super().send(message)


def test_codes_whose_email_never_went_out_do_not_use_up_the_budget(
    db: Engine, settings: Settings, clock: FakeClock
) -> None:
    """The relay is down while the owner asks again and again: the replaced codes' emails
    are dropped unsent, and once the relay is back the owner gets a code at once."""
    relay = _Relay(settings.mail_path)
    with TestClient(create_app(settings, engine=db, clock=clock, mailer=relay)) as client:
        api = Api(client=client, engine=db, settings=settings, clock=clock)
        ref = api.create()["reference"]
        for _ in range(settings.code_hourly_limit - 1):
            assert api.post(f"/api/v1/requests/{ref}/resend-code").json()["mail_status"] == (
                "queued")
        clock.advance(minutes=1)
        client.app.state.outbox.deliver_due()  # the replaced codes' emails are dropped
        relay.down = False
        resent = api.post(f"/api/v1/requests/{ref}/resend-code")
        assert resent.status_code == 201, resent.text
        assert api.verify(ref)["status"] == "verified"


def test_no_more_codes_than_the_global_cap_per_hour(api: Api) -> None:
    """A stranger mails many addresses, each within its own limits: the system stops at the
    cap, and a lookup is refused alike whether it would have matched."""
    api.settings.code_global_hourly_limit = 4
    ref = api.create(email="ada@example.com", conversation_id="ada")["reference"]  # code 1
    for i in range(3):  # codes 2-4, to as many addresses
        assert _start(api, f"eve-{i}", email=f"target{i}@example.com").status_code == 201
    mails = len(api.mails())
    api.clock.advance(minutes=10)
    for attempt in (lambda: _start(api, "eve-9", email="target9@example.com"),
                    lambda: api.post(f"/api/v1/requests/{ref}/resend-code"),
                    lambda: api.post("/api/v1/requests/lookup", json={
                        "reference": ref, "email": "ada@example.com"}),
                    lambda: api.post("/api/v1/requests/lookup", json={
                        "reference": "PR-2222-3333", "email": "ada@example.com"})):
        refused = attempt()
        assert refused.status_code == 429 and refused.json() == {
            "error": "too_many_codes",
            "message": "Too many codes are being sent right now. Try again later."}
        assert refused.headers["retry-after"] == str(50 * 60)
    assert len(api.mails()) == mails
    api.clock.advance(minutes=50)
    assert _start(api, "eve-9", email="target9@example.com").status_code == 201


def _answer(api: Api, response: httpx.Response) -> tuple[int, Any, str | None]:
    """What a caller sees of an answer, the verification's random id left out and its
    expiry taken relative to the clock."""
    body = response.json()
    if "verification_id" in body:
        assert len(body.pop("verification_id")) == 32
    if "expires_at" in body:
        expires = datetime.fromisoformat(body.pop("expires_at").replace("Z", "+00:00"))
        body["expires_in"] = (expires - api.clock.now).total_seconds()
    return response.status_code, body, response.headers.get("retry-after")


def test_lookups_answer_alike_whether_the_reference_belongs_to_the_address(api: Api) -> None:
    """Before: a matching lookup counted toward the address's code limit and a miss did not,
    so the sixth lookup's 429 said whether the reference was the address's. Two series, one
    with the victim's reference and address, one with the same reference and another
    address that has a request of its own: every answer is the same, request by request, up
    to the limit and beyond, after the wait, for a guess at each code, and for a code the
    address asks for next."""
    ref = api.create(email=VICTIM, conversation_id="victim")["reference"]
    api.create(email="bob@example.com", conversation_id="bob")
    series: dict[str, list[tuple[int, Any, str | None]]] = {"match": [], "miss": []}
    for name, email in (("match", VICTIM), ("miss", "bob@example.com")):
        seen = series[name]
        vids = []
        for i in range(api.settings.code_hourly_limit + 3):
            response = api.post("/api/v1/requests/lookup", json={
                "reference": ref, "email": email, "conversation_id": f"eve-{name}-{i}"})
            seen.append(_answer(api, response))
            if response.status_code == 202:
                vids.append(response.json()["verification_id"])
        seen.append(_answer(api, _confirm(api, vids[-1], "000000")))
        seen.append(_answer(api, _start(api, f"eve-{name}-prefs", email=email)))
        api.clock.advance(minutes=api.settings.code_address_wait_minutes)
        for i in range(2):
            seen.append(_answer(api, api.post("/api/v1/requests/lookup", json={
                "reference": ref, "email": email, "conversation_id": f"eve-{name}-late-{i}"})))
        api.clock.advance(hours=2)  # the next series starts from the same clean hour
    assert series["match"] == series["miss"]
    statuses = [answer[0] for answer in series["match"]]
    limit = api.settings.code_hourly_limit
    assert statuses == [202] * limit + [429] * 3 + [400, 201, 202, 429]
