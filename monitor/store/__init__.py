"""State behind narrow ports (see ports.py); SQLite is the embedded implementation."""
