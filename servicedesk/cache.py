"""Django's Redis cache backend with one client, and so one connection pool, per process.

Django keeps a cache backend object per thread and, under ASGI, per request context
(``caches`` is a context-local connection handler), and every ``RedisCache`` object builds
its own ``RedisCacheClient`` with its own connection pools. Under daphne each request and
each consumer's database hop therefore opened a new TCP connection to Redis (and read
redis-py's version from the package metadata to label it): a third of daphne's CPU while
200 live-chat customers arrived (``bench/omni_bench.py``), and the widget's rate limits
doubled the cost of every customer message.

``SharedRedisCache`` hands every backend object of the process the same client for the
same servers and options; redis-py's pools are thread-safe and reset themselves in a
forked child (Celery's prefork workers).
"""

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache
from django.utils.functional import cached_property

_clients: dict[tuple[tuple[str, ...], str], Any] = {}
_lock = threading.Lock()


class SharedRedisCache(RedisCache):
    @cached_property
    def _cache(self) -> Any:
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        client = _clients.get(key)
        if client is None:
            with _lock:
                client = _clients.get(key)
                if client is None:
                    client = _clients[key] = self._class(self._servers, **self._options)
        return client
