"""`privacy-backend` console script: serve, migrate, close-unverified."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from privacy_backend.settings import Settings

log = logging.getLogger("privacy_backend")


def _migrate(settings: Settings) -> None:
    from privacy_backend.db import upgrade

    upgrade(settings)
    log.info("database is at the latest migration")


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from privacy_backend.main import create_app

    if not args.no_migrate:
        _migrate(settings)
    app = create_app(settings)
    uvicorn.run(app, host=args.host or settings.backend_host,
                port=args.port or settings.backend_port, log_level=settings.log_level.lower(),
                ws="none")  # no websockets here; rasa-sdk pins an old `websockets`
    return 0


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    _migrate(settings)
    return 0


def cmd_close_unverified(settings: Settings, _: argparse.Namespace) -> int:
    from privacy_backend.clock import utcnow
    from privacy_backend.db import make_engine, make_sessionmaker
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="privacy-backend", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="apply migrations, then run the HTTP server")
    serve.add_argument("--host", help="default: BACKEND_HOST (127.0.0.1)")
    serve.add_argument("--port", type=int, help="default: BACKEND_PORT (8000)")
    serve.add_argument("--no-migrate", action="store_true", help="skip `alembic upgrade head`")
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="apply database migrations (upgrade head)").set_defaults(
        func=cmd_migrate)
    sub.add_parser(
        "close-unverified",
        help="close requests not verified within UNVERIFIED_CLOSE_DAYS (for a daily cron)",
    ).set_defaults(func=cmd_close_unverified)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    return int(args.func(settings, args))


if __name__ == "__main__":
    raise SystemExit(main())
