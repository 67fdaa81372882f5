"""Run `rasa run` with its HTTP API secured by JWTs signed with RASA_API_TOKEN.

Rasa reads the secret from `--jwt-secret`; passing it from here keeps it out of the process
list and the Makefile. There is no `--auth-token`: with one, Rasa would also take a secret
as `?token=` in the query string, where proxies and access logs keep it. Clients send
`Authorization: Bearer <JWT>` instead (privacy_assistant/rasa_auth.py).

Sanic would read request bodies up to 100 MB before any channel checks a token or a
signature; the limits of `channels.limits.sanic_environment` (`RASA_MAX_BODY_BYTES`, 413
beyond, and `RASA_PROXIES_COUNT`) are put in the environment here, where the Sanic app Rasa
builds reads them.
Runs with the Rasa environment's Python.
"""

import os
import sys
from pathlib import Path

from rasa.__main__ import main

# The project root, so that credentials.yml can name the custom channels in channels/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from channels.limits import sanic_environment  # noqa: E402
from privacy_assistant.secret_files import RASA_API_TOKEN  # noqa: E402
from rasa_server import speedups  # noqa: E402  (needs the project root on the path)

# Per-turn work done once (rasa_server/speedups.py).
speedups.apply()

# HS256 wants a key at least as long as its hash; `make run` generates 43 characters.
MIN_SECRET_CHARS = RASA_API_TOKEN.min_chars

if __name__ == "__main__":
    secret = os.environ.get("RASA_API_TOKEN", "")
    if not secret:
        sys.exit("RASA_API_TOKEN is not set: start the assistant with `make run`.")
    if len(secret) < MIN_SECRET_CHARS:
        sys.exit(f"RASA_API_TOKEN signs the HTTP API's JWTs and needs at least "
                 f"{MIN_SECRET_CHARS} characters.")
    try:
        os.environ.update(sanic_environment(os.environ))
    except ValueError as exc:
        sys.exit(str(exc))
    # One argument, "--jwt-secret=…": a secret may begin with "-", which argparse would
    # otherwise take for an option.
    sys.argv = ["rasa", "run", "--enable-api", f"--jwt-secret={secret}",
                "--jwt-method=HS256", *sys.argv[1:]]
    main()
