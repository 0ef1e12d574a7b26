"""Public provider webhooks (mounted at ``/webhooks/``)."""

from django.urls import path

from omnichannel import webhooks

app_name = "webhooks"

urlpatterns = [
    path("<slug:channel>/<uuid:key>/", webhooks.webhook, name="receive"),
]
