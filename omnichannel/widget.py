"""The live-chat widget's access rules and reads: tokens, rate limits, what the customer sees.

The customer has no account. When the widget starts a conversation it draws a
random secret, stores only its SHA-256 on the conversation and hands the
browser a token that is the conversation id and the secret, signed with
``django.core.signing`` (salted, timestamped). A forged or tampered token is
refused before any query; a genuine one must still match the stored hash, so a
leaked database holds no usable token. The token is the only key to the
conversation: its socket, its transcript. Never a staff session.

What the customer reads is chosen here, once: no internal notes, and of the
staff only the agent's first name.
"""

import contextlib
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from omnichannel.models import (
    OPEN_STATUSES,
    BotMenu,
    Channel,
    Conversation,
    ConversationStatus,
    Message,
    MessageAttachment,
    MessageKind,
)

TOKEN_SALT = "omnichannel.widget.token"  # noqa: S105 (a namespace, not a secret)
# Long enough to download the transcript days after the chat; a chat never lasts this long.
TOKEN_MAX_AGE = 7 * 24 * 3600

# (requests, seconds) per scope: ``settings.OMNICHANNEL_WIDGET_RATE_LIMITS`` ("N/seconds"). IP
# limits stop one machine from flooding; token limits stop one conversation (one browser,
# several tabs) from doing it.


def rate_limit(scope: str) -> tuple[int, int]:
    """The (requests, seconds) of ``scope``; a malformed value fails loudly (settings validate the variable)."""
    value = settings.OMNICHANNEL_WIDGET_RATE_LIMITS[scope]
    if isinstance(value, (tuple, list)):
        limit, seconds = value
    else:
        limit, _sep, seconds = str(value).partition("/")
    limit, seconds = int(limit), int(seconds)
    if limit < 0 or seconds < 1:
        raise ImproperlyConfigured(f"OMNICHANNEL_WIDGET_RATE_LIMITS[{scope!r}] = {value!r}: expected 'N/seconds'")
    return limit, seconds


# Customer-side statuses in which leaving the widget means leaving the queue (Abandono).
WAITING_STATUSES = (ConversationStatus.BOT, ConversationStatus.QUEUED)


# --- tokens -----------------------------------------------------------------------------------


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> tuple[str, str]:
    """A fresh secret and the hash to store with the conversation."""
    secret = secrets.token_urlsafe(32)
    return secret, _digest(secret)


def make_token(conversation_id: int, secret: str) -> str:
    return signing.dumps([conversation_id, secret], salt=TOKEN_SALT)


def conversation_for_token(token: str) -> Conversation | None:
    """The live-chat conversation the token opens, or ``None`` (forged, expired, revoked, unknown)."""
    if not token or len(token) > 300:
        return None
    try:
        value = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if not (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], int)
        and isinstance(value[1], str)
    ):
        return None
    conversation_id, secret = value
    conversation = (
        Conversation.objects.filter(pk=conversation_id, channel=Channel.LIVE_CHAT)
        .exclude(access_token_hash="")
        .first()
    )
    if conversation is None or not hmac.compare_digest(
        conversation.access_token_hash, _digest(secret)
    ):
        return None
    return conversation


def entry_menu(entry_point: str) -> BotMenu | None:
    """The active live-chat root menu of an entry point (the widget's address)."""
    return BotMenu.objects.filter(
        entry_point=entry_point, active=True, channel=Channel.LIVE_CHAT
    ).first()


# --- rate limits ------------------------------------------------------------------------------


