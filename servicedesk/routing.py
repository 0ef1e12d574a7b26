"""Websocket routes of every app."""

from django.urls import path

from dashboards.consumers import LiveConsumer

websocket_urlpatterns: list = [
    path("ws/live/", LiveConsumer.as_asgi()),
]
