"""What the channel test servers share (run with the Rasa environment's Python): the
channels of credentials.yml with one name, built from their credentials as Rasa builds them,
a stand-in agent that records what it is handed, and the Sanic app that serves them the way
the Rasa server does (with the Sanic limits `scripts/rasa_run.py` sets: the largest body,
the trusted proxies), with `GET /received` listing what the agent was handed."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from rasa.core.channels import BUILTIN_CHANNELS
from rasa.core.channels.channel import UserMessage, register
from rasa.shared.utils.common import class_from_module_path
from rasa.shared.utils.io import read_config_file
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

ROOT = Path(__file__).resolve().parents[2]


def channels_named(name: str) -> list[Any]:
    """The channels of credentials.yml called `name`, built from their credentials."""
    found = []
    for key, credentials in read_config_file(str(ROOT / "credentials.yml")).items():
        cls = BUILTIN_CHANNELS.get(key) or class_from_module_path(key)
        if cls.name() == name:
            found.append(cls.from_credentials(credentials))
    return found


class RecordingAgent:
    """What `register`'s handler calls: `agent.handle_message(message)`. Each server's agent
    records what it is handed in `received` and answers through the message's channel."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    async def handle_message(self, message: UserMessage) -> None:
        raise NotImplementedError


def serve(name: str, agent: RecordingAgent) -> None:
    """Serve the channels called `name` on the port given as the first argument, handing
    their messages to `agent`, until the process is stopped."""
    port = int(sys.argv[1])
    # What scripts/rasa_run.py does before Rasa builds its Sanic app.
    from channels.limits import sanic_environment

    os.environ.update(sanic_environment(os.environ))
    app = Sanic(f"{name}_channel_under_test", configure_logging=False)
    app.ctx.agent = agent
    register(channels_named(name), app, route="/webhooks/")

    @app.get("/received")
    async def received(request: Request) -> HTTPResponse:
        return response.json(agent.received)

    app.run(host="127.0.0.1", port=port, access_log=False, motd=False)
