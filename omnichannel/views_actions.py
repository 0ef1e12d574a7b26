"""More actions of the workspace: conversation tags ("Etiquetas"), a supervisor ending an
agent's wrap-up ("Concluir pós-atendimento" on their behalf) and forcing an agent's state
(the "Agentes" card: Online, Ausente with a pause reason, Offline).

Same shape as ``omnichannel.views``: parse the form, check access, call the
operation, render the partial that changed; a refusal answers 400/403 with the
form and its pt-BR message, nothing changed.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from omnichannel import services, tagging
from omnichannel.forms import PresenceForm
from omnichannel.forms import apply_service_errors as _apply_errors
from omnichannel.models import Conversation, Tag
from omnichannel.views_live import (
    WORKSPACE,
    access_conversation,
    agents_context,
    list_context,
    pane_context,
    presence_context,
)

User = get_user_model()


class TagsForm(forms.Form):
    """The conversation's tags: the active ones, plus inactive ones it already has (kept or removed)."""

    tags = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Etiquetas"),
        queryset=Tag.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args: Any, conversation: Conversation, current: list[Tag] | None = None, **kwargs: Any) -> None:
        if current is None:
            current = list(conversation.tags.all())
        kwargs.setdefault("initial", {"tags": [t.pk for t in current]})
        super().__init__(*args, **kwargs)
        self.fields["tags"].queryset = Tag.objects.filter(Q(active=True) | Q(pk__in=[t.pk for t in current])).order_by("name")


def tags_context(user: AbstractBaseUser, conversation: Conversation) -> dict[str, Any]:
    """What the pane header needs for the tags (called by ``views_live.pane_context``)."""
    tags = list(conversation.tags.all())
    can_tag = tagging.may_tag(user, conversation)
    return {
        "tags": tags,
        "can_tag": can_tag,
        "tags_form": TagsForm(conversation=conversation, current=tags) if can_tag else None,
    }


def _sidebar_oob(request: HttpRequest, active_id: int | None) -> str:
    html = render_to_string(f"{WORKSPACE}#sidebar", list_context(request.user, active_id), request=request).strip()
    return html.replace(">", ' hx-swap-oob="outerHTML">', 1)


@require_POST
def conversation_tags(request: HttpRequest, pk: int) -> HttpResponse:
    """Etiquetas: replace the conversation's tags; answers the re-rendered pane header."""
    conversation = access_conversation(request.user, pk)
    form = TagsForm(request.POST, conversation=conversation)
    status = 400
    if form.is_valid():
        try:
            tagging.conversation_set_tags(actor=request.user, conversation=conversation, tags=form.cleaned_data["tags"])
        except (ValidationError, PermissionDenied) as exc:
            _apply_errors(form, exc)
            status = 403 if isinstance(exc, PermissionDenied) else 400
        else:
            if not request.htmx:
                return redirect("omnichannel:conversation", pk=conversation.pk)
            conversation = access_conversation(request.user, pk)
            context = {"pane": pane_context(request.user, conversation)}
            html = render_to_string(f"{WORKSPACE}#pane_head", context, request=request)
            html += _sidebar_oob(request, conversation.pk)
            return reswap(retarget(HttpResponse(html), "#omni-pane-head"), "outerHTML")
    context = {"pane": {**pane_context(request.user, conversation), "tags_form": form}}
    return render(request, f"{WORKSPACE}#tags_block", context, status=status)


@require_POST
def agent_wrap_up_finish(request: HttpRequest, agent_id: int) -> HttpResponse:
    """A supervisor ends an agent's wrap-up ahead of time (the operation checks the team)."""
    agent = User.objects.filter(pk=agent_id, is_active=True).first()
    if agent is None:
        raise Http404
    error = ""
    status = 200
    try:
        services.agent_wrap_up_finish(actor=request.user, agent=agent)
    except PermissionDenied as exc:
        error, status = str(exc), 403
    except ValidationError as exc:
        error, status = " ".join(exc.messages), 400
    if not request.htmx:
        if status == 403:
            raise PermissionDenied(error)
        return redirect("omnichannel:workspace")
    try:
        active_id = int(request.POST.get("active") or 0) or None
    except ValueError:
        active_id = None
    context = {**list_context(request.user, active_id), **presence_context(request.user), "wrap_up_error": error}
    html = render_to_string(f"{WORKSPACE}#sidebar", context, request=request)
    return reswap(retarget(HttpResponse(html, status=status), "#omni-sidebar"), "outerHTML")


@require_POST
def agent_force_state(request: HttpRequest, agent_id: int) -> HttpResponse:
    """A supervisor sets an agent's state ("Agentes" card); the operation checks that the
    supervisor supervises a team of the agent and records the change as forced by them."""
    agent = User.objects.filter(pk=agent_id, is_active=True).first()
    if agent is None:
        raise Http404
    form = PresenceForm(request.POST)
    error = ""
    status = 200
    if form.is_valid():
        try:
            services.agent_set_state(
                actor=request.user,
                agent=agent,
                state=form.cleaned_data["state"],
                pause_reason=form.cleaned_data["pause_reason"],
            )
        except PermissionDenied as exc:
            error, status = str(exc) or _("Você não tem permissão para esta ação."), 403
        except ValidationError as exc:
            error, status = " ".join(exc.messages), 400
    else:
        error, status = " ".join(e for errors in form.errors.values() for e in errors), 400
    if not request.htmx:
        if status == 403:
            raise PermissionDenied(error)
        if error:  # without htmx (no JavaScript): the page again, with the refusal on top
            messages.error(request, error)
        return redirect("omnichannel:workspace")
    context = agents_context(request.user, error=(agent.pk, error) if error else None)
    html = render_to_string(f"{WORKSPACE}#agents", context, request=request)
    return reswap(retarget(HttpResponse(html, status=status), "#omni-agents"), "outerHTML")
