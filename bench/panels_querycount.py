"""Benchmark-only middleware: the SQL query count and time of each request, as response headers.

Enabled only by ``bench/panels_settings.py`` (the settings module the panels
benchmark serves with), never by the product's settings, so production
responses carry no such headers and pay no wrapper.
"""

import time
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse


class _Counter:
    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - began


class QueryCountMiddleware:
    """``X-Query-Count`` / ``X-Query-Ms``: queries of the whole request (session and auth included)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        counter = _Counter()
        began = time.perf_counter()
        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        response["X-Query-Count"] = str(counter.count)
        response["X-Query-Ms"] = f"{counter.seconds * 1000:.1f}"
        response["X-View-Ms"] = f"{(time.perf_counter() - began) * 1000:.1f}"
        return response
