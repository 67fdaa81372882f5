"""`privacy-backend` console script: serve, migrate, close-unverified, purge, create-agent,
metrics."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Sequence

from privacy_assistant.settings import normalise_email
from privacy_backend.core import logs
from privacy_backend.core.settings import Settings

log = logging.getLogger("privacy_backend")


def _migrate(settings: Settings) -> None:
    from privacy_backend.core.db import upgrade

    upgrade(settings)
    log.info("database is at the latest migration")


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from privacy_backend.core.middleware import ForwardedClient, trusted_proxies
    from privacy_backend.main import create_app

    if not args.no_migrate:
        _migrate(settings)
    app = create_app(settings, background=True)
    # No websockets here (rasa-sdk pins an old `websockets` that uvicorn's would trip on).
    # The client's address behind a proxy: the right-most untrusted X-Forwarded-For hop
    # (ForwardedClient), not uvicorn's proxy headers (which, given `*`, take the left-most).
    config = uvicorn.Config(ForwardedClient(app, trusted_proxies()),
                            host=args.host or settings.backend_host,
                            port=args.port or settings.backend_port,
                            log_level=settings.log_level.lower(), ws="none",
                            proxy_headers=False)
    server = uvicorn.Server(config)
    # After uvicorn has configured its loggers, so the filter stays on the access logger.
    logs.install()
    server.run()
    return 0


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    _migrate(settings)
    return 0


def cmd_close_unverified(settings: Settings, _: argparse.Namespace) -> int:
    from privacy_backend.core.clock import utcnow
    from privacy_backend.core.db import make_engine, make_sessionmaker
    from privacy_backend.services.requests import close_unverified

    engine = make_engine(settings.sqlalchemy_url)
    try:
        with make_sessionmaker(engine)() as session:
            closed = close_unverified(session, settings=settings, now=utcnow())
            session.commit()
    finally:
        engine.dispose()
    print(f"closed {closed} unverified request(s)")
    return 0


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    """Delete what is past its retention period (or, with --dry-run, say what would go)."""
    from privacy_backend.core.clock import utcnow
    from privacy_backend.core.db import make_engine, make_sessionmaker
    from privacy_backend.integrations.tracker_store import TrackerStore
    from privacy_backend.services import retention

    _migrate(settings)
    engine = make_engine(settings.sqlalchemy_url)
    tracker_store = TrackerStore.from_settings(settings)
    try:
        with make_sessionmaker(engine)() as session:
            report = retention.purge(session, tracker_store, settings, now=utcnow(),
                                     dry_run=args.dry_run)
    finally:
        tracker_store.close()
        engine.dispose()
    for line in report.lines():
        print(line)
    return 0


MIN_PASSWORD = 12


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise SystemExit("The passwords differ; nothing was created.")
    return first


def cmd_create_agent(settings: Settings, args: argparse.Namespace) -> int:
    """Create a support agent for the console (or, with --reset-password, set a new one)."""
    from sqlalchemy import select

    from privacy_backend.core.clock import utcnow
    from privacy_backend.core.db import make_engine, make_sessionmaker
    from privacy_backend.core.models import Agent, AgentRole
    from privacy_backend.services import agents

    password = _read_password(args)
    if len(password) < MIN_PASSWORD:
        print(f"The password needs at least {MIN_PASSWORD} characters; nothing was created.",
              file=sys.stderr)
        return 2
    _migrate(settings)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with make_sessionmaker(engine)() as session:
            if args.reset_password:
                agent = session.scalar(select(Agent).where(
                    Agent.email == normalise_email(args.email)))
                if agent is None:
                    print(f"No agent {args.email}.", file=sys.stderr)
                    return 1
                ended = agents.reset_password(session, agent, password, now=utcnow())
                print(f"ended {ended} console session(s) of {agent.email}")
                agent.name = args.name or agent.name
                if args.role:
                    agent.role = AgentRole(args.role)
            else:
                try:
                    agent = agents.create_agent(session, args.email, args.name or args.email,
                                                password, now=utcnow(),
                                                role=AgentRole(args.role or "agent"))
                except agents.AgentExists:
                    print(f"An agent {args.email} exists already (use --reset-password).",
                          file=sys.stderr)
                    return 1
            session.commit()
            print(f"agent {agent.email} ({agent.name}, {agent.role.value}) can log in at /console")
    finally:
        engine.dispose()
    return 0


def cmd_metrics(settings: Settings, args: argparse.Namespace) -> int:
    """Print a calendar year's request metrics (CCPA regs §7102), as the console shows them."""
    from privacy_backend.core.db import make_engine, make_sessionmaker
    from privacy_backend.services import metrics

    engine = make_engine(settings.sqlalchemy_url)
    try:
        with make_sessionmaker(engine)() as session:
            figures = metrics.year_metrics(session, args.year)
    finally:
        engine.dispose()
    sys.stdout.write(metrics.csv_text(figures, newline="\n") if args.csv
                     else metrics.table_text(figures))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="privacy-backend", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="apply migrations, then run the HTTP server")
    serve.add_argument("--host", help="default: BACKEND_HOST")
    serve.add_argument("--port", type=int, help="default: BACKEND_PORT (8000)")
    serve.add_argument("--no-migrate", action="store_true", help="skip `alembic upgrade head`")
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="apply database migrations (upgrade head)").set_defaults(
        func=cmd_migrate)
    sub.add_parser(
        "close-unverified",
        help="close requests not verified within UNVERIFIED_CLOSE_DAYS (serve does it at "
             "start-up and hourly; this is for cron)",
    ).set_defaults(func=cmd_close_unverified)
    purge = sub.add_parser("purge", help="delete what is past its retention period "
                                         "(serve runs it every RETENTION_PURGE_HOURS)")
    purge.add_argument("--dry-run", action="store_true",
                       help="only print what would be deleted")
    purge.set_defaults(func=cmd_purge)
    agent = sub.add_parser("create-agent", help="create a support agent for the console")
    agent.add_argument("email")
    agent.add_argument("--name", help="shown to colleagues and in the transcript")
    agent.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of stdin (no prompt)")
    agent.add_argument("--reset-password", action="store_true",
                       help="set a new password for an existing agent")
    agent.add_argument("--role", choices=["agent", "privacy_admin"], default=None,
                       help="agent (default): reads conversations queued for the team or "
                            "assigned to them; privacy_admin: reads every handed-off one")
    agent.set_defaults(func=cmd_create_agent)
    year = sub.add_parser("metrics", help="print a calendar year's request metrics "
                                          "(received, complied with, denied, days to respond)")
    year.add_argument("--year", type=int, required=True, help="the calendar year (UTC)")
    year.add_argument("--csv", action="store_true", help="print CSV, as the console's download")
    year.set_defaults(func=cmd_metrics)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # httpx logs every request URL at INFO; Rasa's HTTP API takes its token in the query.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return int(args.func(settings, args))


if __name__ == "__main__":
    raise SystemExit(main())
