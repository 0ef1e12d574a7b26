"""ASGI entry point: HTTP through Django, websockets through Channels."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from servicedesk.routing import websocket_urlpatterns  # noqa: E402
from servicedesk.scheduler import start_inprocess_scheduler  # noqa: E402

# Embedded default only (no REDIS_URL): drive the periodic tasks in this process.
start_inprocess_scheduler()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# A live process keeps a few hundred long-lived objects per open socket (its page's rows,
# the events it has seen). With the default thresholds a full collection walks all of them
# every couple of seconds, ~110 ms at 500 sockets, and every socket of the process waits
# (bench/live_bench.py: p95 190 ms, 40 ms without). What start-up made is frozen out of
# the collections; full collections come ten times less often.
gc.freeze()
gc.set_threshold(7_000, 20, 50)
