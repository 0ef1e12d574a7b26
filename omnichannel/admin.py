"""Django admin: queues, pause and contact reasons, bot menus, queue membership.

Presence, its timeline and conversations are read-only here: they change only
through ``omnichannel.services`` (status changes, routing, transfers).
"""

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from omnichannel.models import (
    AgentPresence,
    AgentQueue,
    BotMenu,
    BotOption,
    ContactReason,
    Conversation,
    ConversationEvent,
    Message,
    PauseReason,
    PresenceInterval,
    Queue,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class AgentQueueInline(admin.TabularInline):
    model = AgentQueue
    extra = 1
    fields = ["agent", "logged_in"]
    readonly_fields = ["logged_in"]
    autocomplete_fields = ["agent"]


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "team", "max_conversations", "answer_timeout", "inactivity_timeout", "wrap_up_seconds", "calendar", "active"]
    list_filter = ["channel", "team", "active"]
    search_fields = ["name"]
    filter_horizontal = ["contact_reasons"]
    inlines = [AgentQueueInline]
    fieldsets = [
        (None, {"fields": ["name", "channel", "team", "company", "process", "active"]}),
        (_("Distribuição"), {"fields": ["max_conversations", "answer_timeout", "wrap_up_seconds"]}),
        (_("Inatividade do cliente"), {"fields": ["inactivity_timeout", "inactivity_warning"]}),
        (_("Horário de atendimento"), {"fields": ["calendar", "out_of_hours_message"]}),
        (_("Qualificação"), {"fields": ["contact_reasons"]}),
    ]


@admin.register(PauseReason)
class PauseReasonAdmin(admin.ModelAdmin):
    list_display = ["name", "order", "active"]
    list_editable = ["order", "active"]
    search_fields = ["name"]


@admin.register(ContactReason)
class ContactReasonAdmin(admin.ModelAdmin):
    list_display = ["name", "active"]
    list_filter = ["active"]
    search_fields = ["name"]


class BotOptionInline(admin.TabularInline):
    model = BotOption
    fk_name = "menu"
    extra = 1
    fields = ["number", "label", "queue", "submenu"]


@admin.register(BotMenu)
class BotMenuAdmin(admin.ModelAdmin):
    list_display = ["name", "entry_point", "channel", "active"]
    list_filter = ["channel", "active"]
    search_fields = ["name", "entry_point"]
    inlines = [BotOptionInline]


@admin.register(AgentQueue)
class AgentQueueAdmin(admin.ModelAdmin):
    list_display = ["agent", "queue", "logged_in", "changed_at"]
    list_filter = ["queue", "logged_in"]
    search_fields = ["agent__username", "agent__first_name", "queue__name"]
    autocomplete_fields = ["agent", "queue"]
    readonly_fields = ["logged_in", "changed_at"]


@admin.register(AgentPresence)
class AgentPresenceAdmin(ReadOnlyAdmin):
    list_display = ["agent", "state", "pause_reason", "since", "load", "wrap_up_until", "last_seen"]
    list_filter = ["state", "pause_reason"]
    search_fields = ["agent__username", "agent__first_name"]


@admin.register(PresenceInterval)
class PresenceIntervalAdmin(ReadOnlyAdmin):
    list_display = ["agent", "state", "pause_reason", "started_at", "ended_at", "forced_by", "note"]
    list_filter = ["state", "pause_reason"]
    search_fields = ["agent__username", "agent__first_name"]
    date_hierarchy = "started_at"


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ["created_at", "kind", "author", "body", "state"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ConversationEventInline(admin.TabularInline):
    model = ConversationEvent
    extra = 0
    fields = ["created_at", "kind", "actor", "data"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ["protocol", "channel", "status", "contact_name", "queue", "agent", "queued_at", "human_started_at", "ended_at"]
    list_filter = ["status", "channel", "queue"]
    search_fields = ["protocol", "contact_name", "contact_email", "contact_phone", "contact_document"]
    date_hierarchy = "created_at"
    list_select_related = ["queue", "agent"]
    inlines = [MessageInline, ConversationEventInline]
