from django.urls import path

from tickets import views

app_name = "tickets"

urlpatterns = [
    path("tickets/new/", views.ticket_new, name="new"),
    path("tickets/<int:pk>/", views.ticket_detail, name="detail"),
    path("tickets/<int:pk>/edit/", views.ticket_edit, name="edit"),
    path("tickets/<int:pk>/claim/", views.claim, name="claim"),
    path("tickets/<int:pk>/release/", views.release, name="release"),
    path("tickets/<int:pk>/transfer/", views.transfer, name="transfer"),
    path("tickets/<int:pk>/comment/", views.comment, name="comment"),
    path("tickets/<int:pk>/attach/", views.attach, name="attach"),
    path("tickets/<int:pk>/watch/", views.watch, name="watch"),
    path("tickets/<int:pk>/unwatch/", views.unwatch, name="unwatch"),
    path("tickets/<int:pk>/subprocess/finish/", views.subprocess_finish, name="subprocess_finish"),
    path("tickets/<int:pk>/subprocess/start/", views.subprocess_start, name="subprocess_start"),
    path("tickets/<int:pk>/forward/", views.forward, name="forward"),
    path("tickets/<int:pk>/service-orders/new/", views.so_create, name="so_create"),
    path("tickets/<int:pk>/service-orders/<int:so_pk>/edit/", views.so_edit, name="so_edit"),
    path("tickets/<int:pk>/service-orders/<int:so_pk>/complete/", views.so_complete, name="so_complete"),
    path("tickets/<int:pk>/finalize/", views.finalize, name="finalize"),
    path("tickets/<int:pk>/reopen/", views.reopen, name="reopen"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment_download"),
    path("attachments/<int:pk>/delete/", views.attachment_delete, name="attachment_delete"),
    path("customers/search/", views.customer_search, name="customer_search"),
    path("customers/new/", views.customer_create, name="customer_create"),
    path("categories/children/", views.category_children, name="category_children"),
]
