"""Reads of the agent's screens and their live fragments, rendered per viewer.

The workspace views and the agent's websocket consumer (``omnichannel.consumers``)
both call these: a fragment pushed over the socket is the same partial the page
renders, under the same permission rule (``access_conversation``), so a viewer
never receives what reloading the page would not show them.
"""

import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, Q, QuerySet
from django.http import Http404, HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from omnichannel import services
from omnichannel.models import (
    AgentPresence,
    AgentQueue,
    AgentState,
    Conversation,
    ConversationStatus,
    Message,
    MessageKind,
    PauseReason,
    Tag,
)
from tickets.roles import is_admin, is_supervisor
from tickets.selectors import supervised_team_ids, visible_tickets
from tickets.services import supervises

WORKSPACE = "omnichannel/workspace.html"
PRESENCE = "omnichannel/_presence.html"
MESSAGES_SHOWN = 200  # the pane shows the latest messages; older ones are in the history screens
PREVIOUS_SHOWN = 8


# --- who may use what ---------------------------------------------------------------------------


def is_omni_agent(user: AbstractBaseUser) -> bool:
    """An omnichannel agent: assigned to at least one active queue."""
    cache = getattr(user, "_omni_agent", None)
    if cache is None:
        cache = user.is_authenticated and AgentQueue.objects.filter(agent_id=user.pk, queue__active=True).exists()
        user._omni_agent = cache
    return cache


def can_use_workspace(user: AbstractBaseUser) -> bool:
    return is_supervisor(user) or is_omni_agent(user)


NAV_SESSION_KEY = "omni.agent"
NAV_RECHECK_SECONDS = 600


def remember_nav_on_login(sender: Any, request: HttpRequest, user: AbstractBaseUser, **kwargs: Any) -> None:
    """At sign-in, remember in the session whether the user is an omnichannel agent (see below)."""
    session = getattr(request, "session", None)
    if session is not None:
        session[NAV_SESSION_KEY] = [is_omni_agent(user), int(time.time())]


def nav_is_omni_agent(request: HttpRequest) -> bool:
    """``is_omni_agent`` for the top bar of every page, remembered in the session for a while.

    Every page of the product carries the bar: the answer is taken at sign-in and
    kept in the session (already loaded for authentication), so a page costs no
    query; it is checked again after ``NAV_RECHECK_SECONDS``, and a queue assigned
    meanwhile shows up then or at the next sign-in.
    """
    user = request.user
    if not user.is_authenticated:
        return False
    if getattr(user, "_omni_agent", None) is not None:
        return user._omni_agent
    session = getattr(request, "session", None)
    now = int(time.time())
    if session is not None:
        remembered = session.get(NAV_SESSION_KEY)
        if isinstance(remembered, list) and len(remembered) == 2 and now - int(remembered[1]) < NAV_RECHECK_SECONDS:
            user._omni_agent = bool(remembered[0])
            return user._omni_agent
    value = is_omni_agent(user)
    if session is not None:
        session[NAV_SESSION_KEY] = [value, now]
    return value


def _supervised_q(user: AbstractBaseUser) -> Q | None:
    """Conversations of the queues of the teams ``user`` supervises (``None``: all, an admin)."""
    if is_admin(user):
        return None
    if not is_supervisor(user):
        return Q(pk__in=[])
    return Q(queue__team_id__in=supervised_team_ids(user))


def supervised_queue_ids(user: AbstractBaseUser) -> list[int]:
    """The queues whose waiting line the user watches in the workspace ("Aguardando em fila")."""
    from omnichannel.models import Queue

    q = _supervised_q(user)
    if q is None:
        return list(Queue.objects.filter(active=True).values_list("pk", flat=True))
    if not is_supervisor(user):
        return []
    return list(Queue.objects.filter(active=True, team_id__in=supervised_team_ids(user)).values_list("pk", flat=True))


FULL_RELATED = ("queue", "customer", "agent", "reserved_for", "contact_reason", "ticket")


