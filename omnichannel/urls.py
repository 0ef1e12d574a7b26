"""The agent's omnichannel screens (mounted at ``/omni/``)."""

from django.urls import path

from omnichannel import (
    views,
    views_actions,
    views_canned,
    views_channels,
    views_email_filter,
    views_files,
)

app_name = "omnichannel"

urlpatterns = [
    path("atendimento/", views.workspace, name="workspace"),
    path("atendimento/<int:pk>/", views.workspace, name="conversation"),
    path("conversas/<int:pk>/enviar/", views.conversation_send, name="send"),
    path("conversas/<int:pk>/modelo/", views_channels.send_template, name="send_template"),
    path("conversas/<int:pk>/resolver/", views.conversation_finish, name="finish"),
    path("conversas/<int:pk>/cancelar/", views.conversation_cancel, name="cancel"),
    path("conversas/<int:pk>/transferir/", views.conversation_transfer, name="transfer"),
    path("conversas/<int:pk>/retornar/", views.conversation_return, name="return"),
    path("conversas/<int:pk>/alocar/", views.conversation_allocate, name="allocate"),
    path("presenca/status/", views.presence_state, name="presence_state"),
    path("presenca/filas/", views.presence_queues, name="presence_queues"),
    path("presenca/pos-atendimento/", views.wrap_up_finish, name="wrap_up_finish"),
    path("arquivos/<int:pk>/", views_files.message_file, name="message_file"),
    path("mensagens-pre-salvas/", views_canned.canned_list, name="canned_list"),
    path("mensagens-pre-salvas/nova/", views_canned.canned_create, name="canned_create"),
    path("mensagens-pre-salvas/sugestoes/", views_canned.canned_suggestions, name="canned_suggestions"),
    path("mensagens-pre-salvas/<int:pk>/editar/", views_canned.canned_edit, name="canned_edit"),
    path("mensagens-pre-salvas/<int:pk>/excluir/", views_canned.canned_delete, name="canned_delete"),
    path("conversas/<int:pk>/etiquetas/", views_actions.conversation_tags, name="tags"),
    path("agentes/<int:agent_id>/pos-atendimento/", views_actions.agent_wrap_up_finish, name="agent_wrap_up_finish"),
    path("agentes/<int:agent_id>/status/", views_actions.agent_force_state, name="agent_state"),
    path("filtro-email/", views_email_filter.filter_list, name="email_filter"),
    path("filtro-email/contagem/", views_email_filter.filter_count, name="email_filter_count"),
    path("filtro-email/aceitar/", views_email_filter.filter_accept, name="email_filter_accept"),
    path("filtro-email/excluir/", views_email_filter.filter_delete, name="email_filter_delete"),
    path("filtro-email/<int:pk>/", views_email_filter.filter_detail, name="email_filter_detail"),
]
