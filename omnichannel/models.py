"""Queues, agent presence, the pre-attendance bot, conversations and messages.

Rows here are written only through ``omnichannel.services`` (and the routing
engine it calls, ``omnichannel.routing``); the admin edits the configuration
tables (queues, pause and contact reasons, bot menus, queue membership).
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import Origin

# A voice call takes the agent's whole capacity: its weight is larger than any
# queue's maximum, and it is only given to an agent with nothing else open.
FULL_CAPACITY = 1000
MAX_CONVERSATIONS_LIMIT = 100


class Channel(models.TextChoices):
    LIVE_CHAT = "live_chat", _("Live Chat")
    WHATSAPP = "whatsapp", _("WhatsApp")
    TELEGRAM = "telegram", _("Telegram")
    FACEBOOK = "facebook", _("Facebook")
    INSTAGRAM = "instagram", _("Instagram")
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    VOICE = "voice", _("Voz")


# The ticket's "Origem do contato" for a conversation of each channel.
CHANNEL_ORIGIN = {
    Channel.LIVE_CHAT: Origin.LIVE_CHAT,
    Channel.WHATSAPP: Origin.WHATSAPP,
    Channel.TELEGRAM: Origin.TELEGRAM,
    Channel.FACEBOOK: Origin.FACEBOOK,
    Channel.INSTAGRAM: Origin.INSTAGRAM,
    Channel.EMAIL: Origin.EMAIL,
    Channel.SMS: Origin.SMS,
    Channel.VOICE: Origin.PHONE,
}

# Capacity units a conversation of each channel takes; unlisted channels take one slot.
CHANNEL_WEIGHT = {Channel.VOICE: FULL_CAPACITY}


def channel_weight(channel: str) -> int:
    return CHANNEL_WEIGHT.get(Channel(channel), 1)


class PauseReason(models.Model):
    """Motivo de pausa (almoço, banheiro, descanso …): Ausente always carries one."""

    name = models.CharField(_("nome"), max_length=80, unique=True)
    order = models.PositiveSmallIntegerField(_("ordem"), default=0)
    active = models.BooleanField(_("ativo"), default=True)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("motivo de pausa")
        verbose_name_plural = _("motivos de pausa")

    def __str__(self) -> str:
        return self.name


class ContactReason(models.Model):
    """Motivo de contato / qualificação of a finished conversation."""

    name = models.CharField(_("nome"), max_length=120, unique=True)
    active = models.BooleanField(_("ativo"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("motivo de contato")
        verbose_name_plural = _("motivos de contato")

    def __str__(self) -> str:
        return self.name


class Queue(models.Model):
    """Fila / Serviço: where conversations of one channel wait for an agent."""

    name = models.CharField(_("nome"), max_length=120, unique=True)
    channel = models.CharField(_("canal"), max_length=20, choices=Channel.choices)
    team = models.ForeignKey(
        "tickets.Team", on_delete=models.PROTECT, related_name="queues", verbose_name=_("equipe")
    )
    # Where the ticket of a conversation of this queue is opened.
    company = models.ForeignKey(
        "tickets.Company", on_delete=models.PROTECT, related_name="+", verbose_name=_("empresa")
    )
    process = models.ForeignKey(
        "tickets.Process", on_delete=models.PROTECT, related_name="+", verbose_name=_("processo")
    )
    max_conversations = models.PositiveSmallIntegerField(
        _("máximo de conversas simultâneas por agente"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_CONVERSATIONS_LIMIT)],
    )
    inactivity_timeout = models.PositiveIntegerField(
        _("inatividade do cliente (segundos)"),
        default=600,
        help_text=_("Sem resposta do cliente por este tempo, a conversa é encerrada como Desistência/Inatividade."),
    )
    inactivity_warning = models.TextField(
        _("aviso de inatividade"),
        blank=True,
        default=_("Você ainda está aí? Sem resposta, a conversa será encerrada em instantes."),
    )
    wrap_up_seconds = models.PositiveIntegerField(_("pós-atendimento (segundos)"), default=0)
    answer_timeout = models.PositiveIntegerField(
        _("tempo para o agente responder (segundos)"),
        default=120,
        help_text=_("Conversa distribuída e não respondida neste tempo vai para outro agente. 0 desativa."),
    )
    contact_reasons = models.ManyToManyField(
        ContactReason, blank=True, related_name="queues", verbose_name=_("motivos de contato")
    )
    calendar = models.ForeignKey(
        "sla.BusinessCalendar",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("horário de atendimento"),
        help_text=_("Vazio: atende em qualquer horário."),
    )
    out_of_hours_message = models.TextField(
        _("mensagem fora do horário"),
        blank=True,
        default=_("Nosso atendimento está fechado agora. Deixe sua mensagem que retornaremos assim que possível."),
    )
    email_filter = models.BooleanField(
        _("filtro de e-mail"),
        default=False,
        help_text=_("Ligado: e-mails novos aguardam no Filtro de e-mail até um supervisor aceitá-los na fila."),
    )
    active = models.BooleanField(_("ativa"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("fila")
        verbose_name_plural = _("filas")

    def __str__(self) -> str:
        return self.name


class AgentQueue(models.Model):
    """An agent assigned to a queue ("Filas atribuídas") and whether they are logged in to it."""

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_queues", verbose_name=_("agente")
    )
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="agent_queues", verbose_name=_("fila"))
    logged_in = models.BooleanField(_("logado"), default=False)
    changed_at = models.DateTimeField(_("alterado em"), default=timezone.now)

    class Meta:
        verbose_name = _("agente da fila")
        verbose_name_plural = _("agentes das filas")
        constraints = [models.UniqueConstraint(fields=["agent", "queue"], name="agentqueue_unique")]
        indexes = [
            # Routing: the agents logged in to a queue.
            models.Index(fields=["queue", "agent"], condition=Q(logged_in=True), name="agentqueue_logged_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.agent} @ {self.queue}"


class AgentState(models.TextChoices):
    ONLINE = "online", _("Online")
    AWAY = "away", _("Ausente")
    OFFLINE = "offline", _("Offline")


class AgentPresence(models.Model):
    """The agent's current omnichannel state and load; one row per agent.

    ``load`` is the sum of the capacity weights of the agent's conversations in
    progress, kept by the routing engine under this row's lock.
    """

    agent = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="omni_presence",
        verbose_name=_("agente"),
    )
    state = models.CharField(_("status"), max_length=10, choices=AgentState.choices, default=AgentState.OFFLINE)
    pause_reason = models.ForeignKey(
        PauseReason, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("motivo de pausa")
    )
    since = models.DateTimeField(_("no status desde"), default=timezone.now)
    last_seen = models.DateTimeField(_("visto por último"), null=True, blank=True)
    load = models.PositiveIntegerField(_("carga"), default=0)
    # "Longest idle": when the agent last went Online, received or freed a conversation.
    idle_since = models.DateTimeField(_("livre desde"), default=timezone.now)
    wrap_up_until = models.DateTimeField(_("pós-atendimento até"), null=True, blank=True)

    class Meta:
        verbose_name = _("presença do agente")
        verbose_name_plural = _("presenças dos agentes")
        constraints = [
            models.CheckConstraint(
                condition=Q(state="away", pause_reason__isnull=False) | (~Q(state="away") & Q(pause_reason__isnull=True)),
                name="presence_away_has_reason",
            ),
        ]
        indexes = [
            # Routing: Online agents, least busy then longest idle.
            models.Index(fields=["load", "idle_since"], condition=Q(state="online"), name="presence_routing_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.agent}: {self.get_state_display()}"

    @property
    def status_label(self) -> str:
        """The icon text of 000: Online → AGUARDANDO, Ausente → PAUSADO, Offline → none."""
        return {AgentState.ONLINE: _("Aguardando"), AgentState.AWAY: _("Pausado")}.get(self.state, "")


class PresenceInterval(models.Model):
    """One stretch of the agent's state timeline: worked hours, pause time per reason, occupancy."""

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence_intervals", verbose_name=_("agente")
    )
    state = models.CharField(_("status"), max_length=10, choices=AgentState.choices)
    pause_reason = models.ForeignKey(
        PauseReason, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("motivo de pausa")
    )
    started_at = models.DateTimeField(_("de"))
    ended_at = models.DateTimeField(_("até"), null=True, blank=True)
    forced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("forçado por"),
    )
    note = models.CharField(_("observação"), max_length=200, blank=True)

    class Meta:
        ordering = ["agent", "started_at", "id"]
        verbose_name = _("intervalo de status do agente")
        verbose_name_plural = _("linha do tempo de status dos agentes")
        constraints = [
            models.UniqueConstraint(
                fields=["agent"], condition=Q(ended_at__isnull=True), name="presence_one_open_interval"
            ),
        ]
        indexes = [models.Index(fields=["agent", "started_at"], name="presence_interval_idx")]

    def __str__(self) -> str:
        return f"{self.agent}: {self.get_state_display()} {self.started_at:%d/%m/%Y %H:%M}"

    def duration(self, now=None):
        return (self.ended_at or now or timezone.now()) - self.started_at


