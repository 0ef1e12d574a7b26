"""Views of the tickets app, split by topic: pages, tools of the detail page, lookups."""

from tickets.views.lookups import (
    attachment_download,
    category_children,
    customer_create,
    customer_search,
)
from tickets.views.pages import home, ticket_detail, ticket_edit, ticket_new
from tickets.views.tools import (
    attach,
    attachment_delete,
    claim,
    comment,
    finalize,
    forward,
    release,
    reopen,
    so_complete,
    so_create,
    so_edit,
    subprocess_finish,
    subprocess_start,
    transfer,
    unwatch,
    watch,
)

__all__ = [
    "attach", "attachment_delete", "attachment_download", "category_children", "claim", "comment",
    "customer_create", "customer_search", "finalize", "forward", "home", "release", "reopen", "so_complete",
    "so_create", "so_edit", "subprocess_finish", "subprocess_start", "ticket_detail", "ticket_edit",
    "ticket_new", "transfer", "unwatch", "watch",
]