def access_conversation(user: AbstractBaseUser, conversation_id: Any, *, related: tuple[str, ...] = FULL_RELATED) -> Conversation:
    """The conversation, or ``Http404`` unless the user holds it, has it allocated, or supervises its queue.

    ``related``: what is read with it (the pane shows all of it); the hot paths (a reply, the
    socket's appends) take only the queue, which the rule needs.
    """
    try:
        pk = int(conversation_id)
    except (TypeError, ValueError):
        raise Http404 from None
    conversation = Conversation.objects.select_related(*{"queue", *related}).filter(pk=pk).first()
    if conversation is None:
        raise Http404
    if user.pk in (conversation.agent_id, conversation.reserved_for_id):
        return conversation
    if conversation.queue_id is not None and supervises(user, conversation.queue.team_id):
        return conversation
    raise Http404


def ticket_detail_context(*, request: HttpRequest, ticket: Any, stages: Any) -> dict[str, Any]:
    """The ticket page's links to its conversations (registered in ``tickets.hooks.detail_context``):
    ``conversation_urls`` maps the id of each conversation of the ticket that the viewer may open in
    the workspace (the rule of ``access_conversation``) to its page."""
    user = request.user
    if not can_use_workspace(user):
        return {"conversation_urls": {}}
    rows = Conversation.objects.filter(ticket_id=ticket.pk).values_list("pk", "agent_id", "reserved_for_id", "queue__team_id")
    return {
        "conversation_urls": {
            pk: reverse("omnichannel:conversation", args=[pk])
            for pk, agent_id, reserved_for_id, team_id in rows
            if user.pk in (agent_id, reserved_for_id) or (team_id is not None and supervises(user, team_id))
        }
    }


# --- lists -----------------------------------------------------------------------------------------


def _unread_q() -> Q:
    """Customer messages the holding agent has not seen (read marker older than the assignment: none seen)."""
    return Q(messages__kind=MessageKind.CUSTOMER) & (
        Q(agent_read_at__isnull=True)
        | Q(agent_read_at__lt=F("assigned_at"))
        | Q(messages__created_at__gt=F("agent_read_at"))
    )


LINE_FIELDS = (
    "id",
    "channel",
    "contact_name",
    "protocol",
    "queue__name",
    "assigned_at",
    "agent_read_at",
    "last_customer_message_at",
    "last_agent_message_at",
    "assignment_answered_at",
)


def with_tags(conversations: list[Conversation]) -> list[Conversation]:
    """Each conversation's tags as ``line_tags`` (by name), in one plain query: cheaper than
    ``prefetch_related`` on the socket's hot path (a line is rendered on every message)."""
    if conversations:
        by_id: dict[int, list[Tag]] = {c.pk: [] for c in conversations}
        rows = (
            Conversation.tags.through.objects.filter(conversation_id__in=by_id)
            .order_by("tag__name")
            .values_list("conversation_id", "tag_id", "tag__name", "tag__color")
        )
        for conversation_id, tag_id, name, color in rows:
            by_id[conversation_id].append(Tag(pk=tag_id, name=name, color=color))
        for c in conversations:
            c.line_tags = by_id[c.pk]
    return conversations


def my_conversations(user: AbstractBaseUser) -> QuerySet[Conversation]:
    """The agent's active conversations, oldest assignment first, with their unread counts."""
    return (
        Conversation.objects.filter(agent_id=user.pk, status=ConversationStatus.IN_PROGRESS)
        .select_related("queue")
        # What a line shows (the "item" partial and ``waiting_of``): the socket renders lines on
        # every message, and the GROUP BY of the unread count grows with every column selected.
        .only(*LINE_FIELDS)
        .annotate(unread=Count("messages", filter=_unread_q()))
        .order_by("assigned_at", "id")
    )


def queued_conversations(user: AbstractBaseUser, *, limit: int = 50) -> list[Conversation]:
    """Waiting in the queues the user supervises (or allocated to the user): "Aguardando em fila"."""
    q = _supervised_q(user)
    allowed = Q(reserved_for_id=user.pk) if q is None else (q | Q(reserved_for_id=user.pk))
    qs = Conversation.objects.filter(status=ConversationStatus.QUEUED)
    if q is not None:
        qs = qs.filter(allowed)
    return with_tags(list(qs.select_related("queue", "reserved_for").order_by("waiting_since", "id")[:limit]))


