"""Websocket routes of every app (filled in by the live-screens work)."""

websocket_urlpatterns: list = []
