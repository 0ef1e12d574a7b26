"""The agent's omnichannel screens (mounted at ``/omni/``)."""

from django.urls import path

from omnichannel import views

app_name = "omnichannel"

urlpatterns = [
    path("atendimento/", views.workspace, name="workspace"),
    path("atendimento/<int:pk>/", views.workspace, name="conversation"),
    path("conversas/<int:pk>/enviar/", views.conversation_send, name="send"),
    path("conversas/<int:pk>/resolver/", views.conversation_finish, name="finish"),
    path("conversas/<int:pk>/cancelar/", views.conversation_cancel, name="cancel"),
    path("conversas/<int:pk>/transferir/", views.conversation_transfer, name="transfer"),
    path("conversas/<int:pk>/retornar/", views.conversation_return, name="return"),
    path("conversas/<int:pk>/alocar/", views.conversation_allocate, name="allocate"),
    path("presenca/status/", views.presence_state, name="presence_state"),
    path("presenca/filas/", views.presence_queues, name="presence_queues"),
    path("presenca/pos-atendimento/", views.wrap_up_finish, name="wrap_up_finish"),
]
