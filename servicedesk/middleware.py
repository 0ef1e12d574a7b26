"""Middleware of the project itself."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class SyncChainMiddleware:
    """Runs the middleware chain in one thread under ASGI (last entry of ``MIDDLEWARE``).

    Django's own middleware can run sync or async. Under ASGI, with nothing sync-only
    below them, each one runs async and hops to a thread and back for every
    ``process_request``/``process_response`` hook: about twenty hops per request, which
    cost daphne more CPU than a small view. Being sync-only and innermost, this makes
    every middleware above it sync: the chain runs in one thread, entered once.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)
