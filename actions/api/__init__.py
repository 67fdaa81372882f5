"""HTTP clients for the backend APIs (one module per API). Nothing runs at import time."""
