"""Websocket routes of every app."""

from django.urls import path

from dashboards.consumers import LiveConsumer
from omnichannel.consumers import AgentConsumer
from omnichannel.widget_consumers import WidgetConsumer

websocket_urlpatterns: list = [
    path("ws/live/", LiveConsumer.as_asgi()),
    path("ws/omni/agent/", AgentConsumer.as_asgi()),
    path("ws/chat/<str:token>/", WidgetConsumer.as_asgi()),
]
