from django.urls import path

from omnichannel import evaluation_views

app_name = "evaluation"

urlpatterns = [
    path("reenviar/", evaluation_views.resend, name="resend"),
    path("<str:token>/", evaluation_views.answer, name="answer"),
]
