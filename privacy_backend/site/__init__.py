"""The public web pages: the statement with the chat widget (/) and unsubscribe links."""
