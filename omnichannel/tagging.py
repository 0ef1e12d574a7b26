"""Etiquetas ("+Adicionar etiqueta"): tags that organise active and resolved conversations.

``conversation_set_tags`` is the only write: the agent who handled the
conversation or a supervisor of its queue's team replaces its set of tags;
the change is recorded as a ``TAGS_CHANGED`` event (names added and removed)
and published after commit. A closed conversation may still be tagged by
them (the manual: "organizar bate-papos ativos e resolvidos").
"""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from omnichannel.models import Conversation, ConversationEvent, ConversationEventKind, Tag
from omnichannel.publish import publish_conversation
from tickets.services import supervises

MAX_TAGS = 10


def may_tag(user: AbstractBaseUser, conversation: Conversation) -> bool:
    """The agent holding (or who held) the conversation, or a supervisor of its queue's team."""
    if not user.is_authenticated:
        return False
    if conversation.agent_id is not None and conversation.agent_id == user.pk:
        return True
    return conversation.queue_id is not None and supervises(user, conversation.queue.team_id)


def conversation_set_tags(*, actor: AbstractBaseUser, conversation: Conversation, tags: Iterable[Tag]) -> Conversation:
    """Replace the conversation's tags with ``tags``; inactive tags are refused (kept only if already there)."""
    wanted = {tag.pk: tag for tag in tags}
    if len(wanted) > MAX_TAGS:
        raise ValidationError({"tags": _("Escolha no máximo %(n)s etiquetas.") % {"n": MAX_TAGS}})
    now = timezone.now()
    with transaction.atomic():
        locked = Conversation.objects.select_for_update(of=("self",)).select_related("queue").get(pk=conversation.pk)
        if not may_tag(actor, locked):
            raise PermissionDenied(_("Só o agente da conversa ou um supervisor da equipe da fila pode alterar as etiquetas."))
        current = {tag.pk: tag for tag in locked.tags.all()}
        fresh = {tag.pk: tag for tag in Tag.objects.filter(pk__in=wanted)}
        if len(fresh) != len(wanted):
            raise ValidationError({"tags": _("Etiqueta desconhecida.")})
        added = [fresh[pk] for pk in fresh if pk not in current]
        inactive = [tag.name for tag in added if not tag.active]
        if inactive:
            raise ValidationError(
                {"tags": _("Etiqueta inativa: %(names)s.") % {"names": ", ".join(sorted(inactive))}}
            )
        removed = [current[pk] for pk in current if pk not in fresh]
        if not added and not removed:
            return locked
        if removed:
            locked.tags.remove(*removed)
        if added:
            locked.tags.add(*added)
        ConversationEvent.objects.create(
            conversation=locked,
            kind=ConversationEventKind.TAGS_CHANGED,
            actor=actor,
            created_at=now,
            data={"added": sorted(t.name for t in added), "removed": sorted(t.name for t in removed)},
        )
        publish_conversation(locked, "tags")
    return locked
