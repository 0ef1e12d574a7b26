"""Database work of websocket consumers: on PostgreSQL, off asgiref's single shared thread."""

from channels.db import DatabaseSyncToAsync
from django.db import connections


def database_sync_to_async(func):
    """``channels.db.database_sync_to_async`` in the loop's thread pool instead of asgiref's
    single shared thread: every consumer of the process would otherwise wait for every other
    one's queries (one socket's badge counts delay another's rows; bench/live_bench.py,
    bench/omni_bench.py). Each call still closes its own stale connections.

    SQLite (the embedded mode) keeps the one thread: it takes one writer at a time anyway,
    and its shared in-memory test database answers "table is locked" rather than waiting
    when two connections write at once.
    """
    return DatabaseSyncToAsync(func, thread_sensitive=connections["default"].vendor == "sqlite")