class BotMenu(models.Model):
    """A pre-attendance menu: greeting plus numbered options; a root menu has an entry point."""

    name = models.CharField(_("nome"), max_length=120)
    entry_point = models.SlugField(
        _("ponto de entrada"),
        max_length=60,
        unique=True,
        null=True,
        blank=True,
        help_text=_("Só no menu inicial: o endereço do widget ou o canal que o abre."),
    )
    channel = models.CharField(_("canal"), max_length=20, choices=Channel.choices, default=Channel.LIVE_CHAT)
    greeting = models.TextField(_("saudação"))
    fallback_message = models.TextField(
        _("mensagem para opção inválida"), default=_("Opção inválida. Responda com o número de uma das opções.")
    )
    active = models.BooleanField(_("ativo"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("menu do pré-atendimento")
        verbose_name_plural = _("menus do pré-atendimento")

    def __str__(self) -> str:
        return self.name

    def prompt(self) -> str:
        """The greeting followed by the numbered options, as the customer reads it."""
        lines = [self.greeting.strip()]
        lines += [f"{o.number} - {o.label}" for o in self.options.all()]
        return "\n".join(line for line in lines if line)


class BotOption(models.Model):
    menu = models.ForeignKey(BotMenu, on_delete=models.CASCADE, related_name="options", verbose_name=_("menu"))
    number = models.PositiveSmallIntegerField(_("número"), validators=[MinValueValidator(1), MaxValueValidator(99)])
    label = models.CharField(_("texto"), max_length=120)
    queue = models.ForeignKey(
        Queue, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("fila")
    )
    submenu = models.ForeignKey(
        BotMenu, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("submenu")
    )

    class Meta:
        ordering = ["menu", "number"]
        verbose_name = _("opção do menu")
        verbose_name_plural = _("opções do menu")
        constraints = [
            models.UniqueConstraint(fields=["menu", "number"], name="botoption_unique_number"),
            models.CheckConstraint(
                condition=Q(queue__isnull=False, submenu__isnull=True) | Q(queue__isnull=True, submenu__isnull=False),
                name="botoption_queue_xor_submenu",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} - {self.label}"

    def clean(self) -> None:
        if (self.queue_id is None) == (self.submenu_id is None):
            raise ValidationError(_("Cada opção leva a uma fila ou a um submenu, e só a um deles."))
        if self.submenu_id is not None and self.submenu_id == self.menu_id:
            raise ValidationError({"submenu": _("Um menu não pode levar a si mesmo.")})


class ConversationStatus(models.TextChoices):
    """DOMAIN.md, "Conversation statuses"."""

    IN_FILTER = "in_filter", _("No filtro inicial")
    BOT = "bot", _("Em pré-atendimento")
    QUEUED = "queued", _("Aguardando em fila")
    IN_PROGRESS = "in_progress", _("Em andamento")
    CONCLUDED = "concluded", _("Concluído")
    CANCELLED = "cancelled", _("Cancelado")
    ABANDONED = "abandoned", _("Abandono")
    INACTIVITY = "inactivity", _("Desistência/Inatividade")
    CONNECTION_LOST = "connection_lost", _("Perda de conexão")
    AGENT_INACTIVE = "agent_inactive", _("Inativa PA")


OPEN_STATUSES = (
    ConversationStatus.IN_FILTER,
    ConversationStatus.BOT,
    ConversationStatus.QUEUED,
    ConversationStatus.IN_PROGRESS,
)
CLOSED_STATUSES = tuple(s for s in ConversationStatus if s not in OPEN_STATUSES)


class Conversation(models.Model):
    """Conversa: one contact on one channel, with its messages; may open or join a ticket."""

    protocol = models.CharField(_("protocolo"), max_length=20, unique=True)
    channel = models.CharField(_("canal"), max_length=20, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=20, choices=ConversationStatus.choices)
    customer = models.ForeignKey(
        "tickets.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="conversations",
        verbose_name=_("cliente"),
    )
    # What the contact told us (the widget's form, the messaging profile).
    contact_name = models.CharField(_("nome do contato"), max_length=200)
    contact_email = models.EmailField(_("e-mail do contato"), blank=True)
    contact_phone = models.CharField(_("telefone do contato"), max_length=20, blank=True)
    contact_document = models.CharField(_("CPF/CNPJ informado"), max_length=14, blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="conversations",
        verbose_name=_("atendimento"),
    )
    entry_menu = models.ForeignKey(
        BotMenu, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("ponto de entrada")
    )
    bot_menu = models.ForeignKey(
        BotMenu, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("menu atual")
    )
    queue = models.ForeignKey(
        Queue, on_delete=models.PROTECT, null=True, blank=True, related_name="conversations", verbose_name=_("fila")
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="omni_conversations",
        verbose_name=_("agente"),
    )
    # "Alocar responsável": a queued conversation kept for this agent, ahead of the rest.
    reserved_for = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("alocada para"),
    )
    weight = models.PositiveIntegerField(_("peso na capacidade"), default=1)
    # Provider channels (issue 7): the account the contact wrote to and who they are there.
    account = models.ForeignKey(
        "omnichannel.ChannelAccount",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="conversations",
        verbose_name=_("conta do canal"),
    )
    contact = models.ForeignKey(
        "omnichannel.ChannelContact",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="conversations",
        verbose_name=_("contato no canal"),
    )
    tags = models.ManyToManyField("omnichannel.Tag", blank=True, related_name="conversations", verbose_name=_("etiquetas"))
    contact_reason = models.ForeignKey(
        ContactReason, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("qualificação")
    )
    notes = models.TextField(_("notas do atendimento"), blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("criada em"), default=timezone.now)
    bot_started_at = models.DateTimeField(_("Dt.Ini.Atd.Bot"), null=True, blank=True)
    bot_ended_at = models.DateTimeField(_("Dt.Fim.Atd.Bot"), null=True, blank=True)
    queued_at = models.DateTimeField(_("Data Fila"), null=True, blank=True)
    # Routing order: when it began waiting in its current queue (kept on a re-route).
    waiting_since = models.DateTimeField(_("aguardando desde"), null=True, blank=True)
    assigned_at = models.DateTimeField(_("distribuída em"), null=True, blank=True)
    assignment_answered_at = models.DateTimeField(_("respondida pelo agente atual em"), null=True, blank=True)
    human_started_at = models.DateTimeField(_("Dt.Ini.Atd.Hum"), null=True, blank=True)
    human_ended_at = models.DateTimeField(_("Dt.Fim.Atd.Hum"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("primeira resposta"), null=True, blank=True)
    last_message_at = models.DateTimeField(_("última mensagem"), null=True, blank=True)
    last_customer_message_at = models.DateTimeField(_("última mensagem do cliente"), null=True, blank=True)
    last_agent_message_at = models.DateTimeField(_("última mensagem do agente"), null=True, blank=True)
    inactivity_warned_at = models.DateTimeField(_("aviso de inatividade em"), null=True, blank=True)
    # The agent's workspace: customer messages after this (while it is later than the
    # assignment) count as unread for the agent now holding the conversation.
    agent_read_at = models.DateTimeField(_("lida pelo agente em"), null=True, blank=True)
    ended_at = models.DateTimeField(_("encerrada em"), null=True, blank=True)
    # Live-chat widget: SHA-256 of the secret half of the customer's signed access token
    # (omnichannel.widget); the token itself is never stored.
    access_token_hash = models.CharField(_("hash do token de acesso"), max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("conversa")
        verbose_name_plural = _("conversas")
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="in_progress") | Q(agent__isnull=False), name="conversation_in_progress_has_agent"
            ),
            models.CheckConstraint(
                condition=~Q(status="queued") | (Q(queue__isnull=False) & Q(agent__isnull=True)),
                name="conversation_queued_has_queue_no_agent",
            ),
        ]
        indexes = [
            # Routing: the oldest waiting conversations of a queue.
            models.Index(
                fields=["queue", "waiting_since", "id"], condition=Q(status="queued"), name="conv_waiting_idx"
            ),
            # The agent's active conversations; answer timeouts and inactivity scans.
            models.Index(fields=["agent", "assigned_at"], condition=Q(status="in_progress"), name="conv_agent_active_idx"),
            models.Index(fields=["customer", "-created_at"], name="conv_customer_idx"),
            models.Index(fields=["ticket"], name="conv_ticket_idx"),
            models.Index(fields=["status", "-created_at"], name="conv_status_idx"),
            # Intake: the contact's open conversation on an account.
            models.Index(fields=["contact", "-created_at"], name="conv_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.protocol} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def queue_time(self):
        """Tempo em fila: from entering the queue to the first human reply (or to leaving)."""
        if self.queued_at is None:
            return None
        end = self.first_response_at or self.ended_at or timezone.now()
        return end - self.queued_at

    @property
    def duration(self):
        """Duração / T.Atend: from the human start to the human end."""
        if self.human_started_at is None:
            return None
        return (self.human_ended_at or timezone.now()) - self.human_started_at


class MessageKind(models.TextChoices):
    CUSTOMER = "customer", _("Cliente")
    AGENT = "agent", _("Agente")
    SYSTEM = "system", _("Automática")
    NOTE = "note", _("Nota interna")


class MessageState(models.TextChoices):
    PENDING = "pending", _("Pendente")
    SENT = "sent", _("Enviada")
    DELIVERED = "delivered", _("Entregue")
    READ = "read", _("Lida")
    FAILED = "failed", _("Falhou")
    # No credentials for the channel (the embedded default): recorded, shown as such, never dropped.
    NOT_SENT = "not_sent", _("Não enviada")


# States a later receipt may not move back from (a late "sent" never undoes "read").
MESSAGE_STATE_RANK = {
    MessageState.PENDING: 0,
    MessageState.NOT_SENT: 0,
    MessageState.FAILED: 1,
    MessageState.SENT: 2,
    MessageState.DELIVERED: 3,
    MessageState.READ: 4,
}


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", verbose_name=_("conversa")
    )
    kind = models.CharField(_("tipo"), max_length=10, choices=MessageKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("autor"),
    )
    body = models.TextField(_("texto"))
    created_at = models.DateTimeField(_("enviada em"), default=timezone.now)
    state = models.CharField(_("situação"), max_length=10, choices=MessageState.choices, default=MessageState.SENT)
    # Provider channels: the provider's id of the message (inbound: what the webhook carried,
    # outbound: what the send API answered; e-mail: the Message-ID), unique per account so a
    # re-delivered webhook stores the message once.
    account = models.ForeignKey(
        "omnichannel.ChannelAccount",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("conta do canal"),
    )
    external_id = models.CharField(_("id no provedor"), max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(_("tentativas de envio"), default=0)
    state_changed_at = models.DateTimeField(_("situação alterada em"), null=True, blank=True)
    error = models.CharField(_("erro do envio"), max_length=300, blank=True)
    # Message parts that are not text: location, e-mail subject and threading headers, template.
    data = models.JSONField(_("dados"), default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("mensagem")
        verbose_name_plural = _("mensagens")
        indexes = [models.Index(fields=["conversation", "created_at", "id"], name="message_conv_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "external_id"], condition=~Q(external_id=""), name="message_external_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.body[:60]

    @property
    def direction(self) -> str:
        """in (from the customer), out (to the customer), internal (notes)."""
        if self.kind == MessageKind.CUSTOMER:
            return "in"
        return "internal" if self.kind == MessageKind.NOTE else "out"


def message_file_path(instance: "MessageAttachment", filename: str) -> str:
    """A random folder per file: names never collide and a path cannot be guessed."""
    now = timezone.now()
    return f"omnichannel/{now:%Y/%m}/{instance.message.conversation_id}/{uuid.uuid4().hex}/{filename}"


class MessageAttachment(models.Model):
    """A file sent with a message (at most 5 of at most 2 MB each, ``services.validate_message_files``).

    Never served from MEDIA_URL: staff download it through a permission-checked
    view, the customer through the conversation's token (the widget).
    """

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("mensagem")
    )
    file = models.FileField(_("arquivo"), upload_to=message_file_path, max_length=255)
    name = models.CharField(_("nome"), max_length=200)
    size = models.PositiveIntegerField(_("tamanho (bytes)"))
    content_type = models.CharField(_("tipo"), max_length=100, blank=True)

    class Meta:
        ordering = ["message", "id"]
        verbose_name = _("anexo da mensagem")
        verbose_name_plural = _("anexos das mensagens")

    def __str__(self) -> str:
        return self.name


class ConversationEventKind(models.TextChoices):
    STARTED = "started", _("Conversa iniciada")
    BOT_STEP = "bot_step", _("Navegação no pré-atendimento")
    QUEUED = "queued", _("Entrada na fila")
    OUT_OF_HOURS = "out_of_hours", _("Fora do horário de atendimento")
    ASSIGNED = "assigned", _("Distribuída ao agente")
    ALLOCATED = "allocated", _("Alocada pelo supervisor")
    RETURNED = "returned", _("Retornada para o grupo do serviço")
    REROUTED = "rerouted", _("Redistribuída por falta de resposta do agente")
    TRANSFERRED = "transferred", _("Transferida")
    CUSTOMER_LINKED = "customer_linked", _("Cliente vinculado")
    TICKET_LINKED = "ticket_linked", _("Atendimento vinculado")
    INACTIVITY_WARNING = "inactivity_warning", _("Aviso de inatividade enviado")
    TAGS_CHANGED = "tags_changed", _("Etiquetas alteradas")
    FILTER_ACCEPTED = "filter_accepted", _("Aceita no filtro de e-mail")
    EVALUATION_REQUESTED = "evaluation_requested", _("Avaliação solicitada")
    EVALUATION_ANSWERED = "evaluation_answered", _("Avaliação respondida")
    CLOSED = "closed", _("Conversa encerrada")


class ConversationEvent(models.Model):
    """The conversation's own log (routing decisions, transfers), beside the ticket's."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="events", verbose_name=_("conversa")
    )
    kind = models.CharField(_("tipo"), max_length=20, choices=ConversationEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("operador")
    )
    created_at = models.DateTimeField(_("data e hora"), default=timezone.now)
    data = models.JSONField(_("dados"), default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("evento da conversa")
        verbose_name_plural = _("eventos da conversa")
        indexes = [models.Index(fields=["conversation", "created_at"], name="conv_event_idx")]

    def __str__(self) -> str:
        return str(self.get_kind_display())


# --- canned responses and tags (issue 6) -------------------------------------------------------


class CannedCategory(models.Model):
    """Categoria das mensagens pré-salvas."""

    name = models.CharField(_("nome"), max_length=80, unique=True)
    order = models.PositiveSmallIntegerField(_("ordem"), default=0)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("categoria de mensagem pré-salva")
        verbose_name_plural = _("categorias de mensagens pré-salvas")

    def __str__(self) -> str:
        return self.name


class CannedResponse(models.Model):
    """Mensagem pré-salva: personal (``owner`` set) or public (``owner`` empty, made by supervisors).

    In the message box, "/" plus the shortcut offers it. Written only through
    ``omnichannel.canned`` (an agent edits only their own).
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="canned_responses",
        verbose_name=_("dono"),
        help_text=_("Vazio: mensagem pública, para todos os agentes."),
    )
    category = models.ForeignKey(
        CannedCategory, on_delete=models.PROTECT, related_name="responses", verbose_name=_("categoria")
    )
    shortcut = models.SlugField(_("atalho"), max_length=40)
    title = models.CharField(_("título"), max_length=120)
    body = models.TextField(_("texto"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("criada por")
    )
    created_at = models.DateTimeField(_("criada em"), default=timezone.now)
    updated_at = models.DateTimeField(_("alterada em"), default=timezone.now)

    class Meta:
        ordering = ["shortcut", "id"]
        verbose_name = _("mensagem pré-salva")
        verbose_name_plural = _("mensagens pré-salvas")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "shortcut"], condition=Q(owner__isnull=False), name="canned_personal_unique"
            ),
            models.UniqueConstraint(fields=["shortcut"], condition=Q(owner__isnull=True), name="canned_public_unique"),
        ]

    def __str__(self) -> str:
        return f"/{self.shortcut}"

    @property
    def is_public(self) -> bool:
        return self.owner_id is None


class Tag(models.Model):
    """Etiqueta of a conversation."""

    name = models.CharField(_("nome"), max_length=40, unique=True)
    color = models.CharField(_("cor"), max_length=7, default="#4a6fa5", help_text=_("Hexadecimal, como #4a6fa5."))
    active = models.BooleanField(_("ativa"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("etiqueta")
        verbose_name_plural = _("etiquetas")

    def __str__(self) -> str:
        return self.name


# --- provider channels (issue 7) ---------------------------------------------------------------


class ChannelAccount(models.Model):
    """One provider account: a WhatsApp phone number, a Telegram bot, a Facebook page, an
    Instagram account, a mailbox, or the PBX. Its webhook address carries ``key``; secrets are
    kept here and never shown back in full (the admin masks them).
    """

    name = models.CharField(_("nome"), max_length=120)
    channel = models.CharField(_("canal"), max_length=20, choices=Channel.choices)
    key = models.UUIDField(_("chave do webhook"), default=uuid.uuid4, unique=True, editable=False)
    external_id = models.CharField(
        _("id na plataforma"),
        max_length=120,
        blank=True,
        help_text=_("WhatsApp: phone number id; Facebook: page id; Instagram: id da conta; Telegram: id do bot."),
    )
    queue = models.ForeignKey(
        Queue, on_delete=models.PROTECT, null=True, blank=True, related_name="accounts", verbose_name=_("fila")
    )
    entry_menu = models.ForeignKey(
        BotMenu,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
        verbose_name=_("menu do pré-atendimento"),
        help_text=_("Com menu, o contato passa pelo pré-atendimento; sem menu, vai direto para a fila."),
    )
    api_base_url = models.URLField(
        _("endereço da API"), blank=True, help_text=_("Vazio: o endereço público do provedor.")
    )
    access_token = models.TextField(_("token de acesso"), blank=True)
    app_secret = models.CharField(_("segredo do app"), max_length=200, blank=True)
    verify_token = models.CharField(_("token de verificação do webhook"), max_length=200, blank=True)
    webhook_secret = models.CharField(
        _("segredo do webhook"),
        max_length=200,
        blank=True,
        help_text=_("Telegram: secret_token; PABX: chave da API; e-mail: token do inbound-parse."),
    )
    email_address = models.EmailField(_("endereço de e-mail"), blank=True)
    imap_host = models.CharField(_("servidor IMAP"), max_length=200, blank=True)
    imap_port = models.PositiveIntegerField(_("porta IMAP"), default=993)
    imap_ssl = models.BooleanField(_("IMAP com SSL"), default=True)
    imap_user = models.CharField(_("usuário IMAP"), max_length=200, blank=True)
    imap_password = models.CharField(_("senha IMAP"), max_length=200, blank=True)
    imap_folder = models.CharField(_("pasta IMAP"), max_length=200, default="INBOX")
    imap_last_uid = models.PositiveBigIntegerField(_("último UID lido"), default=0, editable=False)
    imap_uidvalidity = models.PositiveBigIntegerField(_("UIDVALIDITY"), default=0, editable=False)
    smtp_host = models.CharField(_("servidor SMTP"), max_length=200, blank=True)
    smtp_port = models.PositiveIntegerField(_("porta SMTP"), default=587)
    smtp_security = models.CharField(
        _("segurança SMTP"),
        max_length=10,
        choices=[("starttls", "STARTTLS"), ("ssl", "SSL/TLS"), ("none", _("nenhuma"))],
        default="starttls",
    )
    smtp_user = models.CharField(_("usuário SMTP"), max_length=200, blank=True)
    smtp_password = models.CharField(_("senha SMTP"), max_length=200, blank=True)
    active = models.BooleanField(_("ativa"), default=True)
    created_at = models.DateTimeField(_("criada em"), default=timezone.now)

    SECRET_FIELDS = ("access_token", "app_secret", "verify_token", "webhook_secret", "imap_password", "smtp_password")

    class Meta:
        ordering = ["channel", "name"]
        verbose_name = _("conta de canal")
        verbose_name_plural = _("contas de canais")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], condition=~Q(external_id=""), name="account_external_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.name}"


class ChannelContact(models.Model):
    """Who wrote to an account: WhatsApp wa_id, Messenger PSID, Instagram IGSID, Telegram chat,
    e-mail address or phone number."""

    account = models.ForeignKey(
        ChannelAccount, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("conta do canal")
    )
    external_id = models.CharField(_("id no canal"), max_length=255)
    # Telegram's chat.id: a signed 64-bit integer.
    chat_id = models.BigIntegerField(_("chat id"), null=True, blank=True)
    name = models.CharField(_("nome"), max_length=200, blank=True)
    customer = models.ForeignKey(
        "tickets.Customer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="channel_contacts",
        verbose_name=_("cliente"),
    )
    # WhatsApp's customer-service window: free-form replies only within 24 h of this.
    last_inbound_at = models.DateTimeField(_("última mensagem recebida"), null=True, blank=True)
    created_at = models.DateTimeField(_("criado em"), default=timezone.now)

    class Meta:
        verbose_name = _("contato do canal")
        verbose_name_plural = _("contatos dos canais")
        constraints = [
            models.UniqueConstraint(fields=["account", "external_id"], name="contact_external_unique"),
        ]

    def __str__(self) -> str:
        return self.name or self.external_id


class InboundEvent(models.Model):
    """The raw payload of everything a webhook or poll accepted, kept for audit."""

    account = models.ForeignKey(
        ChannelAccount, on_delete=models.CASCADE, related_name="inbound_events", verbose_name=_("conta do canal")
    )
    received_at = models.DateTimeField(_("recebido em"), default=timezone.now)
    kind = models.CharField(_("tipo"), max_length=40, blank=True)
    # De-duplication key where the provider gives one per delivery (Telegram's update_id).
    dedupe_key = models.CharField(_("chave de deduplicação"), max_length=120, blank=True)
    body = models.TextField(_("conteúdo recebido"))

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("evento recebido")
        verbose_name_plural = _("eventos recebidos")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "dedupe_key"], condition=~Q(dedupe_key=""), name="inbound_dedupe_unique"
            ),
        ]
        indexes = [models.Index(fields=["account", "-received_at"], name="inbound_account_idx")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.kind} {self.received_at:%d/%m/%Y %H:%M:%S}"


