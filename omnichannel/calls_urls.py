"""The supervisor's calls screens, mounted at ``/omni/ligacoes/`` (``omnichannel.views_calls``)."""

from django.urls import path

from omnichannel import views_calls

app_name = "calls"

urlpatterns = [
    path("", views_calls.call_list, name="list"),
    path("<int:pk>/gravacao/", views_calls.call_recording, name="recording"),
]
