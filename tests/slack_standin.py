"""A loopback stand-in for Slack's Web API, plus builders for what Slack sends to an app.

`SlackStandIn` serves real HTTP on 127.0.0.1 and answers the handful of Web API methods the
privacy assistant uses (`auth.test`, `chat.postMessage`, `chat.update`, `chat.getPermalink`,
`users.info`, `conversations.members`) in Slack's own JSON. It is for tests of the Slack
channel (which runs in another process and points slack_sdk's `WebClient`/`AsyncWebClient`
at it with `base_url=standin.url`) and of the backend's Slack notifications. It records every
call, keeps the messages it was asked to post, and injects rate limits and errors on demand:

    with SlackStandIn(users={"U0STAFF": {"email": "ann@acme.test", "real_name": "Ann"}}) as slack:
        env = {"SLACK_API_URL": slack.url, "SLACK_BOT_TOKEN": BOT_TOKEN}
        ...                                   # start the process under test with env
        post = slack.wait_for(lambda: slack.posts("D0DM"))[0]

The module-level helpers build the other direction: `signed_headers` signs a request body
the way Slack does (v0 HMAC-SHA256), and `event_callback`, `message_event` and
`app_mention_event` build Events API payloads to post to the app's webhook.

The stand-in uses only the standard library, so either virtual environment can import it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

BOT_TOKEN = "xoxb-standin-0000-token"
SIGNING_SECRET = "standin-signing-secret-0123456789abcdef"
TEAM_ID = "T0STANDIN"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
API_APP_ID = "A0STANDIN"
# The deprecated verification token Slack still puts in every Events API envelope.
VERIFICATION_TOKEN = "standin-verification-token"

TEAM_NAME = "Acme Stand-in"
BOT_USER_NAME = "privacybot"

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_SECTION_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BLOCK_ID = 255
DEFAULT_MEMBERS_LIMIT = 100

T = TypeVar("T")

# Args that Slack accepts as a JSON-encoded string in a form or query string.
_JSON_STRING_ARGS = ("blocks", "attachments")


@dataclass
class Call:
    """One request the stand-in answered."""

    method: str  # e.g. "chat.postMessage"; the raw path for a path outside /api/
    args: dict[str, Any]  # merged query/form/JSON args, `blocks`/`attachments` decoded
    at: float  # time.monotonic() when received
    status: int  # HTTP status answered (200 or 429; 404 for a path outside /api/)
    ok: bool  # the "ok" field answered


class SlackApiFailure(Exception):
    """Raised by a method handler to answer 200 {"ok": false, "error": error}."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


# ----------------------------------------------------------------------------------------
# Module-level helpers
# ----------------------------------------------------------------------------------------

_ts_lock = threading.Lock()
_last_ts_micros = 0


def next_ts() -> str:
    """A unique, increasing Slack message timestamp like "1764660000.000100" (thread-safe).

    It follows the wall clock, as Slack's do, and never repeats within the process.
    """
    global _last_ts_micros
    with _ts_lock:
        _last_ts_micros = max(int(time.time() * 1_000_000), _last_ts_micros + 1)
        seconds, micros = divmod(_last_ts_micros, 1_000_000)
    return f"{seconds}.{micros:06d}"


