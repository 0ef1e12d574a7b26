from django.urls import path

from sla import views

app_name = "sla"

urlpatterns = [
    path("tickets/<int:pk>/", views.box, name="box"),
    path("tickets/<int:pk>/modify/", views.modify, name="modify"),
    path("tickets/<int:pk>/modify/preview/", views.preview, name="preview"),
    path("tickets/<int:pk>/resume/", views.resume, name="resume"),
    path("tickets/<int:pk>/history/", views.history, name="history"),
    path("tickets/<int:pk>/history/<int:intervention_pk>/", views.intervention_detail, name="intervention"),
]
