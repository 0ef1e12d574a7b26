"""Aba "Busca" (manual 001, "Buscar Atendimento").

* "Informações sintéticas (últimos 180 dias)": a pivot of the visible tickets
  opened in a period inside the last 180 calendar days, narrowed by the
  manual's criteria (operador de resgate, operador de abertura, cidade,
  origem do contato); nothing is shown until the user applies the search.
* "Pesquisa avançada": every visible ticket, finalized or not, listed only
  after a search ("modo pesquisa"). The manual's criteria map to the grid's
  filters, shown as a form above the grid: período (Abertura de/até),
  protocolo, código, cliente, operador (Resgate), operador de abertura,
  cidade, endereço (logradouro), condomínio, origem and "finalizadas no
  período" (Fechamento de/até).
"""

from datetime import date, datetime, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, Q, QuerySet, Value, When
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from dashboards.grids import pivot as pv
from dashboards.grids.counting import visible
from dashboards.grids.filtering import local_day_start
from dashboards.grids.grid import GridView
from dashboards.grids.registry import TOOL_EXPORT, register
from dashboards.panels import columns as c
from dashboards.panels.common import SEARCH
from tickets.models import Origin, Team
from tickets.roles import is_admin
from tickets.selectors import supervised_team_ids, user_team_ids

SYNTHETIC_DAYS = 180


def every_ticket(user: AbstractBaseUser, now: datetime) -> QuerySet:
    """Pesquisa avançada: every visible ticket; the search narrows it."""
    return visible(user)


# --- Informações sintéticas -------------------------------------------------------------------------


def operators_for(user: AbstractBaseUser) -> QuerySet:
    """The operators offered in the search: everyone for an admin, else the people of the user's teams."""
    users = get_user_model().objects.filter(is_active=True)
    if not is_admin(user):
        teams = set(user_team_ids(user)) | set(supervised_team_ids(user))
        users = users.filter(
            Q(pk=user.pk)
            | Q(pk__in=Team.members.through.objects.filter(team_id__in=teams).values("user_id"))
            | Q(pk__in=Team.supervisors.through.objects.filter(team_id__in=teams).values("user_id"))
        )
    return users.order_by("first_name", "last_name", "username")


class OperatorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return c.user_name(obj)


def _date_input() -> forms.DateInput:
    return forms.DateInput(format="%Y-%m-%d", attrs={"type": "date", "class": "form-control form-control-sm"})