class CallDirection(models.TextChoices):
    INBOUND = "inbound", _("Recebida")
    OUTBOUND = "outbound", _("Realizada")


class CallType(models.TextChoices):
    NORMAL = "normal", _("Ligação")
    CALLBACK = "callback", _("Retorno solicitado")
    CAMPAIGN = "campaign", _("Campanha")


class CallOutcome(models.TextChoices):
    ANSWERED = "answered", _("Atendida")
    ABANDONED = "abandoned", _("Abandonada")
    EXPIRED = "expired", _("Expirada")


def call_recording_path(instance: "CallRecord", filename: str) -> str:
    now = timezone.now()
    return f"recordings/{now:%Y/%m}/{uuid.uuid4().hex}/{filename}"


class CallRecord(models.Model):
    """A call the PBX reported; it is (or becomes) a conversation of channel Voz."""

    account = models.ForeignKey(
        ChannelAccount, on_delete=models.PROTECT, related_name="calls", verbose_name=_("PABX")
    )
    external_id = models.CharField(_("id da ligação no PABX"), max_length=120)
    conversation = models.OneToOneField(
        Conversation, on_delete=models.PROTECT, null=True, blank=True, related_name="call", verbose_name=_("conversa")
    )
    direction = models.CharField(_("sentido"), max_length=10, choices=CallDirection.choices)
    call_type = models.CharField(_("tipo"), max_length=10, choices=CallType.choices, default=CallType.NORMAL)
    campaign = models.CharField(_("campanha"), max_length=120, blank=True)
    number = models.CharField(_("número"), max_length=30)
    queue = models.ForeignKey(
        Queue, on_delete=models.PROTECT, null=True, blank=True, related_name="calls", verbose_name=_("fila")
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("agente")
    )
    ringing_at = models.DateTimeField(_("início do toque"))
    answered_at = models.DateTimeField(_("atendida em"), null=True, blank=True)
    ended_at = models.DateTimeField(_("encerrada em"), null=True, blank=True)
    outcome = models.CharField(_("resultado"), max_length=10, choices=CallOutcome.choices, blank=True)
    disposition = models.CharField(_("tabulação"), max_length=120, blank=True)
    tags = models.JSONField(_("etiquetas"), default=list, blank=True)
    recording = models.FileField(_("gravação"), upload_to=call_recording_path, max_length=255, blank=True)
    recording_type = models.CharField(_("tipo da gravação"), max_length=100, blank=True)

    class Meta:
        ordering = ["-ringing_at", "-id"]
        verbose_name = _("ligação")
        verbose_name_plural = _("ligações")
        constraints = [models.UniqueConstraint(fields=["account", "external_id"], name="call_external_unique")]
        indexes = [models.Index(fields=["direction", "-ringing_at"], name="call_direction_idx")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.number}"

    @property
    def duration(self):
        """Talk time: from answer to end."""
        if self.answered_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.answered_at


