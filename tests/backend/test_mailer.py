"""The mailer: `.eml` files written atomically, and real SMTP against a loopback server."""

from __future__ import annotations

import email
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from sqlalchemy import Engine, text

from privacy_backend.core.settings import Settings
from privacy_backend.mail import messages
from privacy_backend.mail.mailer import FileMailer, MailError, SmtpMailer, build_message
from privacy_backend.main import create_app

from .smtp_server import LoopbackSMTP
from .support import TOKEN, Api, FakeClock, TestClient, row_counts

HEADERS = {"Authorization": f"Bearer {TOKEN}"}
BODY = {"type": "portability", "email": "ada@example.com", "region": "Colorado"}


def test_file_mailer_writes_complete_eml_files_only(tmp_path: Path) -> None:
    mailer = FileMailer(tmp_path / "mail")
    mailer.send(build_message("Privacy <p@example.com>", "a@example.com", "Hi", "Body 1"))
    mailer.send(build_message("Privacy <p@example.com>", "b@example.com", "Hi", "Body 2"))
    files = sorted((tmp_path / "mail").iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"]  # no temporary files left behind
    parsed = email.message_from_bytes(files[0].read_bytes())
    assert parsed["To"] == "a@example.com" and parsed["Message-ID"]


def test_created_request_mail_is_an_eml_with_the_code(api: Api) -> None:
    ref = api.create()["reference"]
    [path] = list(api.settings.mail_path.glob("*.eml"))
    text = path.read_text()
    assert "Subject: Your verification code" in text and ref in text
    assert re.search(r"code is: \d{6}", text)


def test_an_unwritable_mail_folder_files_the_request_and_queues_its_mail(
        db: Engine, tmp_path: Path, clock: FakeClock) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    settings = Settings(_env_file=None, var_dir=tmp_path / "var", privacy_api_token=TOKEN,
                        mail_dir=blocker / "mail")
    with TestClient(create_app(settings, engine=db, clock=clock)) as client:
        response = client.post("/api/v1/requests", headers=HEADERS, json=BODY)
        assert response.status_code == 201, response.text
        assert response.json()["mail_status"] == "queued"
        assert row_counts(db)["privacy_requests"] == 1
    with db.connect() as conn:
        [(status, error)] = conn.execute(text("SELECT status, last_error FROM outbound_mail"))
    assert status == "queued" and "could not write mail file" in error


def test_smtp_delivery_through_a_real_smtp_conversation(db: Engine, tmp_path: Path,
                                                        clock: FakeClock) -> None:
    with LoopbackSMTP() as smtp:
        settings = Settings(_env_file=None, var_dir=tmp_path / "var", privacy_api_token=TOKEN,
                            mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=smtp.port,
                            smtp_starttls=False, smtp_user="bot", smtp_password="pw",
                            mail_from="Privacy Team <privacy@example.com>")
        with TestClient(create_app(settings, engine=db, clock=clock)) as client:
            response = client.post("/api/v1/requests", headers=HEADERS, json=BODY)
            assert response.status_code == 201
            [received] = smtp.messages
            assert smtp.logins == [("bot", "pw")]
            assert received.sender == "privacy@example.com"
            assert received.recipients == ["ada@example.com"]
            message = email.message_from_bytes(received.data)
            assert message["Subject"] == "Your verification code"
            code = re.search(r"code is: (\d{6})", message.get_payload()).group(1)  # type: ignore[union-attr]
            ref = response.json()["reference"]
            verified = client.post(f"/api/v1/requests/{ref}/verify", headers=HEADERS,
                                   json={"code": code})
            assert verified.json()["status"] == "verified"
    assert not (tmp_path / "var" / "mail").exists()


def test_smtp_starttls_required_but_not_offered_fails_cleanly(tmp_path: Path) -> None:
    with LoopbackSMTP() as smtp:
        settings = Settings(_env_file=None, var_dir=tmp_path, smtp_host="127.0.0.1",
                            smtp_port=smtp.port, smtp_starttls=True)
        with pytest.raises(MailError, match="SMTP delivery"):
            SmtpMailer(settings).send(build_message("p@example.com", "a@example.com", "s", "b"))
        assert smtp.messages == []


def test_mail_writes_dates_as_chat_does() -> None:
    due = datetime(2027, 1, 5, 23, 59, tzinfo=timezone.utc)
    received = messages.request_received("p@example.com", "a@example.com", "PR-2345-6789",
                                         "deletion", due)
    notice = messages.extension_notice("p@example.com", "a@example.com", "PR-2345-6789", due,
                                       "The records are in an archive.")
    for message in (received, notice):
        body = message.get_content()
        assert "January 5, 2027" in body and "January 05" not in body


def test_mail_templates_render_exactly_and_refuse_missing_values() -> None:
    body = messages.request_completed("p@example.com", "a@example.com", "PR-2345-6789",
                                      "know", summary="We erased your account.").get_content()
    assert body == ("Hello,\n\nWe have completed your request to know PR-2345-6789.\n\n"
                    "We erased your account.\n\n-- Privacy Team\n")
    code = messages.verification_code("p@example.com", "a@example.com", "123456", 15)
    assert code.get_content().startswith("Hello,\n\nYour verification code is: 123456\n\n")
    with pytest.raises(UndefinedError):
        messages.render("request_denied.txt", label="access request", reference="PR-1")
