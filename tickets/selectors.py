"""Reads of the tickets app, always filtered by what the user may see."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from tickets.models import Attachment, Category, Customer, Team, Ticket, TicketEvent
from tickets.roles import is_admin, is_supervisor


def user_team_ids(user: AbstractBaseUser) -> list[int]:
    """Teams the user works in (as member or supervisor)."""
    cache = getattr(user, "_team_ids", None)
    if cache is None:
        member = set(Team.objects.filter(members=user).values_list("id", flat=True))
        supervised = set(Team.objects.filter(supervisors=user).values_list("id", flat=True))
        cache = (sorted(member), sorted(supervised))
        user._team_ids = cache
    return cache[0]


def supervised_team_ids(user: AbstractBaseUser) -> list[int]:
    user_team_ids(user)
    return user._team_ids[1]


def visibility_q(user: AbstractBaseUser, *, via: str = "") -> Q | None:
    """The filter for tickets ``user`` may see; ``None`` means everything.

    Agent: own tickets (assigned or watched) and the unassigned ones of own
    teams. Supervisor: everything of the teams supervised, plus what an agent
    sees. Admin: everything.

    ``via`` is the path from the model queried to its ticket (``"ticket__"``
    for rows that hold one), so the rule reads the ticket the query joins.
    """
    if is_admin(user):
        return None
    watched = Exists(Ticket.watchers.through.objects.filter(ticket_id=OuterRef(f"{via}pk"), user_id=user.pk))
    q = Q(**{f"{via}assignee_id": user.pk}) | Q(watched)
    teams = user_team_ids(user)
    if teams:
        q |= Q(**{f"{via}assignee__isnull": True, f"{via}team_id__in": teams})
    if is_supervisor(user):
        supervised = supervised_team_ids(user)
        if supervised:
            q |= Q(**{f"{via}team_id__in": supervised})
    return q


def visible_tickets(user: AbstractBaseUser) -> QuerySet[Ticket]:
    qs = Ticket.objects.all()
    q = visibility_q(user)
    return qs if q is None else qs.filter(q)


def ticket_list(user: AbstractBaseUser) -> QuerySet[Ticket]:
    return visible_tickets(user).select_related(
        "customer", "company", "team", "process", "current_subprocess", "assignee", "opening_classification"
    )


def access_ticket(user: AbstractBaseUser, ticket_id: int, *, for_update: bool = False) -> Ticket:
    """The ticket, or ``Http404`` when it does not exist or the user may not see it."""
    qs = visible_tickets(user)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(pk=ticket_id)
    except (Ticket.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def can_see_ticket(user: AbstractBaseUser, ticket: Ticket) -> bool:
    return visible_tickets(user).filter(pk=ticket.pk).exists()


def ticket_detail(user: AbstractBaseUser, ticket_id: int) -> Ticket:
    qs = visible_tickets(user).select_related(
        "customer",
        "company",
        "team",
        "process",
        "current_subprocess",
        "assignee",
        "opened_by",
        "closed_by",
        "category_matrix__category",
        "category_matrix__request_type",
        "category_matrix__catalog_item",
        "opening_classification",
        "closing_classification",
    )
    try:
        return qs.get(pk=ticket_id)
    except (Ticket.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def ticket_events(ticket: Ticket) -> QuerySet[TicketEvent]:
    return ticket.events.select_related("actor").order_by("-created_at", "-id")


def ticket_attachments(ticket: Ticket) -> QuerySet[Attachment]:
    return ticket.attachments.select_related("uploaded_by")


def access_attachment(user: AbstractBaseUser, attachment_id: int) -> Attachment:
    try:
        attachment = Attachment.objects.select_related("ticket").get(pk=attachment_id)
    except (Attachment.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
    if not can_see_ticket(user, attachment.ticket):
        raise Http404
    return attachment


def customer_search(term: str, *, limit: int = 15) -> QuerySet[Customer]:
    """Customers by name (contains) or CPF/CNPJ (prefix, punctuation ignored)."""
    from tickets.documents import normalize_document

    term = (term or "").strip()
    if len(term) < 2:
        return Customer.objects.none()
    doc = normalize_document(term)
    q = Q(name__icontains=term)
    if doc and (doc.isdigit() or len(doc) >= 3):
        q |= Q(document__startswith=doc)
    return Customer.objects.filter(q).order_by("name")[:limit]


def category_children(parent_id: int | None) -> QuerySet[Category]:
    return Category.objects.filter(parent_id=parent_id, active=True).order_by("name")