class Evaluation(models.Model):
    """Avaliação SAC Plus: the customer's 1–5 rating and comment after a conversation or ticket
    ends, answered on a public page through a signed, single-use, expiring token
    (``omnichannel.evaluations``)."""

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, null=True, blank=True, related_name="evaluations", verbose_name=_("atendimento")
    )
    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, null=True, blank=True, related_name="evaluation", verbose_name=_("conversa")
    )
    # Who is rated: the agent who handled the conversation (Média de avaliação omnichannel).
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("agente")
    )
    channel = models.CharField(_("canal do pedido"), max_length=20, choices=Channel.choices)
    # The token's random part; the link carries it signed, so a tampered link is refused.
    nonce = models.CharField(_("nonce"), max_length=64, unique=True, editable=False)
    requested_at = models.DateTimeField(_("solicitada em"), default=timezone.now)
    last_sent_at = models.DateTimeField(_("último envio"), null=True, blank=True)
    send_count = models.PositiveSmallIntegerField(_("envios"), default=0)
    expires_at = models.DateTimeField(_("expira em"))
    answered_at = models.DateTimeField(_("respondida em"), null=True, blank=True)
    score = models.PositiveSmallIntegerField(
        _("nota"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(_("comentário"), blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("avaliação SAC Plus")
        verbose_name_plural = _("avaliações SAC Plus")
        constraints = [
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=1, score__lte=5), name="evaluation_score_range"
            ),
            models.CheckConstraint(
                condition=Q(ticket__isnull=False) | Q(conversation__isnull=False), name="evaluation_has_subject"
            ),
        ]
        indexes = [
            models.Index(fields=["agent", "answered_at"], condition=Q(score__isnull=False), name="evaluation_agent_idx"),
            models.Index(fields=["ticket"], name="evaluation_ticket_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.score or '-'}"
