"""Run `rasa run` with the HTTP API token taken from the environment (RASA_API_TOKEN).

Rasa only reads the token from `--auth-token`; passing it from here keeps it out of the
process list and out of the Makefile. Runs with the Rasa environment's Python.
"""

import os
import sys
from pathlib import Path

from rasa.__main__ import main

# The project root, so that credentials.yml can name the custom channels in channels/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":
    token = os.environ.get("RASA_API_TOKEN", "")
    if not token:
        sys.exit("RASA_API_TOKEN is not set: start the assistant with `make run`.")
    # One argument, "--auth-token=…": a token may begin with "-", which argparse would
    # otherwise take for an option.
    sys.argv = ["rasa", "run", "--enable-api", f"--auth-token={token}", *sys.argv[1:]]
    main()
