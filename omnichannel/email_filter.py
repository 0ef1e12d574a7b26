"""Filtro de e-mail (manual 003): new e-mails of a queue whose ``email_filter`` is on wait in
status ``in_filter`` until a supervisor of the queue's team accepts them into a queue or
deletes them.

Accepting tells the sender their protocol (the same automatic message a new conversation
gets) and queues the conversation: in its own queue, or in another e-mail queue the
supervisor chooses ("escolha por serviço"). Deleting keeps the data: the conversation is
closed as Cancelado with a note, so its e-mail stays in the history and a later reply from
the same sender opens a new conversation (threading never joins a closed one).

Both take many conversations at once and are all-or-nothing: one that another supervisor
already handled, or one of a queue the actor does not supervise, changes nothing.
"""

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.utils import timezone
from django.utils.translation import gettext as _

from omnichannel import services
from omnichannel.models import (
    Channel,
    Conversation,
    ConversationEventKind,
    ConversationStatus,
    Message,
    MessageAttachment,
    MessageKind,
    Queue,
)
from tickets.roles import is_admin, is_supervisor
from tickets.selectors import supervised_team_ids
from tickets.services import supervises

MAX_BATCH = 200


# --- reads -------------------------------------------------------------------------------------


def may_use_filter(user: AbstractBaseUser) -> bool:
    return is_supervisor(user)


def _scope(user: AbstractBaseUser, queryset: QuerySet) -> QuerySet:
    if is_admin(user):
        return queryset
    if not is_supervisor(user):
        return queryset.none()
    return queryset.filter(queue__team_id__in=supervised_team_ids(user))


def pending_filter(user: AbstractBaseUser, *, queue: Queue | None = None) -> QuerySet:
    """The e-mails waiting in the filter that ``user`` may handle, oldest first, with the
    subject and sender of their first e-mail and their number of attachments."""
    first = Message.objects.filter(conversation=OuterRef("pk"), kind=MessageKind.CUSTOMER).order_by("created_at", "id")
    files = (
        MessageAttachment.objects.filter(message__conversation=OuterRef("pk"))
        .order_by()
        .values("message__conversation")
        .annotate(n=Count("id"))
        .values("n")
    )
    rows = _scope(user, Conversation.objects.filter(status=ConversationStatus.IN_FILTER))
    if queue is not None:
        rows = rows.filter(queue=queue)
    return (
        rows.select_related("queue")
        .annotate(
            subject=Subquery(first.annotate(s=KT("data__subject")).values("s")[:1]),
            sender=Subquery(first.annotate(s=KT("data__from")).values("s")[:1]),
            files=Subquery(files[:1]),
        )
        .order_by("created_at", "id")
    )


def visible_conversation(user: AbstractBaseUser, pk: int) -> Conversation | None:
    """One e-mail conversation of a queue ``user`` supervises (any status), or None."""
    return _scope(user, Conversation.objects.filter(pk=pk, queue__isnull=False)).select_related("queue").first()


def pending_count(user: AbstractBaseUser) -> int:
    """The side menu's badge: one COUNT over the status index."""
    return _scope(user, Conversation.objects.filter(status=ConversationStatus.IN_FILTER)).count()


def target_queues(user: AbstractBaseUser) -> QuerySet:
    """E-mail queues the user may accept e-mails into (the "per-service" choice)."""
    queues = Queue.objects.filter(channel=Channel.EMAIL, active=True).order_by("name")
    if is_admin(user):
        return queues
    return queues.filter(team_id__in=supervised_team_ids(user)) if is_supervisor(user) else queues.none()


# --- operations --------------------------------------------------------------------------------


def _ids(conversation_ids: Sequence) -> list[int]:
    ids = []
    for value in conversation_ids or ():
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            raise ValidationError({"ids": _("Seleção inválida.")}) from None
    ids = sorted(set(ids))
    if not ids:
        raise ValidationError({"ids": _("Selecione ao menos um e-mail.")})
    if len(ids) > MAX_BATCH:
        raise ValidationError({"ids": _("Selecione no máximo %(n)s e-mails de cada vez.") % {"n": MAX_BATCH}})
    return ids


def _lock_pending(actor: AbstractBaseUser, ids: list[int]) -> list[Conversation]:
    rows = list(
        Conversation.objects.select_for_update(of=("self",)).select_related("queue").filter(pk__in=ids).order_by("pk")
    )
    if len(rows) != len(ids):
        raise ValidationError({"ids": _("Um dos e-mails selecionados não existe mais.")})
    for row in rows:
        if row.queue_id is None or not supervises(actor, row.queue.team_id):
            raise PermissionDenied(_("Só um supervisor da equipe da fila pode tratar este e-mail."))
        if row.status != ConversationStatus.IN_FILTER:
            raise ValidationError(
                {"ids": _("O e-mail %(protocol)s já foi tratado (%(status)s). Atualize a lista.")
                 % {"protocol": row.protocol, "status": row.get_status_display()}}
            )
    return rows


def filter_accept(
    *, actor: AbstractBaseUser, conversation_ids: Sequence, queue: Queue | None = None
) -> list[Conversation]:
    """Aceitar: each e-mail gets its protocol message and enters its queue (or ``queue``)."""
    ids = _ids(conversation_ids)
    if queue is not None:
        if queue.channel != Channel.EMAIL:
            raise ValidationError({"queue": _("Escolha uma fila de e-mail.")})
        if not queue.active:
            raise ValidationError({"queue": _("Fila inativa.")})
        if not supervises(actor, queue.team_id):
            raise PermissionDenied(_("Só um supervisor da equipe da fila pode enviar e-mails para ela."))
    now = timezone.now()
    with transaction.atomic():
        rows = _lock_pending(actor, ids)
        for row in rows:
            target = queue or row.queue
            if not target.active:
                raise ValidationError({"queue": _("A fila %(queue)s está inativa: escolha outra.") % {"queue": target.name}})
            services._event(
                row,
                ConversationEventKind.FILTER_ACCEPTED,
                now,
                actor=actor,
                data={"queue_id": target.pk, "from_queue_id": row.queue_id},
            )
            services.send_protocol_message(row, now)
            row.save(update_fields=services.MESSAGE_FIELDS)
            services._enqueue(row, target, now, actor=actor)
    return rows


def filter_delete(*, actor: AbstractBaseUser, conversation_ids: Sequence) -> list[Conversation]:
    """Excluir: closed as Cancelado (kept in the history), nothing sent to the sender."""
    ids = _ids(conversation_ids)
    now = timezone.now()
    with transaction.atomic():
        rows = _lock_pending(actor, ids)
        for row in rows:
            services._close(
                row, ConversationStatus.CANCELLED, now, actor=actor, notes=_("Excluído no filtro de e-mail.")
            )
    return rows
