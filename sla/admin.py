"""Django admin of the SLA configuration; clocks and interventions are read-only.

Saving (or deleting) a calendar, a holiday or a policy calls the service that
bumps the calendars' version and enqueues the recomputation of the affected
open clocks after commit; the admin says so in a message.
"""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from sla import services
from sla.models import (
    BusinessCalendar,
    Holiday,
    MatrixPolicy,
    ProcessPolicy,
    SlaClock,
    SlaIntervention,
    SlaPolicy,
    SlaReason,
    WorkingInterval,
)

RECOMPUTE_MESSAGE = _("Os prazos de SLA dos atendimentos abertos afetados serão recalculados em segundo plano.")


class WorkingIntervalInline(admin.TabularInline):
    model = WorkingInterval
    extra = 0
    fields = ("weekday", "start", "end")


class CalendarHolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0
    fields = ("date", "name")
    verbose_name = _("feriado ou fechamento próprio")
    verbose_name_plural = _("feriados e fechamentos próprios (além dos nacionais/estaduais)")


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "always_open", "national_holidays", "state", "timezone", "active")
    list_filter = ("always_open", "active", "state")
    search_fields = ("name",)
    inlines = [WorkingIntervalInline, CalendarHolidayInline]
    fieldsets = (
        (None, {"fields": ("name", "active", "timezone")}),
        (_("Horário"), {"fields": ("always_open",), "description": _("Os intervalos por dia da semana ficam abaixo; vários por dia são permitidos.")}),
        (_("Feriados"), {"fields": ("national_holidays", "state")}),
    )

    def save_related(self, request, form, formsets, change) -> None:
        # After the inlines: the recomputation must see the new intervals and holidays.
        super().save_related(request, form, formsets, change)
        services.calendar_changed(calendar=form.instance)
        if change:
            messages.info(request, RECOMPUTE_MESSAGE)


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ("date", "name", "calendar")
    list_filter = ("calendar",)
    date_hierarchy = "date"
    search_fields = ("name",)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        services.holiday_changed(holiday=obj)
        messages.info(request, RECOMPUTE_MESSAGE)

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        services.holiday_changed(holiday=obj)
        messages.info(request, RECOMPUTE_MESSAGE)

    def delete_queryset(self, request, queryset) -> None:
        holidays = list(queryset)
        super().delete_queryset(request, queryset)
        for holiday in holidays:
            services.holiday_changed(holiday=holiday)


class MatrixPolicyInline(admin.TabularInline):
    model = MatrixPolicy
    extra = 0
    autocomplete_fields = ("matrix",)


class ProcessPolicyInline(admin.TabularInline):
    model = ProcessPolicy
    extra = 0


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "calendar", "resolution_amount", "resolution_unit", "first_response_amount", "active")
    list_filter = ("active", "calendar", "resolution_unit")
    search_fields = ("name",)
    inlines = [MatrixPolicyInline, ProcessPolicyInline]

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        services.policy_changed(policy=form.instance)
        if change:
            messages.info(request, RECOMPUTE_MESSAGE)


@admin.register(SlaReason)
class SlaReasonAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "active")
    list_filter = ("kind", "active")
    search_fields = ("name",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written only by the operations (sla.services), where permissions and events apply."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SlaIntervention)
class SlaInterventionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "ticket", "kind", "actor", "reason", "quantity", "unit", "due_before", "due_after")
    list_filter = ("kind", "reason")
    list_select_related = ("ticket", "actor", "reason")
    date_hierarchy = "created_at"
    search_fields = ("ticket__protocol", "=ticket__code")


@admin.register(SlaClock)
class SlaClockAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "policy", "state", "started_at", "due_at", "paused_at", "breached_at", "stopped_at")
    list_filter = ("state", "policy", "calendar")
    list_select_related = ("ticket", "policy")
    search_fields = ("ticket__protocol", "=ticket__code")
    show_full_result_count = False
