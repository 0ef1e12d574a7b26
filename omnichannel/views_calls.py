"""The supervisor's "Ligações" list and the permission-checked playback of a call's recording."""

import re
from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from omnichannel import voice
from omnichannel.models import CallDirection, CallOutcome, CallRecord, CallType, Channel, Queue
from tickets.roles import is_admin, is_supervisor
from tickets.selectors import supervised_team_ids

User = get_user_model()
PER_PAGE = 50
DEFAULT_DAYS = 7
LIVE = "live"


def _voice_queues(user: AbstractBaseUser) -> QuerySet[Queue]:
    qs = Queue.objects.filter(channel=Channel.VOICE)
    return qs if is_admin(user) else qs.filter(team_id__in=supervised_team_ids(user))


def _agents(user: AbstractBaseUser) -> QuerySet:
    qs = User.objects.filter(is_active=True)
    if not is_admin(user):
        qs = qs.filter(teams__in=supervised_team_ids(user))
    return qs.distinct().order_by("first_name", "last_name", "username")


class AgentChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


class AgentFilter(django_filters.ModelChoiceFilter):
    field_class = AgentChoice


class CallFilter(django_filters.FilterSet):
    start = django_filters.DateFilter(
        label=gettext_lazy("De"), method="filter_start", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = django_filters.DateFilter(
        label=gettext_lazy("Até"), method="filter_end", widget=forms.DateInput(attrs={"type": "date"})
    )
    direction = django_filters.ChoiceFilter(label=gettext_lazy("Sentido"), choices=CallDirection.choices)
    call_type = django_filters.ChoiceFilter(label=gettext_lazy("Tipo"), choices=CallType.choices)
    outcome = django_filters.ChoiceFilter(
        label=gettext_lazy("Resultado"),
        choices=[*CallOutcome.choices, (LIVE, gettext_lazy("Em andamento"))],
        method="filter_outcome",
    )
    queue = django_filters.ModelChoiceFilter(label=gettext_lazy("Fila"), queryset=Queue.objects.none())
    agent = AgentFilter(label=gettext_lazy("Agente"), queryset=User.objects.none())

    class Meta:
        model = CallRecord
        fields: list[str] = []

    def __init__(self, *args, user: AbstractBaseUser, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.filters["queue"].queryset = _voice_queues(user)
        self.filters["agent"].queryset = _agents(user)
        for field in self.form.fields.values():
            field.widget.attrs.setdefault("class", "form-select form-select-sm" if isinstance(field.widget, forms.Select) else "form-control form-control-sm")

    def filter_start(self, qs: QuerySet, name: str, value: date) -> QuerySet:
        return qs.filter(ringing_at__gte=timezone.make_aware(datetime.combine(value, time.min)))

    def filter_end(self, qs: QuerySet, name: str, value: date) -> QuerySet:
        return qs.filter(ringing_at__lt=timezone.make_aware(datetime.combine(value + timedelta(days=1), time.min)))

    def filter_outcome(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(outcome="") if value == LIVE else qs.filter(outcome=value)

    def period(self) -> tuple[datetime, datetime]:
        data = self.form.cleaned_data if self.form.is_valid() else {}
        start, end = data.get("start"), data.get("end")
        return (
            timezone.make_aware(datetime.combine(start, time.min)),
            timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min)),
        )


def _with_default_period(params) -> dict:
    data = params.copy()
    today = timezone.localdate()
    if not data.get("start"):
        data["start"] = (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    if not data.get("end"):
        data["end"] = today.isoformat()
    return data


@require_GET
def call_list(request: HttpRequest) -> HttpResponse:
    """Ligações: every call of the supervised teams' voice queues, with filters and the player."""
    user = request.user
    if not is_supervisor(user):
        raise PermissionDenied(_("Só supervisores veem a lista de ligações."))
    visible = voice.visible_calls(user)
    filterset = CallFilter(_with_default_period(request.GET), queryset=voice.call_list(visible), user=user)
    if not filterset.is_valid():
        return render(request, "omnichannel/calls.html", {"filter": filterset, "page": None}, status=400)
    page = Paginator(filterset.qs, PER_PAGE).get_page(request.GET.get("page"))
    start, end = filterset.period()
    scope = visible
    for field in ("queue", "agent"):
        value = filterset.form.cleaned_data.get(field)
        if value is not None:
            scope = scope.filter(**{field: value})
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "omnichannel/calls.html",
        {
            "filter": filterset,
            "page": page,
            "calls": list(page.object_list),
            "received": voice.received_calls(start=start, end=end, queryset=scope).count(),
            "received_by_agent": voice.received_calls_by(start=start, end=end, queryset=scope)[:10],
            "query": query.urlencode(),
        },
    )


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


# A range answer carries at most this much; the player asks for the rest as it needs it.
MAX_RANGE_BYTES = 2 * 1024 * 1024


@require_GET
def call_recording(request: HttpRequest, pk: int) -> HttpResponse:
    """The call's recording, inline for the player, to whoever may see its conversation.

    A single ``Range: bytes=a-b`` is answered with 206 (at most ``MAX_RANGE_BYTES`` at a
    time, as media players expect), so the player can seek; other requests get the whole file.
    """
    call = voice.access_call(request.user, pk)
    if not call.recording:
        raise Http404
    try:
        handle = call.recording.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    size = call.recording.size
    content_type = call.recording_type or "application/octet-stream"
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if match and (match[1] or match[2]):
        if match[1]:
            start = int(match[1])
            end = min(int(match[2]), size - 1) if match[2] else size - 1
        else:
            start, end = max(size - int(match[2]), 0), size - 1
        if start >= size or end < start:
            handle.close()
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        end = min(end, start + MAX_RANGE_BYTES - 1)
        with handle:
            handle.seek(start)
            content = handle.read(end - start + 1)
        response = HttpResponse(content, status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    else:
        response = FileResponse(handle, content_type=content_type)
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = f'inline; filename="ligacao-{call.pk}{_extension(call.recording.name)}"'
    return response


def _extension(name: str) -> str:
    ext = name.rpartition(".")[2] if "." in name else ""
    return f".{ext}" if ext.isalnum() and len(ext) <= 5 else ""
