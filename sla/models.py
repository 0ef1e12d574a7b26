"""SLA: business calendars and holidays, policies, each ticket's clock, reasons, interventions.

Deadlines are counted in business time of a calendar (``sla.businesstime``);
only ``sla.services`` and the tasks in ``sla.tasks`` write clocks.
"""

from datetime import date, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sla.businesstime import BusinessCalendar as CalendarSpec
from sla.businesstime import brazil_holidays
from tickets.models import UF, CategoryMatrix, Process, Ticket


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Segunda-feira")
    TUESDAY = 1, _("Terça-feira")
    WEDNESDAY = 2, _("Quarta-feira")
    THURSDAY = 3, _("Quinta-feira")
    FRIDAY = 4, _("Sexta-feira")
    SATURDAY = 5, _("Sábado")
    SUNDAY = 6, _("Domingo")


class TimeUnit(models.TextChoices):
    HOURS = "hours", _("Horas")
    DAYS = "days", _("Dias")


class BusinessCalendar(models.Model):
    """Calendário de atendimento: working intervals per weekday, 24x7, holidays."""

    name = models.CharField(_("nome"), max_length=120, unique=True)
    always_open = models.BooleanField(
        _("24x7"), default=False, help_text=_("Aberto todas as horas de todos os dias; feriados não se aplicam.")
    )
    national_holidays = models.BooleanField(_("feriados nacionais"), default=True)
    state = models.CharField(
        _("feriados estaduais de"), max_length=2, choices=UF.choices, blank=True,
        help_text=_("UF cujos feriados estaduais fecham o calendário."),
    )
    timezone = models.CharField(_("fuso horário"), max_length=64, default="America/Sao_Paulo")
    active = models.BooleanField(_("ativo"), default=True)
    updated_at = models.DateTimeField(_("atualizado em"), auto_now=True)
    # Bumped by every change through sla.services (intervals, holidays, global
    # holidays): the key of the per-process cache of calendar specs (sla.calendars).
    version = models.PositiveIntegerField(_("versão"), default=0, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("calendário de atendimento")
        verbose_name_plural = _("calendários de atendimento")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError({"timezone": _("Fuso horário desconhecido. Exemplo: America/Sao_Paulo.")}) from exc

    def spec(self, years: range | None = None) -> CalendarSpec:
        """The pure value object the arithmetic works on (holidays for ``years``)."""
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(self.timezone)
        if self.always_open:
            return CalendarSpec(weekly={}, tz=tz, always_open=True)
        if years is None:
            today = timezone.localdate()
            years = range(today.year - 2, today.year + 4)
        weekly: dict[int, list[tuple[time, time]]] = {}
        for interval in self.intervals.all():
            weekly.setdefault(interval.weekday, []).append((interval.start, interval.end))
        holidays: set[date] = set()
        if self.national_holidays or self.state:
            national = brazil_holidays(years)
            with_state = brazil_holidays(years, subdiv=self.state) if self.state else frozenset()
            holidays |= (national if self.national_holidays else set()) | (with_state - national)
        holidays |= {h.date for h in self.holidays.all()}
        holidays |= {h.date for h in Holiday.objects.filter(calendar__isnull=True)}
        return CalendarSpec(
            weekly={day: tuple(sorted(items)) for day, items in weekly.items()},
            holidays=frozenset(holidays),
            tz=tz,
        )

    def business_day(self) -> timedelta:
        """Length of one "business day" for amounts given in days.

        24 hours on a 24x7 calendar; otherwise the mean open time of the
        weekdays that open (Mon-Fri 08-12 + 13-18 gives 9 hours).
        """
        if self.always_open:
            return timedelta(hours=24)
        per_day: dict[int, timedelta] = {}
        for interval in self.intervals.all():
            end = timedelta(hours=24) if interval.end == time(0) else _td(interval.end)
            per_day[interval.weekday] = per_day.get(interval.weekday, timedelta()) + (end - _td(interval.start))
        if not per_day:
            return timedelta(hours=24)
        return sum(per_day.values(), timedelta()) / len(per_day)


def _td(moment: time) -> timedelta:
    return timedelta(hours=moment.hour, minutes=moment.minute, seconds=moment.second)


class WorkingInterval(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="intervals")
    weekday = models.PositiveSmallIntegerField(_("dia da semana"), choices=Weekday.choices)
    start = models.TimeField(_("início"))
    end = models.TimeField(_("fim"), help_text=_("00:00 significa fim do dia (24:00)."))

    class Meta:
        ordering = ["calendar", "weekday", "start"]
        verbose_name = _("intervalo de atendimento")
        verbose_name_plural = _("intervalos de atendimento")

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"

    def clean(self) -> None:
        # Overlaps with the other intervals of the day are checked by the
        # calendar's inline formset (sla.admin), which sees the unsaved rows too.
        if self.start is not None and self.end is not None and self.end != time(0) and self.end <= self.start:
            raise ValidationError({"end": _("O fim precisa ser depois do início.")})


def find_overlap(intervals: list[tuple[int, time, time]]) -> tuple[int, time, time] | None:
    """The first ``(weekday, start, end)`` that overlaps an earlier one of its weekday (touching is fine)."""
    by_day: dict[int, list[tuple[time, time]]] = {}
    for weekday, start, end in intervals:
        by_day.setdefault(weekday, []).append((start, end))
    for weekday, items in by_day.items():
        ordered = sorted(items)
        for (_s1, e1), (s2, e2) in zip(ordered, ordered[1:], strict=False):
            if e1 == time(0) or s2 < e1:
                return weekday, s2, e2
    return None


class Holiday(models.Model):
    """The admin's own closed dates: municipal holidays, one-off closures."""

    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.CASCADE,
        related_name="holidays",
        null=True,
        blank=True,
        help_text=_("Vazio: vale para todos os calendários."),
        verbose_name=_("calendário"),
    )
    date = models.DateField(_("data"))
    name = models.CharField(_("descrição"), max_length=120)

    class Meta:
        ordering = ["date"]
        verbose_name = _("feriado ou fechamento")
        verbose_name_plural = _("feriados e fechamentos")
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "date"],
                name="holiday_unique_date",
                violation_error_message=_("Este calendário já tem um feriado ou fechamento nesta data."),
            ),
            # NULLs are distinct in a unique index: the global dates need their own.
            models.UniqueConstraint(
                fields=["date"],
                condition=Q(calendar__isnull=True),
                name="holiday_unique_global_date",
                violation_error_message=_("Já existe um feriado ou fechamento de todos os calendários nesta data."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date:%d/%m/%Y} {self.name}"


class SlaPolicy(models.Model):
    name = models.CharField(_("nome"), max_length=120, unique=True)
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="policies", verbose_name=_("calendário"))
    resolution_amount = models.DecimalField(_("prazo de solução"), max_digits=7, decimal_places=2)
    resolution_unit = models.CharField(_("unidade"), max_length=5, choices=TimeUnit.choices, default=TimeUnit.HOURS)
    first_response_amount = models.DecimalField(
        _("prazo de primeira resposta"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    first_response_unit = models.CharField(
        _("unidade da primeira resposta"), max_length=5, choices=TimeUnit.choices, default=TimeUnit.HOURS
    )
    active = models.BooleanField(_("ativa"), default=True)
    updated_at = models.DateTimeField(_("atualizada em"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("política de SLA")
        verbose_name_plural = _("políticas de SLA")
        constraints = [
            models.CheckConstraint(
                condition=Q(resolution_amount__gt=0),
                name="sla_policy_positive_resolution",
                violation_error_message=_("O prazo de solução precisa ser maior que zero."),
            ),
            models.CheckConstraint(
                condition=Q(first_response_amount__isnull=True) | Q(first_response_amount__gt=0),
                name="sla_policy_positive_first_response",
                violation_error_message=_("O prazo de primeira resposta, quando informado, precisa ser maior que zero."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def amount(self, value: Decimal, unit: str) -> timedelta:
        if unit == TimeUnit.DAYS:
            return self.calendar.business_day() * float(value)
        return timedelta(hours=float(value))

    @property
    def resolution_time(self) -> timedelta:
        return self.amount(self.resolution_amount, self.resolution_unit)

    @property
    def first_response_time(self) -> timedelta | None:
        if self.first_response_amount is None:
            return None
        return self.amount(self.first_response_amount, self.first_response_unit)


class MatrixPolicy(models.Model):
    """"Situação de SLA" of a category matrix."""

    matrix = models.OneToOneField(CategoryMatrix, on_delete=models.CASCADE, related_name="sla", verbose_name=_("matriz"))
    policy = models.ForeignKey(SlaPolicy, on_delete=models.PROTECT, related_name="matrices", verbose_name=_("política"))

    class Meta:
        verbose_name = _("SLA da matriz de categorias")
        verbose_name_plural = _("SLA das matrizes de categorias")

    def __str__(self) -> str:
        return f"{self.matrix} → {self.policy}"


class ProcessPolicy(models.Model):
    """The default policy of a process, used when the ticket's matrix has none."""

    process = models.OneToOneField(Process, on_delete=models.CASCADE, related_name="sla", verbose_name=_("processo"))
    policy = models.ForeignKey(SlaPolicy, on_delete=models.PROTECT, related_name="processes", verbose_name=_("política"))
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("calendário dos subprocessos"),
        help_text=_("Calendário dos prazos dos subprocessos; vazio: o da política."),
    )

    class Meta:
        verbose_name = _("SLA padrão do processo")
        verbose_name_plural = _("SLA padrão dos processos")

    def __str__(self) -> str:
        return f"{self.process} → {self.policy}"


class ClockState(models.TextChoices):
    RUNNING = "running", _("Em andamento")
    AT_RISK = "at_risk", _("Em risco")
    PAUSED = "paused", _("Pausado")
    MET = "met", _("Cumprido")
    BREACHED = "breached", _("Atrasado")


ACTIVE_STATES = (ClockState.RUNNING, ClockState.AT_RISK)


class SlaClock(models.Model):
    """The SLA clock of one ticket (its primary key is the ticket's)."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, primary_key=True, related_name="sla_clock")
    policy = models.ForeignKey(SlaPolicy, on_delete=models.PROTECT, related_name="clocks", verbose_name=_("política"))
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="clocks", verbose_name=_("calendário"))
    started_at = models.DateTimeField(_("início"))
    # Business time added by "Incrementar SLA" interventions, in seconds.
    increment_seconds = models.BigIntegerField(_("incremento (s)"), default=0)
    # Business time spent paused by finished pauses, in seconds.
    paused_seconds = models.BigIntegerField(_("tempo pausado (s)"), default=0)
    paused_at = models.DateTimeField(_("pausado desde"), null=True, blank=True)
    due_at = models.DateTimeField(_("prazo"))
    first_response_due_at = models.DateTimeField(_("prazo de primeira resposta"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("primeira resposta"), null=True, blank=True)
    state = models.CharField(_("situação"), max_length=10, choices=ClockState.choices, default=ClockState.RUNNING)
    at_risk_at = models.DateTimeField(_("em risco desde"), null=True, blank=True)
    breached_at = models.DateTimeField(_("atrasado em"), null=True, blank=True)
    stopped_at = models.DateTimeField(_("encerrado em"), null=True, blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("relógio de SLA")
        verbose_name_plural = _("relógios de SLA")
        indexes = [
            # The breach scan and "em risco" marking: running clocks by deadline.
            models.Index(fields=["due_at"], condition=Q(state__in=["running", "at_risk"]), name="slaclock_active_due_idx"),
            # Recomputation after a calendar/policy change: open clocks of a calendar.
            models.Index(
                fields=["calendar", "ticket"],
                condition=Q(state__in=["running", "at_risk", "paused"]),
                name="slaclock_open_calendar_idx",
            ),
            # The panels' "Atrasados" views: breach time ranges, with the ticket to join.
            models.Index(
                fields=["breached_at", "ticket"], condition=Q(breached_at__isnull=False), name="slaclock_breached_tkt_idx"
            ),
            # The panels' "SLA atrasado" / "Finalizados com atraso": what decides lateness, by
            # ticket, for the clocks that may be late (index-only joins from the tickets).
            models.Index(
                fields=["ticket", "state", "due_at", "breached_at"],
                condition=Q(state__in=["breached", "running", "at_risk"]) | Q(breached_at__isnull=False),
                name="slaclock_late_tkt_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"SLA {self.ticket_id}: {self.get_state_display()}"

    @property
    def is_paused(self) -> bool:
        return self.state == ClockState.PAUSED


class SlaReason(models.Model):
    """Motivo de intervenção de SLA."""

    class Kind(models.TextChoices):
        INCREMENT = "increment", _("Incremento de tempo")
        PAUSE = "pause", _("Pausa do SLA")

    name = models.CharField(_("descrição"), max_length=120)
    kind = models.CharField(_("tipo"), max_length=10, choices=Kind.choices)
    active = models.BooleanField(_("ativo"), default=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("motivo de intervenção de SLA")
        verbose_name_plural = _("motivos de intervenção de SLA")
        constraints = [models.UniqueConstraint(fields=["kind", "name"], name="sla_reason_unique_name")]

    def __str__(self) -> str:
        return self.name


class SlaIntervention(models.Model):
    class Kind(models.TextChoices):
        INCREMENT = "increment", _("Incremento")
        PAUSE = "pause", _("Pausa")
        RESUME = "resume", _("Retomada")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_interventions")
    kind = models.CharField(_("tipo"), max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("operador"))
    created_at = models.DateTimeField(_("data e hora"), default=timezone.now)
    reason = models.ForeignKey(SlaReason, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("motivo"))
    notes = models.TextField(_("observações"), blank=True)
    unit = models.CharField(_("tipo de incremento"), max_length=5, choices=TimeUnit.choices, blank=True)
    quantity = models.DecimalField(_("quantidade"), max_digits=7, decimal_places=2, null=True, blank=True)
    due_before = models.DateTimeField(_("prazo anterior"), null=True, blank=True)
    due_after = models.DateTimeField(_("novo prazo"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("intervenção de SLA")
        verbose_name_plural = _("intervenções de SLA")
        indexes = [models.Index(fields=["ticket", "-created_at"], name="sla_intervention_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.ticket_id}"
