"""Public URLs of the live-chat widget (included under ``chat/``)."""

from django.urls import path

from omnichannel import widget_views

app_name = "widget"

urlpatterns = [
    path("t/<str:token>/transcricao.txt", widget_views.widget_transcript, name="transcript"),
    path("t/<str:token>/arquivos/<int:file_id>/", widget_views.widget_file, name="file"),
    path("t/<str:token>/enviar-arquivos/", widget_views.widget_upload, name="upload"),
    path("<slug:entry_point>/", widget_views.widget_page, name="page"),
    path("<slug:entry_point>/nova/", widget_views.widget_restart, name="restart"),
]
