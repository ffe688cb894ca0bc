"""Where items come from: the HTTP client, the Source protocol and its implementations."""
