"""Run `rasa run` with the HTTP API token taken from the environment (RASA_API_TOKEN).

Rasa only reads the token from `--auth-token`; passing it from here keeps it out of the
process list and out of the Makefile. Runs with the Rasa environment's Python.
"""

import os
import sys

from rasa.__main__ import main

if __name__ == "__main__":
    token = os.environ.get("RASA_API_TOKEN", "")
    if not token:
        sys.exit("RASA_API_TOKEN is not set: start the assistant with `make run`.")
    sys.argv = ["rasa", "run", "--enable-api", "--auth-token", token, *sys.argv[1:]]
    main()
