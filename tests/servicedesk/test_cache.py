"""``servicedesk.cache.SharedRedisCache``: every cache object of a process (Django makes one
per thread and per ASGI request context) shares one Redis client and connection pool."""

import asyncio
import os
import threading
import time

from asgiref.sync import sync_to_async

from servicedesk.cache import SharedRedisCache

URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def _backend(prefix: str) -> SharedRedisCache:
    return SharedRedisCache(URL, {"KEY_PREFIX": prefix})


def test_backends_for_the_same_servers_share_one_client_and_pool():
    prefix = f"test-shared-{os.getpid()}-{time.time_ns()}"
    first, second = _backend(prefix), _backend(prefix)
    assert first is not second
    assert first._cache is second._cache
    first.set("k", 41, 30)
    assert second.incr("k") == 42
    pool = first._cache._get_connection_pool(write=True)
    assert second._cache._get_connection_pool(write=True) is pool
    # Other options (another database, say) are another client.
    other = SharedRedisCache(URL, {"KEY_PREFIX": prefix, "OPTIONS": {"socket_timeout": 5}})
    assert other._cache is not first._cache
    first.delete("k")


def test_threads_and_async_contexts_reuse_the_pool_instead_of_connecting_each_time():
    prefix = f"test-shared-{os.getpid()}-{time.time_ns()}"
    _backend(prefix).set("hits", 0, 30)
    pool = _backend(prefix)._cache._get_connection_pool(write=True)
    before = pool._created_connections

    pools = []

    def hit() -> None:  # a new backend object each time, as Django's handler gives a new context
        backend = _backend(prefix)
        backend.incr("hits")
        pools.append(backend._cache._get_connection_pool(write=True))

    threads = [threading.Thread(target=hit) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    async def contexts() -> None:
        await asyncio.gather(*(sync_to_async(hit, thread_sensitive=False)() for _ in range(10)))

    asyncio.run(contexts())
    assert _backend(prefix).get("hits") == 20
    assert all(p is pool for p in pools)
    # At most one connection per concurrent caller (ten threads at once), not one per call.
    assert pool._created_connections - before <= 10
    for _ in range(20):
        hit()
    assert pool._created_connections - before <= 10
    _backend(prefix).delete("hits")