def _rate_key(scope: str, ident: str, seconds: int) -> str:
    window = int(time.time() // seconds)
    return f"omni.widget.rl.{scope}.{hashlib.sha256(ident.encode()).hexdigest()[:32]}.{window}"


def rate_limit_hit(scope: str, ident: str) -> bool:
    """Count one request of ``ident`` in ``scope``'s current window; False when over the limit.

    A fixed window in Django's cache (Redis in full mode, so shared by every process).
    """
    return rate_limits_hit((scope, ident))


def rate_limits_hit(*checks: tuple[str, str]) -> bool:
    """``rate_limit_hit`` for each ``(scope, ident)``, every window counted; False when any is
    over its limit. On Redis all of them cost one round trip (an INCR and an EXPIRE NX each, in
    one pipeline) instead of Django's EXISTS + INCR per scope: the widget's socket counts two
    scopes on every message a customer types."""
    keyed = []
    for scope, ident in checks:
        limit, seconds = rate_limit(scope)
        keyed.append((_rate_key(scope, ident, seconds), limit, seconds))
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(write=True)
        pipe = client.pipeline(transaction=False)
        for key, _limit, seconds in keyed:
            full = backend.make_and_validate_key(key)
            pipe.incr(full)
            pipe.expire(full, seconds + 5, nx=True)
        counts = pipe.execute()[0::2]
        return all(count <= limit for count, (_key, limit, _s) in zip(counts, keyed, strict=True))
    allowed = True
    for key, limit, seconds in keyed:
        try:
            count = backend.incr(key)  # one round trip for all but the window's first request
        except ValueError:  # the window's first request (or the key expired meanwhile); another
            # process may open the window first
            count = 1 if backend.add(key, 1, seconds + 5) else backend.incr(key)
        allowed = allowed and count <= limit
    return allowed


# --- sockets ----------------------------------------------------------------------------------


def _sockets_key(conversation_id: int) -> str:
    return f"omni.widget.sockets.{conversation_id}"


def socket_opened(conversation_id: int) -> None:
    key = _sockets_key(conversation_id)
    if not cache.add(key, 1, 24 * 3600):
        try:
            cache.incr(key)
        except ValueError:
            cache.add(key, 1, 24 * 3600)


def socket_closed(conversation_id: int) -> None:
    with contextlib.suppress(ValueError):  # expired: nothing to count down
        cache.decr(_sockets_key(conversation_id))


def open_sockets(conversation_id: int) -> int:
    return max(0, int(cache.get(_sockets_key(conversation_id)) or 0))


# The counter above serves the quick check after a socket closes (``widget_consumers``); it
# cannot tell a crashed process, whose sockets never count down. So every open socket also
# stamps "alive now" on connecting, every ``alive_every()`` seconds while open and on closing;
# the ``close_abandoned`` sweep closes a waiting conversation whose stamp is older than
# ``OMNICHANNEL_WIDGET_ABANDON_SECONDS``. One key per conversation, shared by its tabs in
# every process (Redis in full mode): any open tab keeps it fresh. A missing stamp (never
# connected, or the cache was emptied) is not "gone": the sweep starts counting from then.
ALIVE_TTL = 24 * 3600


def _alive_key(conversation_id: int) -> str:
    return f"omni.widget.alive.{conversation_id}"


def alive_every() -> float:
    """How often an open socket refreshes its stamp: well inside the abandonment grace."""
    return float(max(1, min(20, settings.OMNICHANNEL_WIDGET_ABANDON_SECONDS // 3)))


def socket_alive(conversation_id: int, at: float | None = None) -> None:
    cache.set(_alive_key(conversation_id), time.time() if at is None else at, ALIVE_TTL)


def customers_gone(conversation_ids: list[int], *, now: float | None = None) -> list[int]:
    """Of these conversations, those whose customer has had no widget socket alive for longer than the grace."""
    if not conversation_ids:
        return []
    now = time.time() if now is None else now
    grace = settings.OMNICHANNEL_WIDGET_ABANDON_SECONDS
    keys = {_alive_key(pk): pk for pk in conversation_ids}
    found = cache.get_many(list(keys))
    gone = []
    for key, pk in keys.items():
        seen = found.get(key)
        if seen is None:
            cache.add(key, now, ALIVE_TTL)  # start counting now (a socket stamping meanwhile wins)
        elif now - float(seen) > grace:
            gone.append(pk)
    return gone


# --- what the customer sees -------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerFile:
    id: int
    name: str
    size: int


@dataclass(frozen=True)
class CustomerMessage:
    id: int
    side: str  # "customer" | "agent" | "system"
    author: str
    body: str
    created_at: datetime
    files: tuple[CustomerFile, ...] = ()


@dataclass(frozen=True)
class WidgetState:
    conversation_id: int
    protocol: str
    status: str
    status_label: str
    is_open: bool
    contact_name: str
    agent_name: str
    position: int | None
    queue_id: int | None
    entry_point: str
    bot_options: tuple[tuple[int, str], ...]

    @property
    def header_key(self) -> tuple:
        return (self.status, self.agent_name, self.position)

    @property
    def waiting(self) -> bool:
        return self.status in WAITING_STATUSES

    @property
    def accepts_files(self) -> bool:
        """Files may be sent once past the bot menu (which only understands answers)."""
        return self.status in (ConversationStatus.QUEUED, ConversationStatus.IN_PROGRESS)


def agent_display_name(first_name: str) -> str:
    """The only staff data the customer gets: the agent's first name (or a neutral word)."""
    name = (first_name or "").strip().split(" ")[0]
    return name or _("Atendente")


def customer_messages(
    conversation_id: int, *, after_id: int = 0, limit: int = 500, customer_label: str = ""
) -> list[CustomerMessage]:
    """The conversation as the customer reads it: no internal notes; agents by first name.

    The newest ``limit`` messages, oldest first; with ``after_id``, the ones after it.
    """
    files: dict[int, list[CustomerFile]] = {}
    rows: list[tuple] = []
    base = Message.objects.filter(conversation_id=conversation_id, id__gt=after_id).exclude(kind=MessageKind.NOTE)
    if after_id:
        # The socket's hot path (every message the customer sends or receives): the few new
        # rows with their files, in one query (a row per file).
        joined = list(
            base.order_by("id", "attachments__id").values_list(
                "id", "kind", "body", "created_at", "author__first_name",
                "attachments__id", "attachments__name", "attachments__size",
            )[:limit]
        )
        if len(joined) < limit:  # else a message's files may be cut off: the plain reads below
            for *row, file_id, name, size in joined:
                if not rows or rows[-1][0] != row[0]:
                    rows.append(tuple(row))
                if file_id is not None:
                    files.setdefault(row[0], []).append(CustomerFile(file_id, name, size))
            return _as_customer_messages(rows, files, customer_label)
    # Plain rows, then the files of those rows (a transcript may hold thousands).
    rows = list(
        base.order_by("id" if after_id else "-id").values_list(
            "id", "kind", "body", "created_at", "author__first_name"
        )[:limit]
    )
    if not after_id:
        rows.reverse()
    if rows:
        attachments = (
            # The id range of those rows (no list of ids)
            MessageAttachment.objects.filter(
                message__conversation_id=conversation_id, message_id__gte=rows[0][0], message_id__lte=rows[-1][0]
            )
            .order_by("id")
            .values_list("message_id", "id", "name", "size")
        )
        for message_id, file_id, name, size in attachments:
            files.setdefault(message_id, []).append(CustomerFile(file_id, name, size))
    return _as_customer_messages(rows, files, customer_label)


def _as_customer_messages(
    rows: list[tuple], files: dict[int, list[CustomerFile]], customer_label: str
) -> list[CustomerMessage]:
    result = []
    for message_id, kind, body, created_at, first_name in rows:
        if kind == MessageKind.CUSTOMER:
            side, author = "customer", customer_label or _("Você")
        elif kind == MessageKind.AGENT:
            side, author = "agent", agent_display_name(first_name or "")
        else:
            side, author = "system", _("Atendimento automático")
        result.append(CustomerMessage(message_id, side, author, body, created_at, tuple(files.get(message_id, ()))))
    return result


def queue_position(conversation: Conversation) -> int | None:
    """1 for the next in line; ``None`` when not waiting in a queue."""
    if conversation.status != ConversationStatus.QUEUED or conversation.queue_id is None:
        return None
    since = conversation.waiting_since or conversation.queued_at or conversation.created_at
    ahead = (
        Conversation.objects.filter(
            status=ConversationStatus.QUEUED, queue_id=conversation.queue_id
        )
        .filter(Q(waiting_since__lt=since) | Q(waiting_since=since, pk__lt=conversation.pk))
        .count()
    )
    return ahead + 1


def widget_state(conversation_id: int) -> WidgetState:
    conversation = (
        Conversation.objects.select_related("agent", "bot_menu", "entry_menu")
        .only(
            "id",
            "protocol",
            "status",
            "contact_name",
            "queue_id",
            "waiting_since",
            "queued_at",
            "created_at",
            "agent__first_name",
            "bot_menu__id",
            "bot_menu__active",
            "entry_menu__entry_point",
        )
        .get(pk=conversation_id)
    )
    options: tuple[tuple[int, str], ...] = ()
    if conversation.status == ConversationStatus.BOT and conversation.bot_menu is not None:
        options = tuple(conversation.bot_menu.options.values_list("number", "label"))
    agent_name = ""
    if conversation.status == ConversationStatus.IN_PROGRESS and conversation.agent is not None:
        agent_name = agent_display_name(conversation.agent.first_name)
    return WidgetState(
        conversation_id=conversation.pk,
        protocol=conversation.protocol,
        status=conversation.status,
        status_label=str(ConversationStatus(conversation.status).label),
        is_open=conversation.status in OPEN_STATUSES,
        contact_name=conversation.contact_name,
        agent_name=agent_name,
        position=queue_position(conversation),
        queue_id=conversation.queue_id
        if conversation.status == ConversationStatus.QUEUED
        else None,
        entry_point=(conversation.entry_menu.entry_point or "") if conversation.entry_menu else "",
        bot_options=options,
    )


def customer_file(conversation: Conversation, file_id: int) -> MessageAttachment | None:
    """A file of the conversation the customer may download (never one of an internal note)."""
    return (
        MessageAttachment.objects.filter(pk=file_id, message__conversation_id=conversation.pk)
        .exclude(message__kind=MessageKind.NOTE)
        .first()
    )


def chat_context(conversation_id: int) -> dict:
    """What the chat page (and a socket's first frame) shows."""
    return {"state": widget_state(conversation_id), "messages": customer_messages(conversation_id)}


def _when(value: datetime) -> str:
    return formats.date_format(timezone.localtime(value), "d/m/Y H:i:s")


def transcript_text(conversation: Conversation) -> str:
    """The customer's copy of the conversation, as plain text (never interpreted as HTML)."""
    lines = [
        _("Transcrição do atendimento %(protocol)s") % {"protocol": conversation.protocol},
        _("Cliente: %(name)s") % {"name": conversation.contact_name},
        _("Início: %(at)s") % {"at": _when(conversation.created_at)},
    ]
    if conversation.ended_at:
        lines.append(_("Fim: %(at)s") % {"at": _when(conversation.ended_at)})
    lines.append(_("Situação: %(status)s") % {"status": conversation.get_status_display()})
    lines.append("")
    messages = customer_messages(
        conversation.pk, limit=100_000, customer_label=conversation.contact_name
    )
    for message in messages:
        body = message.body.replace("\r\n", "\n").replace("\n", "\n    ")
        for file in message.files:
            body += ("\n    " if body else "") + _("[anexo: %(name)s]") % {"name": file.name}
        lines.append(f"[{_when(message.created_at)}] {message.author}: {body}")
    return "\n".join(lines) + "\n"
