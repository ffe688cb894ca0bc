"""State behind narrow ports (ports.py), opened by one factory (factory.py);
SQLite (sqlite/) is the embedded implementation."""
