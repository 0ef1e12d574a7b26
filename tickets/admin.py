"""Django admin for the configuration tables and a read-mostly view of tickets.

Tickets are changed only through the operations (tickets.services), so their
admin is read-only: an admin who needs to change one uses the product's screens,
where permissions and the event log apply.
"""

from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from tickets.documents import format_document
from tickets.models import (
    Attachment,
    Category,
    CategoryMatrix,
    Classification,
    Comment,
    Company,
    Customer,
    Process,
    RequestType,
    ServiceCatalogItem,
    ServiceOrder,
    Subprocess,
    Team,
    Ticket,
    TicketEvent,
    TicketStage,
)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "active", "member_count")
    list_filter = ("active",)
    search_fields = ("name",)
    filter_horizontal = ("members", "supervisors")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_members=Count("members", distinct=True))

    @admin.display(description=_("membros"), ordering="_members")
    def member_count(self, obj: Team) -> int:
        return obj._members


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "cnpj_display", "city", "state", "active")
    list_filter = ("active", "state")
    search_fields = ("name", "cnpj")

    @admin.display(description=_("CNPJ"), ordering="cnpj")
    def cnpj_display(self, obj: Company) -> str:
        return format_document(obj.cnpj)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "document_display", "email", "mobile", "city", "state")
    list_filter = ("state",)
    search_fields = ("name", "document", "email")
    fieldsets = (
        (None, {"fields": ("name", "document", "email", "phone", "mobile")}),
        (
            _("Endereço"),
            {"fields": ("street", "number", "complement", "neighbourhood", "city", "state", "zip_code", "condominium")},
        ),
    )

    @admin.display(description=_("CPF/CNPJ"), ordering="document")
    def document_display(self, obj: Customer) -> str:
        return obj.document_display


class SubcategoryInline(admin.TabularInline):
    model = Category
    fk_name = "parent"
    extra = 0
    fields = ("name", "active")
    verbose_name = _("subcategoria")
    verbose_name_plural = _("subcategorias")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("path_display", "level", "active")
    list_filter = ("level", "active")
    search_fields = ("name",)
    list_select_related = ("parent__parent__parent__parent",)
    autocomplete_fields = ("parent",)
    inlines = [SubcategoryInline]

    @admin.display(description=_("caminho"), ordering="name")
    def path_display(self, obj: Category) -> str:
        return obj.path


@admin.register(RequestType)
class RequestTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "active")
    search_fields = ("name",)


@admin.register(ServiceCatalogItem)
class ServiceCatalogItemAdmin(admin.ModelAdmin):
    list_display = ("name", "active")
    search_fields = ("name",)


@admin.register(CategoryMatrix)
class CategoryMatrixAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "request_type", "catalog_item", "active")
    list_filter = ("active", "request_type")
    search_fields = ("name", "category__name")
    list_select_related = ("category__parent__parent__parent__parent", "request_type", "catalog_item")
    autocomplete_fields = ("category",)


class SubprocessInline(admin.TabularInline):
    model = Subprocess
    extra = 0
    fields = ("order", "name", "expected_hours", "active")


@admin.register(Process)
class ProcessAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "active")
    list_filter = ("active",)
    search_fields = ("name",)
    inlines = [SubprocessInline]


@admin.register(Classification)
class ClassificationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "active")
    list_filter = ("kind", "active")
    search_fields = ("name",)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class StageInline(ReadOnlyInline):
    model = TicketStage
    fields = ("subprocess", "started_at", "due_at", "finished_at")


class ServiceOrderInline(ReadOnlyInline):
    model = ServiceOrder
    fields = ("code", "status", "scheduled_for", "due_at", "completed_at")


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ("original_name", "size", "uploaded_by", "uploaded_at")


class CommentInline(ReadOnlyInline):
    model = Comment
    fields = ("author", "body", "created_at")


class EventInline(ReadOnlyInline):
    model = TicketEvent
    fields = ("created_at", "kind", "actor", "data")


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Read-only: tickets change through the product's operations only."""

    list_display = ("code", "protocol", "customer", "team", "process", "assignee", "origin", "opened_at", "closed_at")
    list_filter = ("origin", "team", "process", "service_order_status")
    search_fields = ("=code", "=protocol", "customer__name", "customer__document")
    list_select_related = ("customer", "team", "process", "assignee")
    date_hierarchy = "opened_at"
    show_full_result_count = False
    inlines = [StageInline, ServiceOrderInline, AttachmentInline, CommentInline, EventInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
