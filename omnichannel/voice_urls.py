"""The PBX's API, mounted at ``/api/voz/<uuid:key>/`` (``omnichannel.voice_views``)."""

from django.urls import path

from omnichannel import voice_views

app_name = "voice_api"

urlpatterns = [
    path("chamadas/", voice_views.call_report, name="report"),
    path("chamadas/<str:external_id>/gravacao/", voice_views.call_recording, name="recording"),
]
