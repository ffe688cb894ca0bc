"""The state store on PostgreSQL, for several instances sharing one state."""

from monitor.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