class SyntheticSearchForm(forms.Form):
    """The criteria of "Informações sintéticas": a period in the last 180 days and, optionally, the others."""

    period_from = forms.DateField(label=_("Período de"), widget=_date_input())
    period_to = forms.DateField(label=_("Período até"), widget=_date_input())
    assignee = OperatorChoiceField(
        label=_("Operador de resgate"), queryset=None, required=False, empty_label=_("Todos"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    opened_by = OperatorChoiceField(
        label=_("Operador de abertura"), queryset=None, required=False, empty_label=_("Todos"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    city = forms.CharField(
        label=_("Cidade"), required=False, max_length=100,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm", "autocomplete": "off"}),
    )
    origin = forms.ChoiceField(
        label=_("Origem do contato"), required=False, choices=[("", _("Todas")), *Origin.choices],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )

    def __init__(self, *args, user: AbstractBaseUser, today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        operators = operators_for(user)
        self.fields["assignee"].queryset = operators
        self.fields["opened_by"].queryset = operators

    @property
    def first_day(self) -> date:
        return self.today - timedelta(days=SYNTHETIC_DAYS - 1)

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("period_from"), data.get("period_to")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("A data inicial do período deve ser anterior à final."))
            if start < self.first_day:
                raise forms.ValidationError(
                    _g("O período deve estar nos últimos %(days)s dias (desde %(first)s).")
                    % {"days": SYNTHETIC_DAYS, "first": date_format(self.first_day, "d/m/Y")}
                )
            if end > self.today:
                raise forms.ValidationError(_("O período não pode terminar depois de hoje."))
        return data


def synthetic_tickets(user: AbstractBaseUser, data: dict) -> QuerySet:
    """Informações sintéticas: visible tickets opened in the local days ``period_from``..``period_to``
    (both inclusive), finalized or not, narrowed by the optional criteria."""
    qs = visible(user).filter(
        opened_at__gte=local_day_start(data["period_from"]),
        opened_at__lt=local_day_start(data["period_to"] + timedelta(days=1)),
    )
    if data.get("assignee"):
        qs = qs.filter(assignee=data["assignee"])
    if data.get("opened_by"):
        qs = qs.filter(opened_by=data["opened_by"])
    if data.get("city"):
        qs = qs.filter(city__icontains=data["city"].strip())
    if data.get("origin"):
        qs = qs.filter(origin=data["origin"])
    return qs


def synthetic_base(request: HttpRequest, now: datetime):
    today = timezone.localdate(now)
    initial = {"period_from": today - timedelta(days=SYNTHETIC_DAYS - 1), "period_to": today}
    if request.GET.get("applied") != "1":
        return None, SyntheticSearchForm(initial=initial, user=request.user, today=today)
    form = SyntheticSearchForm(request.GET, user=request.user, today=today)
    if not form.is_valid():
        return None, form
    return synthetic_tickets(request.user, form.cleaned_data), form


STATUS_CHOICES = (("open", _("Aberto")), ("closed", _("Finalizado")))

SYNTHETIC_DIMENSIONS = [
    pv.operator(label=_("Operador de resgate")),
    pv.operator("opened_by", "opened_by", _("Operador de abertura"), empty=_("Sem operador")),
    pv.named("process", _("Processo"), "process", _("Sem processo")),
    pv.named("subprocess", _("Subprocesso"), "current_subprocess", _("Sem subprocesso")),
    pv.choice("origin", _("Origem do contato"), "origin", Origin.choices),
    pv.text("city", _("Cidade"), "city", _("Sem cidade")),
    pv.named("company", _("Empresa"), "company", _("Sem empresa")),
    pv.named("classification", _("Classificação de abertura"), "opening_classification", _("Sem classificação")),
    pv.day(label=_("Dia de abertura")),
    pv.Dimension(
        key="status", label=_("Situação"),
        key_expr=Case(When(closed_at__isnull=True, then=Value("open")), default=Value("closed")),
        display=pv.choice_display(STATUS_CHOICES),
    ),
]

register(
    pv.PivotView(
        slug="synthetic", tab=SEARCH.slug, title=_("Informações sintéticas (últimos 180 dias)"), order=10,
        dimensions=SYNTHETIC_DIMENSIONS, base=synthetic_base,
        default=pv.PivotConfig(rows=["day"], cols=["origin"], measure="count", chart="stacked"),
    )
)

register(
    GridView(
        slug="advanced", tab=SEARCH.slug, title=_("Pesquisa avançada"), order=20, tools=(TOOL_EXPORT,),
        search_mode=True,
        extra={
            "filters_above": True,
            # The manual's names for the criteria the two date columns stand for.
            "filter_labels": {
                "opened_at": _("Período (abertura)"),
                "closed_at": _("Finalizadas no período (fechamento)"),
                "customer": _("Cliente"),
                "assignee": _("Operador"),
                "street": _("Endereço (logradouro)"),
            },
        },
        columns=[
            c.code(),
            c.customer(label=_("Cliente")),
            c.protocol(),
            c.opened_at(),
            c.closed_at(nullable=True),
            c.assignee(label=_("Operador")),
            c.opened_by(),
            c.process(),
            c.subprocess(),
            c.city(),
            c.neighbourhood(),
            c.street(),
            c.condominium(),
            c.origin(),
            c.sla(),
        ],
        rule=every_ticket, default_sort="-opened_at", count_by_branch=True,
    )
)
