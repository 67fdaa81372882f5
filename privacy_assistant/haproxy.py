"""HAProxy for the scaled profile (`make run-scaled`): where its executable is, and the
configuration that puts it in front of the Rasa replicas."""

from __future__ import annotations

import shutil


def haproxy_binary() -> str | None:
    """HAProxy's executable (Debian puts it in /usr/sbin, which a user's PATH may lack)."""
    return shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")


def haproxy_config(host: str, port: str, servers: list[tuple[str, str]]) -> str:
    """HAProxy in front of the Rasa replicas.

    REST turns and the HTTP API go round robin; a replica that refuses the connection (it
    died) is skipped and the request goes to another (`retries`, `option redispatch`), so a
    turn is never sent to a dead replica. socket.io is hashed on the client's address: a
    long-polling client's requests must all reach the replica that holds its engine.io
    session (a websocket is one connection and needs nothing). Rasa answers `GET /` once it
    runs; a replica that fails three checks in a row gets no traffic until it answers twice.
    A check waits up to 5 s: a replica whose event loop is busy with a heavy message is
    slow, not dead, and marking it down would move its long-polling clients to a replica
    that does not know their sessions. A dead replica refuses connections at once, and the
    request that met the refusal goes to another replica meanwhile.

    It logs nothing (no `log` target): the Rasa HTTP API's paths carry conversation ids and
    socket.io's query its session ids. To log, copy deploy/haproxy.cfg's `log-format`, which
    leaves out the query and every token (tests/assistant/test_proxy_logs.py checks both).
    """
    lines = "\n".join(f"    server {name} {address} check inter 2s fall 3 rise 2"
                      for name, address in servers)
    return f"""# Made by privacy_assistant/haproxy.py for `make run-scaled`; edits are overwritten.
global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout check 5s
    timeout client 5m
    timeout server 5m
    timeout tunnel 1h
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend public
    bind {host}:{port}
    acl socketio path_beg /socket.io
    use_backend socketio if socketio
    default_backend rasa

backend rasa
    balance roundrobin
    option httpchk GET /
{lines}

backend socketio
    balance source
    hash-type consistent
    option httpchk GET /
{lines}
"""