def signed_headers(
    body: bytes, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """The headers of Slack's v0 request signature for `body`; `timestamp` defaults to now."""
    ts = int(time.time()) if timestamp is None else timestamp
    base = b"v0:" + str(ts).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def event_callback(
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    team_id: str = TEAM_ID,
    event_time: int | None = None,
) -> dict[str, Any]:
    """The Events API envelope Slack posts to the app's webhook around `event`."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "api_app_id": API_APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:12].upper()}",
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [{"team_id": team_id, "user_id": BOT_USER_ID, "is_bot": True}],
        "is_ext_shared_channel": False,
    }


def message_event(
    text: str,
    *,
    user: str = "U0STAFF",
    channel: str = "D0DM",
    channel_type: str = "im",
    ts: str | None = None,
    thread_ts: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A "message" event as Slack sends it; `extra` adds fields such as bot_id or subtype."""
    ts = ts or next_ts()
    event: dict[str, Any] = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "channel_type": channel_type,
        "event_ts": ts,
        "team": TEAM_ID,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    event.update(extra)
    return event


def app_mention_event(
    text: str, *, user: str, channel: str, ts: str, thread_ts: str | None = None
) -> dict[str, Any]:
    """An "app_mention" event; Slack sends it without a channel_type field."""
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": TEAM_ID,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


# ----------------------------------------------------------------------------------------
# Request parsing and validation
# ----------------------------------------------------------------------------------------


def _decode_json_strings(args: dict[str, Any]) -> None:
    """Decode a `blocks` or `attachments` arg sent as a JSON string, as Slack does."""
    for name in _JSON_STRING_ARGS:
        value = args.get(name)
        if isinstance(value, str):
            try:
                args[name] = json.loads(value)
            except ValueError:
                pass  # left as a string, which the block validation rejects


def _text_object_ok(obj: Any, max_chars: int, plain_only: bool = False) -> bool:
    """Whether `obj` is a Block Kit text object of at most `max_chars` characters."""
    if not isinstance(obj, dict):
        return False
    kinds = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    text = obj.get("text")
    return obj.get("type") in kinds and isinstance(text, str) and 0 < len(text) <= max_chars


def _block_ok(block: Any) -> bool:
    """Whether one block passes the checks Slack applies that the assistant can trip over."""
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return False
    block_id = block.get("block_id")
    if block_id is not None and not (isinstance(block_id, str) and len(block_id) <= MAX_BLOCK_ID):
        return False
    if block["type"] == "section":
        text, fields = block.get("text"), block.get("fields")
        if text is None and fields is None:
            return False
        if text is not None and not _text_object_ok(text, MAX_SECTION_TEXT):
            return False
        if fields is not None:
            if not isinstance(fields, list) or not 0 < len(fields) <= MAX_SECTION_FIELDS:
                return False
            return all(_text_object_ok(f, MAX_SECTION_FIELD_TEXT) for f in fields)
    if block["type"] == "header":
        return _text_object_ok(block.get("text"), MAX_HEADER_TEXT, plain_only=True)
    return True


def _check_message_content(args: dict[str, Any]) -> None:
    """Apply chat.postMessage/chat.update's rules on text and blocks."""
    blocks = args.get("blocks")
    if blocks is not None:
        if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
            raise SlackApiFailure("invalid_blocks")
        if not all(_block_ok(block) for block in blocks):
            raise SlackApiFailure("invalid_blocks")
        block_ids = [b["block_id"] for b in blocks if "block_id" in b]
        if len(block_ids) != len(set(block_ids)):
            raise SlackApiFailure("invalid_blocks")
    if not (args.get("text") or blocks or args.get("attachments")):
        raise SlackApiFailure("no_text")


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        prefix, _, offset = base64.b64decode(cursor, validate=True).decode().partition(":")
        if prefix != "offset" or not offset.isdigit():
            raise ValueError(cursor)
        return int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise SlackApiFailure("invalid_cursor") from None


# ----------------------------------------------------------------------------------------
# The stand-in
# ----------------------------------------------------------------------------------------


class SlackStandIn:
    """Slack's Web API on a free loopback port, recording calls and injecting faults."""

    def __init__(
        self,
        *,
        token: str = BOT_TOKEN,
        team_id: str = TEAM_ID,
        team_url: str = "https://acme-standin.slack.com/",
        users: dict[str, dict[str, Any]] | None = None,
        channel_members: dict[str, list[str]] | None = None,
    ) -> None:
        self.token = token
        self.team_id = team_id
        self.team_url = team_url
        self.url = ""  # set by start()
        self._lock = threading.Lock()
        # user id -> {"email": ..., "real_name": ..., "is_bot": ...}; the bot user is known
        self._users: dict[str, dict[str, Any]] = {
            BOT_USER_ID: {"real_name": BOT_USER_NAME, "is_bot": True},
        }
        for user_id, user in (users or {}).items():
            self._users[user_id] = dict(user)
        self._members: dict[str, list[str]] = {
            channel: list(ids) for channel, ids in (channel_members or {}).items()
        }
        self._calls: list[Call] = []
        self._posts: list[dict[str, Any]] = []
        self._updates: list[dict[str, Any]] = []
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> message
        # method -> queued faults, consumed one per call: ("ratelimited", retry_after) or
        # ("error", error)
        self._faults: dict[str, list[tuple[str, Any]]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.getPermalink": self._chat_get_permalink,
            "users.info": self._users_info,
            "conversations.members": self._conversations_members,
        }

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}/api/"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05},
            name="slack-standin", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- test set-up -------------------------------------------------------------------

    def add_user(self, user_id: str, *, email: str, real_name: str, is_bot: bool = False) -> None:
        """Make `users.info` know `user_id`."""
        with self._lock:
            self._users[user_id] = {"email": email, "real_name": real_name, "is_bot": is_bot}

    def set_members(self, channel: str, user_ids: list[str]) -> None:
        """Make `conversations.members` answer `user_ids` for `channel`."""
        with self._lock:
            self._members[channel] = list(user_ids)

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 429 and a Retry-After header."""
        with self._lock:
            self._faults.setdefault(method, []).extend([("ratelimited", retry_after)] * times)

    def fail(self, method: str, error: str = "internal_error", times: int = 1) -> None:
        """Answer the next `times` calls of `method` with 200 {"ok": false, "error": error}."""
        with self._lock:
            self._faults.setdefault(method, []).extend([("error", error)] * times)

    def reset(self) -> None:
        """Forget calls, posted messages and injected faults; keep users and members."""
        with self._lock:
            self._calls.clear()
            self._posts.clear()
            self._updates.clear()
            self._messages.clear()
            self._faults.clear()

    # -- inspection --------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """The calls answered so far, oldest first, optionally only those of `method`."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def posts(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Args of the successful chat.postMessage calls, in order, each with its "ts"."""
        with self._lock:
            return [dict(p) for p in self._posts if channel is None or p.get("channel") == channel]

    def updates(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Args of the successful chat.update calls, in order."""
        with self._lock:
            return [
                dict(u) for u in self._updates if channel is None or u.get("channel") == channel
            ]

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        """Poll `predicate` every 20 ms until it returns something truthy, and return that.

        Raises AssertionError listing the calls so far when `timeout` seconds pass first.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"timed out after {timeout:g}s waiting for "
                    f"{getattr(predicate, '__qualname__', repr(predicate))}; "
                    f"calls so far:\n{self._describe_calls()}"
                )
            time.sleep(0.02)

    def _describe_calls(self) -> str:
        calls = self.calls()
        if not calls:
            return "  (none)"
        lines = []
        for call in calls:
            args = json.dumps(call.args, default=str)
            if len(args) > 300:
                args = args[:297] + "..."
            lines.append(f"  {call.method} -> {call.status} ok={call.ok} {args}")
        return "\n".join(lines)

    # -- request handling --------------------------------------------------------------

    def handle(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Answer one request: (HTTP status, JSON body, extra headers). Records the call."""
        at = time.monotonic()
        split = urlsplit(path)
        under_api = split.path.startswith("/api/")
        method = split.path[len("/api/"):] if under_api else split.path
        args: dict[str, Any] = dict(parse_qsl(split.query, keep_blank_values=True))
        status: int
        answer: dict[str, Any]
        extra_headers: dict[str, str]
        try:
            token = self._read_body(headers, body, args)
        except ValueError:
            status, answer, extra_headers = 200, {"ok": False, "error": "invalid_json"}, {}
        else:
            if under_api:
                status, answer, extra_headers = self._dispatch(method, token, args)
            else:
                status, answer, extra_headers = 404, {"ok": False, "error": "not_found"}, {}

        with self._lock:
            self._calls.append(Call(method, args, at, status, bool(answer.get("ok"))))
            if answer.get("ok") and method == "chat.postMessage":
                self._posts.append({**args, "ts": answer["ts"]})
            elif answer.get("ok") and method == "chat.update":
                self._updates.append(dict(args))
        return status, answer, extra_headers

    @staticmethod
    def _read_body(headers: dict[str, str], body: bytes, args: dict[str, Any]) -> str | None:
        """Merge the body's args into `args` (dropping `token`) and return the request's token.

        The token is the Authorization bearer, else a `token` query or form arg; like Slack,
        the stand-in ignores a token inside a JSON body. Raises ValueError on a bad JSON body.
        """
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        parsed: dict[str, Any]
        if content_type == "application/json":
            parsed = json.loads(body.decode("utf-8")) if body.strip() else {}
            if not isinstance(parsed, dict):
                raise ValueError("a JSON body must be an object")
            parsed.pop("token", None)
        else:
            parsed = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        args.update(parsed)
        _decode_json_strings(args)
        arg_token = args.pop("token", None)
        authorization = headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            return authorization[7:].strip() or None
        return arg_token if isinstance(arg_token, str) and arg_token else None

    def _dispatch(
        self, method: str, token: str | None, args: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        handler = self._methods.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        if token is None:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if not hmac.compare_digest(token, self.token):
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        with self._lock:
            queued = self._faults.get(method)
            fault = queued.pop(0) if queued else None
        if fault is not None and fault[0] == "ratelimited":
            headers = {"Retry-After": str(fault[1])}
            return 429, {"ok": False, "error": "ratelimited"}, headers
        if fault is not None:
            return 200, {"ok": False, "error": fault[1]}, {}
        try:
            return 200, handler(args), {}
        except SlackApiFailure as failure:
            return 200, {"ok": False, "error": failure.error}, {}

    # -- Web API methods ---------------------------------------------------------------

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": self.team_url,
            "team": TEAM_NAME,
            "user": BOT_USER_NAME,
            "team_id": self.team_id,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel")
        if not channel:
            raise SlackApiFailure("channel_not_found")
        _check_message_content(args)
        ts = next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "text": args.get("text", ""),
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "team": self.team_id,
            "ts": ts,
        }
        for name in ("thread_ts", "blocks", "attachments"):
            if args.get(name):
                message[name] = args[name]
        with self._lock:
            self._messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = args.get("channel"), args.get("ts")
        if not channel:
            raise SlackApiFailure("channel_not_found")
        key = (str(channel), str(ts))
        with self._lock:
            known = key in self._messages
        if not known:
            raise SlackApiFailure("message_not_found")
        _check_message_content(args)
        with self._lock:
            message = self._messages[key]
            message["text"] = args.get("text", "")
            for name in ("blocks", "attachments"):
                if name in args:
                    message[name] = args[name]
            message["edited"] = {"user": BOT_USER_ID, "ts": next_ts()}
            answer = {"ok": True, "channel": channel, "ts": ts, "text": message["text"],
                      "message": dict(message)}
        return answer

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = args.get("channel"), args.get("message_ts")
        if not channel:
            raise SlackApiFailure("channel_not_found")
        if not ts:
            raise SlackApiFailure("message_not_found")
        permalink = f"{self.team_url}archives/{channel}/p{str(ts).replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": permalink}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = args.get("user")
        with self._lock:
            user = self._users.get(user_id) if isinstance(user_id, str) else None
            user = dict(user) if user is not None else None
        if user is None or not isinstance(user_id, str):
            raise SlackApiFailure("user_not_found")
        email = user.get("email")
        real_name = user.get("real_name", "")
        profile: dict[str, Any] = {"real_name": real_name, "display_name": real_name}
        if email:
            profile["email"] = email
        return {
            "ok": True,
            "user": {
                "id": user_id,
                "team_id": self.team_id,
                "name": email.split("@")[0] if email else user_id.lower(),
                "real_name": real_name,
                "is_bot": bool(user.get("is_bot", False)),
                "deleted": False,
                "profile": profile,
            },
        }

    def _conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel")
        with self._lock:
            members = list(self._members.get(channel, [])) if channel in self._members else None
        if members is None:
            raise SlackApiFailure("channel_not_found")
        try:
            limit = int(args.get("limit") or DEFAULT_MEMBERS_LIMIT)
        except (TypeError, ValueError):
            raise SlackApiFailure("invalid_limit") from None
        if limit <= 0:
            limit = DEFAULT_MEMBERS_LIMIT
        cursor = args.get("cursor")
        offset = _decode_cursor(cursor) if cursor else 0
        page = members[offset:offset + limit]
        following = offset + limit
        next_cursor = _encode_cursor(following) if following < len(members) else ""
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": next_cursor}}


def _handler_for(standin: SlackStandIn) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to `standin`."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "SlackStandIn/1.0"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._answer()

        def do_POST(self) -> None:  # noqa: N802
            self._answer()

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer, extra_headers = standin.handle(self.path, headers, body)
            payload = json.dumps(answer).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("X-Slack-Req-Id", uuid.uuid4().hex)
            for name, value in extra_headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the calls are recorded; the console stays quiet

    return Handler
