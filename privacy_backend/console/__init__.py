"""The agent console (/console): its routes, session and CSRF auth, page and static files."""
