"""Django admin: queues, pause and contact reasons, bot menus, queue membership.

Presence, its timeline and conversations are read-only here: they change only
through ``omnichannel.services`` (status changes, routing, transfers).
"""

from django import forms
from django.contrib import admin
from django.core.validators import RegexValidator
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from omnichannel.models import (
    AgentPresence,
    AgentQueue,
    BotMenu,
    BotOption,
    CannedCategory,
    CannedResponse,
    ContactReason,
    Conversation,
    ConversationEvent,
    Message,
    PauseReason,
    PresenceInterval,
    Queue,
    Tag,
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


class TagAdminForm(forms.ModelForm):
    color = forms.CharField(
        label=_("cor"),
        max_length=7,
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Informe a cor em hexadecimal, como #4a6fa5."))],
        widget=forms.TextInput(attrs={"type": "color"}),
    )

    class Meta:
        model = Tag
        fields = ["name", "color", "active"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    form = TagAdminForm
    list_display = ["name", "color", "active"]
    list_filter = ["active"]
    list_editable = ["active"]
    search_fields = ["name"]


@admin.register(CannedCategory)
class CannedCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "order"]
    list_editable = ["order"]
    search_fields = ["name"]


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    """Mensagens pré-salvas: "dono" empty makes one public, for every agent."""

    list_display = ["shortcut", "title", "category", "owner", "created_by", "updated_at"]
    list_filter = ["category", ("owner", admin.EmptyFieldListFilter)]
    search_fields = ["shortcut", "title", "body", "owner__username"]
    list_select_related = ["category", "owner", "created_by"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["created_by", "created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: CannedResponse, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)


# --- voice (issue 7): the calls the PBX reported, read-only ---------------------------------------

from omnichannel.models import CallRecord  # noqa: E402


@admin.register(CallRecord)
class CallRecordAdmin(ReadOnlyAdmin):
    list_display = ["ringing_at", "direction", "call_type", "number", "queue", "agent", "outcome", "disposition", "account"]
    list_filter = ["direction", "call_type", "outcome", "queue", "account"]
    search_fields = ["external_id", "number", "campaign", "disposition"]
    date_hierarchy = "ringing_at"
    list_select_related = ["queue", "agent", "account"]


# --- provider channel accounts ------------------------------------------------------------------

from omnichannel.models import ChannelAccount, InboundEvent  # noqa: E402


def mask_secret(value: str) -> str:
    """What the admin shows of a stored secret: never more than its last 4 characters."""
    if not value:
        return ""
    return "•" * 8 + (value[-4:] if len(value) >= 12 else "")


class SecretInput(forms.PasswordInput):
    """An empty password box whose placeholder says a secret is stored (masked)."""

    def __init__(self, masked: str = ""):
        super().__init__(render_value=False, attrs={"autocomplete": "new-password", "placeholder": masked})


class ChannelAccountForm(forms.ModelForm):
    """Secrets are write-only: left empty, the stored one is kept; "apagar" clears it."""

    class Meta:
        model = ChannelAccount
        fields = [
            "name", "channel", "active", "external_id", "queue", "entry_menu", "api_base_url", "access_token",
            "app_secret", "verify_token", "webhook_secret", "email_address", "imap_host", "imap_port", "imap_ssl",
            "imap_user", "imap_password", "imap_folder", "smtp_host", "smtp_port", "smtp_security", "smtp_user",
            "smtp_password",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ChannelAccount.SECRET_FIELDS:
            stored = getattr(self.instance, name, "") if self.instance.pk else ""
            field = self.fields[name]
            field.required = False
            field.widget = SecretInput(mask_secret(stored) or str(_("não definido")))
            field.help_text = _("Deixe vazio para manter o valor guardado. Escreva \"apagar\" para removê-lo.")

    def clean(self):
        cleaned = super().clean()
        for name in ChannelAccount.SECRET_FIELDS:
            value = (cleaned.get(name) or "").strip()
            if value == "apagar":
                cleaned[name] = ""
            elif not value and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


@admin.register(ChannelAccount)
class ChannelAccountAdmin(admin.ModelAdmin):
    form = ChannelAccountForm
    list_display = ("name", "channel", "external_id", "queue", "entry_menu", "active", "credentials", "webhook")
    list_filter = ("channel", "active")
    search_fields = ("name", "external_id", "email_address")
    readonly_fields = ("key", "webhook_address", "created_at", "imap_last_uid", "imap_uidvalidity")
    fieldsets = (
        (None, {"fields": ("name", "channel", "active", "external_id", "queue", "entry_menu")}),
        (_("Webhook e API"), {"fields": ("key", "webhook_address", "api_base_url", "access_token", "app_secret",
                                          "verify_token", "webhook_secret")}),
        (_("E-mail"), {"classes": ("collapse",), "fields": (
            "email_address", "imap_host", "imap_port", "imap_ssl", "imap_user", "imap_password", "imap_folder",
            "smtp_host", "smtp_port", "smtp_security", "smtp_user", "smtp_password", "imap_last_uid",
            "imap_uidvalidity")}),
        (None, {"fields": ("created_at",)}),
    )

    @admin.display(description=_("credenciais"), boolean=True)
    def credentials(self, obj: ChannelAccount) -> bool:
        from omnichannel.providers import provider_module

        provider = provider_module(obj.channel)
        return bool(provider and provider.configured(obj))

    @admin.display(description=_("webhook"))
    def webhook(self, obj: ChannelAccount) -> str:
        return self.webhook_address(obj)

    @admin.display(description=_("endereço do webhook"))
    def webhook_address(self, obj: ChannelAccount) -> str:
        from django.urls import NoReverseMatch, reverse

        if not obj.pk:
            return "—"
        if obj.channel == "voice":
            return f"/api/voz/{obj.key}/chamadas/"
        try:
            return reverse("webhooks:receive", args=[obj.channel, obj.key])
        except NoReverseMatch:
            return "—"


@admin.register(InboundEvent)
class InboundEventAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "account", "kind", "dedupe_key")
    list_filter = ("kind", "account")
    date_hierarchy = "received_at"
    list_select_related = ("account",)
