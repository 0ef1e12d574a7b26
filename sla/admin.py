"""Django admin of the SLA configuration; clocks and interventions are read-only.

Saving (or deleting) a calendar, a holiday, a policy or a matrix/process
mapping calls the service that bumps the calendars' version and enqueues the
recomputation of the affected open clocks after commit; the admin says so in
a message.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext
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
    Weekday,
    WorkingInterval,
    find_overlap,
)

RECOMPUTE_MESSAGE = _("Os prazos de SLA dos atendimentos abertos afetados serão recalculados em segundo plano.")
HOLIDAY_PREVIEW_LIMIT = 40


class WorkingIntervalFormSet(forms.BaseInlineFormSet):
    """Intervals of one calendar: no overlaps within a weekday, at least one unless 24x7."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        rows = [(d["weekday"], d["start"], d["end"]) for d in kept if d.get("start") and d.get("end") is not None]
        clash = find_overlap(rows)
        if clash is not None:
            weekday, start, end = clash
            raise ValidationError(
                gettext("O intervalo %(start)s-%(end)s de %(day)s se sobrepõe a outro do mesmo dia.")
                % {"start": f"{start:%H:%M}", "end": f"{end:%H:%M}", "day": Weekday(weekday).label}
            )
        if not rows and not getattr(self.instance, "always_open", False):
            raise ValidationError(
                gettext("Informe ao menos um intervalo de atendimento ou marque o calendário como 24x7.")
            )


class WorkingIntervalInline(admin.TabularInline):
    model = WorkingInterval
    formset = WorkingIntervalFormSet
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
    readonly_fields = ("holidays_this_year",)
    fieldsets = (
        (None, {"fields": ("name", "active", "timezone")}),
        (
            _("Horário"),
            {
                "fields": ("always_open",),
                "description": _("Os intervalos por dia da semana ficam abaixo; vários por dia são permitidos (ex.: 08:00-12:00 e 13:00-18:00)."),
            },
        ),
        (_("Feriados"), {"fields": ("national_holidays", "state", "holidays_this_year")}),
    )

    @admin.display(description=_("feriados deste ano e do próximo"))
    def holidays_this_year(self, obj: BusinessCalendar) -> str:
        """The closed dates the calendar applies now: national, state and own (a check for the admin)."""
        if obj is None or obj.pk is None:
            return gettext("Salve o calendário para ver os feriados que ele aplica.")
        if obj.always_open:
            return gettext("Calendário 24x7: feriados não se aplicam.")
        from django.utils import timezone

        year = timezone.localdate().year
        dates = sorted(d for d in obj.spec(years=range(year, year + 2)).holidays if d.year in (year, year + 1))
        if not dates:
            return gettext("Nenhum feriado.")
        shown = dates[:HOLIDAY_PREVIEW_LIMIT]
        return format_html_join(", ", "{}", ((d.strftime("%d/%m/%Y"),) for d in shown))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # After the inlines: the recomputation must see the new intervals and holidays.
        super().save_related(request, form, formsets, change)
        services.calendar_changed(calendar=form.instance)
        if change:
            messages.info(request, RECOMPUTE_MESSAGE)


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ("date", "name", "calendar")
    list_filter = ("calendar",)
    list_select_related = ("calendar",)
    date_hierarchy = "date"
    search_fields = ("name",)

    def save_model(self, request: HttpRequest, obj: Holiday, form: Any, change: bool) -> None:
        previous_calendar = form.initial.get("calendar") if change else None
        super().save_model(request, obj, form, change)
        services.holiday_changed(holiday=obj)
        if change and "calendar" in form.changed_data:
            # Moved to another calendar (or to all of them): the old one loses the date.
            services.holiday_changed(holiday=Holiday(calendar_id=previous_calendar, date=obj.date))
        messages.info(request, RECOMPUTE_MESSAGE)

    def delete_model(self, request: HttpRequest, obj: Holiday) -> None:
        super().delete_model(request, obj)
        services.holiday_changed(holiday=obj)
        messages.info(request, RECOMPUTE_MESSAGE)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Holiday]) -> None:
        holidays = list(queryset)
        super().delete_queryset(request, queryset)
        if any(h.calendar_id is None for h in holidays):
            services.holiday_changed(holiday=Holiday(calendar_id=None))
            return
        for calendar_id in {h.calendar_id for h in holidays}:
            services.holiday_changed(holiday=Holiday(calendar_id=calendar_id))


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
    list_select_related = ("calendar",)
    search_fields = ("name",)
    inlines = [MatrixPolicyInline, ProcessPolicyInline]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        services.policy_changed(policy=form.instance)
        if change:
            messages.info(request, RECOMPUTE_MESSAGE)


class _MappingAdmin(admin.ModelAdmin):
    """"Situação de SLA" of a matrix / default of a process: both old and new policy are recomputed."""

    list_select_related = ("policy",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        previous = form.initial.get("policy") if change else None
        super().save_model(request, obj, form, change)
        services.policy_changed(policy=obj.policy)
        if previous and previous != obj.policy_id:
            services.policy_changed(policy=SlaPolicy(pk=previous))
        messages.info(request, RECOMPUTE_MESSAGE)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        services.policy_changed(policy=obj.policy)
        messages.info(request, RECOMPUTE_MESSAGE)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        policy_ids = set(queryset.values_list("policy_id", flat=True))
        super().delete_queryset(request, queryset)
        for policy_id in policy_ids:
            services.policy_changed(policy=SlaPolicy(pk=policy_id))


@admin.register(MatrixPolicy)
class MatrixPolicyAdmin(_MappingAdmin):
    list_display = ("matrix", "policy")
    list_filter = ("policy",)
    list_select_related = ("matrix__category", "policy")
    search_fields = ("matrix__name", "matrix__category__name", "policy__name")
    autocomplete_fields = ("matrix",)


@admin.register(ProcessPolicy)
class ProcessPolicyAdmin(_MappingAdmin):
    list_display = ("process", "policy", "calendar")
    list_filter = ("policy",)
    list_select_related = ("process", "policy", "calendar")
    search_fields = ("process__name", "policy__name")


@admin.register(SlaReason)
class SlaReasonAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "active")
    list_filter = ("kind", "active")
    list_editable = ("active",)
    search_fields = ("name",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written only by the operations (sla.services), where permissions and events apply."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
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