def agents_in_wrap_up(user: AbstractBaseUser) -> list[AgentPresence]:
    """Agents of the teams the user supervises now in wrap-up (a supervisor may end it for them)."""
    qs = AgentPresence.objects.filter(wrap_up_until__gt=timezone.now())
    if not is_admin(user):
        qs = qs.filter(agent__teams__id__in=supervised_team_ids(user))
    return list(qs.select_related("agent").order_by("wrap_up_until", "pk").distinct()[:50])


AGENTS_SHOWN = 100


@dataclass
class AgentRow:
    """One line of the supervisor's "Agentes" card: who, in which state, since when."""

    agent: AbstractBaseUser
    state: str
    pause_reason: PauseReason | None
    since: datetime | None  # "Tempo no estado"; none while Offline
    wrap_up_until: datetime | None


def supervised_agents(user: AbstractBaseUser) -> list[AgentRow]:
    """The omnichannel agents (assigned to an active queue) of the teams ``user`` supervises (an
    admin: all), Online first, then Ausente, then Offline, each by name; one query."""
    if not is_supervisor(user):
        return []
    from django.contrib.auth import get_user_model
    from django.db.models import Case, IntegerField, Value, When

    from tickets.models import Team

    qs = get_user_model().objects.filter(
        is_active=True, pk__in=AgentQueue.objects.filter(queue__active=True).values("agent_id")
    ).exclude(pk=user.pk)
    if not is_admin(user):
        members = Team.members.through.objects.filter(team_id__in=supervised_team_ids(user))
        qs = qs.filter(pk__in=members.values("user_id"))
    rank = Case(
        When(omni_presence__state=AgentState.ONLINE, then=Value(0)),
        When(omni_presence__state=AgentState.AWAY, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    users = (
        qs.select_related("omni_presence__pause_reason")
        .annotate(state_rank=rank)
        .order_by("state_rank", "first_name", "last_name", "username")[:AGENTS_SHOWN]
    )
    now = timezone.now()
    rows = []
    for agent in users:
        presence = getattr(agent, "omni_presence", None)
        state = presence.state if presence is not None else AgentState.OFFLINE
        rows.append(
            AgentRow(
                agent=agent,
                state=state,
                pause_reason=presence.pause_reason if presence is not None else None,
                since=presence.since if presence is not None and state != AgentState.OFFLINE else None,
                wrap_up_until=presence.wrap_up_until
                if presence is not None and presence.wrap_up_until and presence.wrap_up_until > now
                else None,
            )
        )
    return rows


def agents_context(user: AbstractBaseUser, *, error: tuple[int, str] | None = None) -> dict[str, Any]:
    """The supervisor's "Agentes" card; ``error``: (agent id, message) of a refused change, shown
    on that agent's line, or on top of the card when the agent is not listed."""
    agents = supervised_agents(user)
    listed = error is not None and any(row.agent.pk == error[0] for row in agents)
    return {
        "team_agents": agents,
        "agent_pause_reasons": list(PauseReason.objects.filter(active=True)) if agents else [],
        "agent_error": error if listed else None,
        "agents_error": error[1] if error is not None and not listed else "",
    }


@dataclass
class Waiting:
    """Who owes the next message and since when (the list's waiting clock)."""

    on_agent: bool
    since: datetime | None


def waiting_of(conversation: Conversation) -> Waiting:
    customer, agent = conversation.last_customer_message_at, conversation.last_agent_message_at
    if agent is None or (customer is not None and customer > agent) or conversation.assignment_answered_at is None:
        since = max(filter(None, (customer, conversation.assigned_at)), default=None)
        return Waiting(on_agent=True, since=since)
    return Waiting(on_agent=False, since=agent)


def list_context(user: AbstractBaseUser, active_id: int | None) -> dict[str, Any]:
    conversations = with_tags(list(my_conversations(user)))
    for c in conversations:
        c.waiting = waiting_of(c)
    supervisor = is_supervisor(user)
    return {
        "conversations": conversations,
        "active_id": active_id,
        "is_supervisor": supervisor,
        "queued": queued_conversations(user) if supervisor else [],
        "wrap_ups": agents_in_wrap_up(user) if supervisor else [],
    }


# --- the pane ----------------------------------------------------------------------------------


def _message_rows(conversation_id: int) -> QuerySet[Message]:
    """A conversation's messages with what the message partial shows (author, files)."""
    return Message.objects.filter(conversation_id=conversation_id).select_related("author").prefetch_related("attachments")


def pane_messages(conversation: Conversation, *, after_id: int = 0) -> list[Message]:
    qs = _message_rows(conversation.pk)
    if after_id:
        return list(qs.filter(id__gt=after_id).order_by("created_at", "id")[:MESSAGES_SHOWN])
    return list(reversed(qs.order_by("-created_at", "-id")[:MESSAGES_SHOWN]))


def customer_context(user: AbstractBaseUser, conversation: Conversation) -> dict[str, Any]:
    """The customer's panel: who, how to reach them, their open tickets and previous conversations."""
    customer = conversation.customer
    tickets: list = []
    previous = Conversation.objects.exclude(pk=conversation.pk)
    if customer is not None:
        tickets = list(
            visible_tickets(user)
            .filter(customer_id=customer.pk, closed_at__isnull=True)
            .select_related("current_subprocess", "team")
            .order_by("-opened_at")[:10]
        )
        previous = previous.filter(customer_id=customer.pk)
    elif conversation.contact_email or conversation.contact_phone:
        by = Q()
        if conversation.contact_email:
            by |= Q(contact_email__iexact=conversation.contact_email)
        if conversation.contact_phone:
            by |= Q(contact_phone=conversation.contact_phone)
        previous = previous.filter(by)
    else:
        previous = previous.none()
    return {
        "customer": customer,
        "open_tickets": tickets,
        "previous": list(previous.select_related("queue", "agent", "contact_reason").order_by("-created_at")[:PREVIOUS_SHOWN]),
    }


def composer_context(user: AbstractBaseUser, conversation: Conversation) -> dict[str, Any]:
    """What the composer alone shows (after a reply: not the whole pane's queries)."""
    from omnichannel import forms

    holder = conversation.agent_id == user.pk
    in_progress = conversation.status == ConversationStatus.IN_PROGRESS
    supervisor = conversation.queue_id is not None and supervises(user, conversation.queue.team_id)
    return {
        "conversation": conversation,
        "can_reply": in_progress and holder,
        "can_note": conversation.is_open and (holder or supervisor),
        "window_closed": in_progress and holder and not services.within_service_window(conversation),
        "message_form": forms.MessageForm(),
    }


def pane_context(user: AbstractBaseUser, conversation: Conversation) -> dict[str, Any]:
    """Everything the conversation pane shows to ``user`` (already allowed by ``access_conversation``)."""
    from omnichannel import forms
    from omnichannel.views_actions import tags_context

    holder = conversation.agent_id == user.pk
    queue = conversation.queue
    supervisor = queue is not None and supervises(user, queue.team_id)
    in_progress = conversation.status == ConversationStatus.IN_PROGRESS
    queued = conversation.status == ConversationStatus.QUEUED
    can_handle = conversation.is_open and (holder or supervisor)
    messages = pane_messages(conversation)
    return {
        "conversation": conversation,
        "messages": messages,
        "last_message_id": messages[-1].pk if messages else 0,
        "is_holder": holder,
        "is_queue_supervisor": supervisor,
        "can_reply": in_progress and holder,
        "can_note": can_handle,
        "can_finish": in_progress and can_handle,
        "can_cancel": can_handle,
        "can_transfer": can_handle and (in_progress or queued),
        "can_return": can_handle and (in_progress or (queued and conversation.reserved_for_id is not None)),
        "can_allocate": queued and supervisor,
        "finish_form": forms.FinishForm(conversation=conversation) if in_progress and can_handle else None,
        "transfer_form": forms.TransferForm(conversation=conversation) if can_handle else None,
        "allocate_form": forms.AllocateForm(conversation=conversation) if queued and supervisor else None,
        "cancel_form": forms.CancelForm() if can_handle else None,
        "message_form": forms.MessageForm(),
        # WhatsApp's 24-hour window closed: only an approved template may go out.
        "window_closed": in_progress and holder and not services.within_service_window(conversation),
        **tags_context(user, conversation),
        **customer_context(user, conversation),
    }


# --- presence (the top bar) ---------------------------------------------------------------------


def presence_context(user: AbstractBaseUser) -> dict[str, Any]:
    presence = AgentPresence.objects.filter(pk=user.pk).select_related("pause_reason").first()
    now = timezone.now()
    queues = list(
        AgentQueue.objects.filter(agent_id=user.pk, queue__active=True).select_related("queue").order_by("queue__name")
    )
    state = presence.state if presence else AgentState.OFFLINE
    return {
        "presence": presence,
        "omni_state": state,
        "omni_since": presence.since if presence and state != AgentState.OFFLINE else None,
        "omni_wrap_up": bool(presence and presence.wrap_up_until and presence.wrap_up_until > now),
        "omni_queues": queues,
        "omni_logged_count": sum(1 for q in queues if q.logged_in),
        "pause_reasons": list(PauseReason.objects.filter(active=True)),
    }


# --- rendering for the socket ------------------------------------------------------------------------


def viewer_request(user: AbstractBaseUser, csrf_secret: str = "", path: str = "") -> HttpRequest:
    """A request standing for the socket's viewer: forms rendered with it stay valid for the browser's CSRF cookie."""
    request = HttpRequest()
    request.method = "GET"
    request.user = user
    request.path = request.path_info = path or reverse("omnichannel:workspace")
    request.META["SERVER_NAME"], request.META["SERVER_PORT"] = "localhost", "80"
    if csrf_secret:
        request.META["CSRF_COOKIE"] = csrf_secret
    request.htmx = False
    return request


def _oob(html: str) -> str:
    """Mark the fragment's root element as an out-of-band swap of the element with the same id."""
    html = html.strip()
    end = html.find(">")
    if end < 0 or "hx-swap-oob" in html[:end]:
        return html
    return html[:end] + ' hx-swap-oob="outerHTML"' + html[end:]


_CSRF_VALUE = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def without_csrf(html: str) -> str:
    """For comparing two renderings: a fresh CSRF mask is not a change."""
    return _CSRF_VALUE.sub("", html)


def render_presence(user: AbstractBaseUser, csrf_secret: str = "") -> str:
    if not is_omni_agent(user):
        return ""
    request = viewer_request(user, csrf_secret)
    return _oob(render_to_string(f"{PRESENCE}#bar", presence_context(user), request=request))


def render_list(user: AbstractBaseUser, active_id: int | None, csrf_secret: str = "") -> str:
    request = viewer_request(user, csrf_secret)
    return _oob(render_to_string(f"{WORKSPACE}#sidebar", list_context(user, active_id), request=request))


def render_items(user: AbstractBaseUser, conversation_ids: set[int], active_id: int | None) -> str | None:
    """Only these lines of "Minhas conversas" (their messages changed: unread badge, waiting
    clock), one query; ``None`` when one of them is no longer in the list (taken away, ended):
    then the whole list is due. The line needs no request (no form, no CSRF token)."""
    conversations = with_tags(list(my_conversations(user).filter(pk__in=conversation_ids)))
    if len(conversations) != len(conversation_ids):
        return None
    html = []
    for c in conversations:
        c.waiting = waiting_of(c)
        html.append(_oob(render_to_string(f"{WORKSPACE}#item", {"c": c, "active_id": active_id})))
    return "".join(html)


def render_wrap_up(user: AbstractBaseUser, csrf_secret: str = "") -> str:
    request = viewer_request(user, csrf_secret)
    return _oob(render_to_string(f"{WORKSPACE}#wrap_up", presence_context(user), request=request))


def render_agents(user: AbstractBaseUser, csrf_secret: str = "") -> str:
    """The supervisor's "Agentes" card, after an agent's state changed ("" for anyone else)."""
    if not is_supervisor(user):
        return ""
    request = viewer_request(user, csrf_secret)
    return _oob(render_to_string(f"{WORKSPACE}#agents", agents_context(user), request=request))


def render_new_messages(
    user: AbstractBaseUser, conversation_id: int, after_id: int, *, mark_read: bool = False
) -> tuple[str, int, bool]:
    """Messages of the open conversation after ``after_id``, appended to its list; (html, last
    id, whether they were unread and are now marked read: ``mark_read``, the pane shows them)."""
    try:
        conversation = access_conversation(user, conversation_id, related=())
    except Http404:
        return "", after_id, False
    messages = pane_messages(conversation, after_id=after_id)
    if not messages:
        return "", after_id, False
    items = "".join(render_to_string(f"{WORKSPACE}#message", {"message": m}) for m in messages)
    html = f'<div id="omni-messages-{conversation.pk}" hx-swap-oob="beforeend">{items}</div>'
    marked = mark_read and services.conversation_mark_read(actor=user, conversation=conversation)
    return html, messages[-1].pk, marked


def render_message_states(user: AbstractBaseUser, conversation_id: int, message_ids: set[int]) -> str:
    """Messages of the open conversation whose delivery state changed (or whose files arrived),
    swapped in place."""
    try:
        conversation = access_conversation(user, conversation_id, related=())
    except Http404:
        return ""
    messages = _message_rows(conversation.pk).filter(pk__in=message_ids)
    return "".join(_oob(render_to_string(f"{WORKSPACE}#message", {"message": m})) for m in messages)


def send_composer_message(user: AbstractBaseUser, conversation: Conversation, form: Any, files: list | tuple = ()) -> Message:
    """The valid composer form's message: an internal note or a reply to the customer (the
    services' refusals propagate). The POST and the agent's socket both send through here."""
    body = form.cleaned_data["body"]
    if form.cleaned_data["note"]:
        return services.conversation_note(actor=user, conversation=conversation, body=body)
    return services.conversation_reply(actor=user, conversation=conversation, body=body, files=files)


def send_from_socket(user: AbstractBaseUser, conversation_id: Any, body: Any, note: bool, csrf_secret: str = "") -> str:
    """A text reply or internal note typed in the composer and sent over the agent's socket
    (``static/js/omni.js``; files still go by the composer's POST). The same form, access rule
    and service as ``views.conversation_send``: "" once stored (the message reaches the pane
    through its live change, like the customer's), else the composer with the refusal on it
    (or the pane's "gone" card when the conversation is no longer this viewer's)."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from omnichannel import forms

    def gone() -> str:
        return _oob(render_to_string(f"{WORKSPACE}#gone", {"conversation_id": conversation_id}))

    try:
        pk = int(conversation_id)
    except (TypeError, ValueError):
        return gone()
    form = forms.MessageForm({"body": body if isinstance(body, str) else "", "note": "on" if note else ""})
    refused = not form.is_valid()
    if not refused and not form.cleaned_data["note"]:
        # A reply: the service reads the row under its lock and lets only the agent holding it
        # answer, so the access rule is read only when it refuses (one query less per reply).
        try:
            send_composer_message(user, Conversation(pk=pk), form)
            return ""
        except Conversation.DoesNotExist:
            return gone()
        except (ValidationError, PermissionDenied) as exc:
            forms.apply_service_errors(form, exc)
            refused = True
    try:
        conversation = access_conversation(user, pk, related=())
    except Http404:
        return gone()
    if not refused:  # an internal note (a supervisor of the queue may write one too)
        try:
            send_composer_message(user, conversation, form)
            return ""
        except (ValidationError, PermissionDenied) as exc:
            forms.apply_service_errors(form, exc)
    conversation = access_conversation(user, conversation.pk)
    request = viewer_request(user, csrf_secret, reverse("omnichannel:conversation", args=[conversation.pk]))
    context = {"pane": {**pane_context(user, conversation), "message_form": form}}
    return _oob(render_to_string(f"{WORKSPACE}#composer", context, request=request))


def render_pane_state(user: AbstractBaseUser, conversation_id: int, csrf_secret: str = "") -> str:
    """The parts of the open pane a status change alters: header, actions, composer, customer panel."""
    try:
        conversation = access_conversation(user, conversation_id)
    except Http404:
        return _oob(render_to_string(f"{WORKSPACE}#gone", {"conversation_id": conversation_id}))
    request = viewer_request(user, csrf_secret, reverse("omnichannel:conversation", args=[conversation.pk]))
    context = {"pane": pane_context(user, conversation)}
    return "".join(
        _oob(render_to_string(f"{WORKSPACE}#{name}", context, request=request))
        for name in ("pane_head", "composer", "customer")
    )
