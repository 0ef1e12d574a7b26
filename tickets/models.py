"""The core of the service desk: teams, customers, catalogue, processes, tickets.

Tickets are only ever written through ``tickets.services``; every change is
recorded as a ``TicketEvent`` through ``tickets.events.record``.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.documents import format_document, normalize_document, validate_cnpj, validate_document

MAX_CATEGORY_LEVEL = 5


class UF(models.TextChoices):
    AC = "AC", "Acre"
    AL = "AL", "Alagoas"
    AP = "AP", "Amapá"
    AM = "AM", "Amazonas"
    BA = "BA", "Bahia"
    CE = "CE", "Ceará"
    DF = "DF", "Distrito Federal"
    ES = "ES", "Espírito Santo"
    GO = "GO", "Goiás"
    MA = "MA", "Maranhão"
    MT = "MT", "Mato Grosso"
    MS = "MS", "Mato Grosso do Sul"
    MG = "MG", "Minas Gerais"
    PA = "PA", "Pará"
    PB = "PB", "Paraíba"
    PR = "PR", "Paraná"
    PE = "PE", "Pernambuco"
    PI = "PI", "Piauí"
    RJ = "RJ", "Rio de Janeiro"
    RN = "RN", "Rio Grande do Norte"
    RS = "RS", "Rio Grande do Sul"
    RO = "RO", "Rondônia"
    RR = "RR", "Roraima"
    SC = "SC", "Santa Catarina"
    SP = "SP", "São Paulo"
    SE = "SE", "Sergipe"
    TO = "TO", "Tocantins"


class Counter(models.Model):
    """Gap-free sequences (ticket code, protocol per year, service-order code).

    Incremented with a conditional UPDATE inside the caller's transaction, so
    the row lock serialises concurrent openings.
    """

    key = models.CharField(max_length=40, primary_key=True)
    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("contador")
        verbose_name_plural = _("contadores")

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class Team(models.Model):
    name = models.CharField(_("nome"), max_length=120, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="teams", blank=True, verbose_name=_("membros")
    )
    supervisors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="supervised_teams",
        blank=True,
        verbose_name=_("supervisores"),
    )
    active = models.BooleanField(_("ativa"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("equipe")
        verbose_name_plural = _("equipes")

    def __str__(self) -> str:
        return self.name


class Company(models.Model):
    name = models.CharField(_("nome"), max_length=150)
    cnpj = models.CharField(_("CNPJ"), max_length=14, unique=True, validators=[validate_cnpj])
    city = models.CharField(_("cidade"), max_length=100, blank=True)
    state = models.CharField(_("UF"), max_length=2, choices=UF.choices, blank=True)
    active = models.BooleanField(_("ativa"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("empresa")
        verbose_name_plural = _("empresas")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.cnpj = normalize_document(self.cnpj)
        super().save(*args, **kwargs)

    def clean_fields(self, exclude=None) -> None:
        # Normalise first: a punctuated CNPJ has 18 characters and would fail max_length.
        self.cnpj = normalize_document(self.cnpj)
        super().clean_fields(exclude=exclude)


class AddressFields(models.Model):
    street = models.CharField(_("logradouro"), max_length=200, blank=True)
    number = models.CharField(_("número"), max_length=20, blank=True)
    complement = models.CharField(_("complemento"), max_length=100, blank=True)
    neighbourhood = models.CharField(_("bairro"), max_length=100, blank=True)
    city = models.CharField(_("cidade"), max_length=100, blank=True)
    state = models.CharField(_("UF"), max_length=2, choices=UF.choices, blank=True)
    zip_code = models.CharField(_("CEP"), max_length=9, blank=True)
    condominium = models.CharField(_("condomínio"), max_length=120, blank=True)

    ADDRESS_FIELDS = (
        "street",
        "number",
        "complement",
        "neighbourhood",
        "city",
        "state",
        "zip_code",
        "condominium",
    )

    class Meta:
        abstract = True

    @property
    def address_line(self) -> str:
        parts = [p for p in (self.street, self.number) if p]
        line = ", ".join(parts)
        if self.neighbourhood:
            line = f"{line} - {self.neighbourhood}" if line else self.neighbourhood
        if self.city:
            line = f"{line}, {self.city}/{self.state}" if line else f"{self.city}/{self.state}"
        return line


class Customer(AddressFields):
    name = models.CharField(_("nome"), max_length=200)
    document = models.CharField(
        _("CPF/CNPJ"),
        max_length=14,
        unique=True,
        validators=[validate_document],
        help_text=_("CPF ou CNPJ, com ou sem pontuação; guardado sem pontuação."),
    )
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("telefone"), max_length=20, blank=True)
    mobile = models.CharField(_("celular"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("cadastrado em"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("cliente")
        verbose_name_plural = _("clientes")
        indexes = [
            models.Index(fields=["name"], name="customer_name_idx"),
            # The name by id from the index alone: grids sorted by the customer's name read it
            # for thousands of rows.
            models.Index(fields=["id", "name"], name="customer_id_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name_document

    def save(self, *args, **kwargs):
        self.document = normalize_document(self.document)
        super().save(*args, **kwargs)

    @property
    def name_document(self) -> str:
        """"Nome/Documento" as the grids show it."""
        return f"{self.name} - {format_document(self.document)}"

    @property
    def document_display(self) -> str:
        return format_document(self.document)

    @property
    def is_company(self) -> bool:
        return len(self.document) == 14

    def clean_fields(self, exclude=None) -> None:
        # Normalise before the field checks: a punctuated CNPJ has 18 characters
        # and would fail max_length, and uniqueness must compare stored forms.
        self.document = normalize_document(self.document)
        super().clean_fields(exclude=exclude)


class Category(models.Model):
    """A node of the category tree, at most ``MAX_CATEGORY_LEVEL`` deep."""

    name = models.CharField(_("nome"), max_length=120)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("categoria pai"),
    )
    level = models.PositiveSmallIntegerField(_("nível"), default=1, editable=False)
    active = models.BooleanField(_("ativa"), default=True)

    class Meta:
        ordering = ["level", "name"]
        verbose_name = _("categoria")
        verbose_name_plural = _("categorias")
        constraints = [
            models.CheckConstraint(
                condition=Q(level__gte=1) & Q(level__lte=MAX_CATEGORY_LEVEL), name="category_level_1_to_5"
            ),
            models.UniqueConstraint(fields=["parent", "name"], name="category_unique_name_per_parent"),
        ]

    def __str__(self) -> str:
        return self.path

    def save(self, *args, **kwargs):
        old_level = None
        if self.pk is not None:
            old_level = Category.objects.filter(pk=self.pk).values_list("level", flat=True).first()
        self.level = 1 if self.parent is None else self.parent.level + 1
        with transaction.atomic():
            super().save(*args, **kwargs)
            if old_level is not None and old_level != self.level:
                # Keep the stored level of the moved subtree true; the check
                # constraint refuses the move if it would pass the limit.
                for offset, ids in enumerate(self._descendant_levels(), start=1):
                    Category.objects.filter(pk__in=ids).update(level=self.level + offset)

    @property
    def path(self) -> str:
        names = []
        node: Category | None = self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return " / ".join(reversed(names))

    def _descendant_levels(self) -> list[list[int]]:
        """Ids of the descendants, one list per generation below this node."""
        generations: list[list[int]] = []
        frontier = [self.pk]
        # A valid tree has at most MAX_CATEGORY_LEVEL - 1 generations below a node.
        for _generation in range(MAX_CATEGORY_LEVEL):
            frontier = list(Category.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
            if not frontier:
                break
            generations.append(frontier)
        return generations

    def clean(self) -> None:
        node = self.parent
        while node is not None:
            if self.pk and node.pk == self.pk:
                raise ValidationError({"parent": _("Uma categoria não pode ser pai de si mesma.")})
            node = node.parent
        level = 1 if self.parent is None else self.parent.level + 1
        # Moving a node moves its subtree: the deepest descendant must stay within the limit.
        depth_below = len(self._descendant_levels()) if self.pk else 0
        if level + depth_below > MAX_CATEGORY_LEVEL:
            raise ValidationError(
                {"parent": _("Uma categoria pode ter no máximo %(max)s níveis.") % {"max": MAX_CATEGORY_LEVEL}}
            )


class RequestType(models.Model):
    name = models.CharField(_("nome"), max_length=120, unique=True)
    active = models.BooleanField(_("ativo"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tipo de solicitação")
        verbose_name_plural = _("tipos de solicitação")

    def __str__(self) -> str:
        return self.name


class ServiceCatalogItem(models.Model):
    name = models.CharField(_("nome"), max_length=120, unique=True)
    description = models.TextField(_("descrição"), blank=True)
    active = models.BooleanField(_("ativo"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("item do catálogo de serviço")
        verbose_name_plural = _("itens do catálogo de serviço")

    def __str__(self) -> str:
        return self.name


class CategoryMatrix(models.Model):
    """Joins a category path with a request type and a catalogue item.

    The SLA policy ("Situação de SLA") of a matrix is kept by the ``sla`` app,
    which depends on this one.
    """

    name = models.CharField(_("nome"), max_length=150)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="matrices", verbose_name=_("categoria")
    )
    request_type = models.ForeignKey(
        RequestType, on_delete=models.PROTECT, verbose_name=_("tipo de solicitação")
    )
    catalog_item = models.ForeignKey(
        ServiceCatalogItem,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("catálogo de serviço"),
    )
    active = models.BooleanField(_("ativa"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("matriz de categorias")
        verbose_name_plural = _("matrizes de categorias")
        constraints = [
            models.UniqueConstraint(fields=["category", "request_type"], name="matrix_unique_category_type")
        ]

    def __str__(self) -> str:
        return self.name


class Process(models.Model):
    name = models.CharField(_("nome"), max_length=120, unique=True)
    description = models.TextField(_("descrição"), blank=True)
    order = models.PositiveIntegerField(_("ordem"), default=0)
    active = models.BooleanField(_("ativo"), default=True)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("processo")
        verbose_name_plural = _("processos")

    def __str__(self) -> str:
        return self.name


class Subprocess(models.Model):
    process = models.ForeignKey(
        Process, on_delete=models.CASCADE, related_name="subprocesses", verbose_name=_("processo")
    )
    name = models.CharField(_("nome"), max_length=120)
    expected_hours = models.DecimalField(
        _("duração prevista (horas)"), max_digits=7, decimal_places=2, default=24
    )
    order = models.PositiveIntegerField(_("ordem"), default=1)
    active = models.BooleanField(_("ativo"), default=True)

    class Meta:
        ordering = ["process", "order"]
        verbose_name = _("subprocesso")
        verbose_name_plural = _("subprocessos")
        constraints = [
            models.UniqueConstraint(fields=["process", "order"], name="subprocess_unique_order"),
            models.CheckConstraint(condition=Q(expected_hours__gt=0), name="subprocess_positive_duration"),
        ]

    def __str__(self) -> str:
        return self.name


class Classification(models.Model):
    class Kind(models.TextChoices):
        OPENING = "opening", _("Abertura")
        CLOSING = "closing", _("Encerramento")

    name = models.CharField(_("nome"), max_length=120)
    kind = models.CharField(_("tipo"), max_length=10, choices=Kind.choices)
    active = models.BooleanField(_("ativa"), default=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("classificação")
        verbose_name_plural = _("classificações")
        constraints = [models.UniqueConstraint(fields=["kind", "name"], name="classification_unique_name")]

    def __str__(self) -> str:
        return self.name


class Origin(models.TextChoices):
    """Origem do contato (DOMAIN.md)."""

    EMAIL = "email", _("E-mail")
    OTHER = "other", _("Outros")
    IN_PERSON = "in_person", _("Presencial")
    SAC = "sac", _("SAC")
    SITE = "site", _("Site")
    PHONE = "phone", _("Telefônico")
    TECHNICIAN = "technician", _("Através de um técnico")
    CRM = "crm", _("CRM")
    WHATSAPP = "whatsapp", _("WhatsApp")
    FACEBOOK = "facebook", _("Facebook")
    INSTAGRAM = "instagram", _("Instagram")
    MESSENGER = "messenger", _("Messenger")
    TELEGRAM = "telegram", _("Telegram")
    LIVE_CHAT = "live_chat", _("Live Chat")
    SMS = "sms", _("SMS")
    BOT = "bot", _("MKBot Assistant")
    MONITORING = "monitoring", _("Monitoramento")
    RECLAME_AQUI = "reclame_aqui", _("Reclame Aqui")


class ServiceOrderStatus(models.TextChoices):
    NONE = "none", _("Inexistente")
    UNSCHEDULED = "unscheduled", _("Sem agendamento")
    SCHEDULED = "scheduled", _("Agendada")
    COMPLETED = "completed", _("Concluída")


class Ticket(AddressFields):
    """Atendimento. Open while ``closed_at`` is null."""

    code = models.PositiveBigIntegerField(_("código"), unique=True)
    protocol = models.CharField(_("protocolo"), max_length=20, unique=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("cliente")
    )
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("empresa"))
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("equipe"))
    process = models.ForeignKey(Process, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("processo"))
    current_subprocess = models.ForeignKey(
        Subprocess,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("subprocesso"),
    )
    category_matrix = models.ForeignKey(
        CategoryMatrix,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("matriz de categorias"),
    )
    origin = models.CharField(_("origem do contato"), max_length=20, choices=Origin.choices)
    opening_classification = models.ForeignKey(
        Classification,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": Classification.Kind.OPENING},
        verbose_name=_("classificação de abertura"),
    )
    closing_classification = models.ForeignKey(
        Classification,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": Classification.Kind.CLOSING},
        verbose_name=_("classificação de encerramento"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("resgate"),
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="opened_tickets",
        verbose_name=_("operador de abertura"),
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="closed_tickets",
        verbose_name=_("técnico que encerrou"),
    )
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="watched_tickets",
        blank=True,
        verbose_name=_("operadores visualizadores"),
    )
    customer_report = models.TextField(_("relato do cliente"), blank=True)
    # Denormalised from the ticket's service orders by the service-order
    # operations, so the grids show and filter "Ordem de Serviço" without a join.
    service_order_status = models.CharField(
        _("ordem de serviço"), max_length=12, choices=ServiceOrderStatus.choices, default=ServiceOrderStatus.NONE
    )
    # The latest O.S. too ("O.S. vinculada" and "O.S. atrasada" of the "Em O.S." panels),
    # kept by the same operations.
    service_order_code = models.PositiveBigIntegerField(_("O.S. vinculada"), null=True, blank=True)
    service_order_due_at = models.DateTimeField(_("prazo da O.S."), null=True, blank=True)
    service_order_completed_at = models.DateTimeField(_("O.S. concluída em"), null=True, blank=True)
    opened_at = models.DateTimeField(_("abertura"), default=timezone.now)
    closed_at = models.DateTimeField(_("fechamento"), null=True, blank=True)
    # A copy of the SLA clock's breach time (``sla.SlaClock.breached_at``), written by the sla app
    # with every change of the clock's: the late panels filter on it with the visibility columns
    # in one index, without joining the clocks.
    sla_breached_at = models.DateTimeField(_("atrasado em"), null=True, blank=True, editable=False)
    # A copy of the SLA clock's deadline (``sla.SlaClock.due_at``), written with it: the grids'
    # "SLA" sort walks the open tickets' index by it instead of joining and sorting every clock.
    sla_due_at = models.DateTimeField(_("prazo do SLA"), null=True, blank=True, editable=False)
    # How many events the ticket's log holds: the "Interações" grid counts the events of the
    # open tickets by adding these up (one pass over the open tickets, not ~180,000 events at
    # a million tickets). Only ever changed by an UPDATE ... + n of whoever writes events
    # (``events.record``, the SLA scan, the demo data); ``save()`` never writes it back.
    event_count = models.PositiveIntegerField(_("interações"), default=0, editable=False)
    updated_at = models.DateTimeField(_("atualizado em"), auto_now=True)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("atendimento")
        verbose_name_plural = _("atendimentos")
        permissions = [
            ("tool_new", _("Ferramenta: Novo atendimento")),
            ("tool_edit", _("Ferramenta: Editar atendimento")),
            ("tool_modify_sla", _("Ferramenta: Modificar SLA")),
            ("tool_resend_evaluation", _("Ferramenta: Reenviar avaliação para o SAC Plus")),
            ("tool_export", _("Ferramenta: Exportar grade")),
        ]
        indexes = [
            # With the id: the panels join a supervised team's tickets to their SLA clocks
            # (hash join) from this index alone.
            # With the origin: "Pesquisa avançada" filtered by it counts from the index alone.
            models.Index(fields=["team", "-opened_at", "id", "origin"], name="ticket_team_opened_origin_idx"),
            models.Index(
                fields=["team", "-opened_at"], condition=Q(closed_at__isnull=True), name="ticket_open_team_idx"
            ),
            models.Index(fields=["assignee", "-opened_at"], name="ticket_assignee_idx"),
            models.Index(fields=["customer", "-opened_at"], name="ticket_customer_idx"),
            # The panels (dashboards) seek by (sort key, id); the trailing team and assignee
            # columns are what the visibility rule reads, so a page and the row count are
            # answered from the index alone (index-only scans, no heap visit per row).
            # Key columns rather than INCLUDE, which SQLite (the embedded default) lacks.
            # The trailing origin ("Origem do contato", the panels' most used header filter)
            # keeps a count filtered by it index-only too.
            # Open tickets newest first ("Abertos"). With the customer: a grid of open tickets'
            # stages sorted by the customer's name hashes the open tickets from this index alone.
            # With the event count: the open tickets' badges, "Interações" included (the sum of
            # the counts), are one index-only pass.
            models.Index(
                fields=["-opened_at", "-id", "team", "assignee", "origin", "customer", "event_count"],
                condition=Q(closed_at__isnull=True),
                name="ticket_open_vis_events_idx",
            ),
            # Finalized tickets by finalization ("Finalizados").
            models.Index(
                fields=["-closed_at", "-id", "team", "assignee", "origin"],
                condition=Q(closed_at__isnull=False),
                name="ticket_closed_vis_origin_idx",
            ),
            # The same per team: a supervisor's finalized tickets of a period are one range
            # per supervised team (the panels count the visible rows branch by branch).
            models.Index(
                fields=["team", "-closed_at", "id"], condition=Q(closed_at__isnull=False), name="ticket_closed_team_idx"
            ),
            # Every ticket newest first ("Pesquisa avançada").
            models.Index(fields=["-opened_at", "-id", "team", "assignee"], name="ticket_opened_vis_idx"),
            # "Em O.S.": tickets with a service order, newest first, with what "O.S. atrasada" reads
            # (and the origin, for a count filtered by it).
            models.Index(
                fields=[
                    "-opened_at", "-id", "team", "assignee",
                    "service_order_status", "service_order_due_at", "service_order_completed_at", "origin",
                ],
                condition=~Q(service_order_status="none"),
                name="ticket_so_vis_origin_idx",
            ),
            # "Com O.S. ainda aberta": the latest O.S. not completed.
            models.Index(
                fields=["-opened_at", "-id", "team", "assignee"],
                condition=Q(service_order_status__in=["unscheduled", "scheduled"]),
                name="ticket_so_open_vis_idx",
            ),
            # Breached tickets ("Atrasados"), newest first, with the breach time for the period.
            models.Index(
                fields=["-opened_at", "-id", "team", "assignee", "sla_breached_at"],
                condition=Q(sla_breached_at__isnull=False),
                name="ticket_late_vis_idx",
            ),
            # Breached tickets by protocol: a breach period sorted by protocol walks this index
            # and tests the period and the visibility on it, without visiting the rows it skips.
            models.Index(
                fields=["protocol", "id", "sla_breached_at", "team", "assignee"],
                condition=Q(sla_breached_at__isnull=False),
                name="ticket_late_protocol_idx",
            ),
            # The same counted per visibility branch: a breach period per team, per assignee.
            # With the finalization: "Finalizado" filtered counts stay index-only.
            models.Index(
                fields=["team", "sla_breached_at", "id", "closed_at"],
                condition=Q(sla_breached_at__isnull=False),
                name="ticket_late_team_closed_idx",
            ),
            models.Index(
                fields=["assignee", "sla_breached_at", "id", "closed_at"],
                condition=Q(sla_breached_at__isnull=False),
                name="ticket_late_assignee_cl_idx",
            ),
            # "Finalizados com atraso": finalized breached tickets by finalization, and per team.
            models.Index(
                fields=["-closed_at", "-id", "team", "assignee", "origin"],
                condition=Q(closed_at__isnull=False, sla_breached_at__isnull=False),
                name="ticket_closed_late_origin_idx",
            ),
            models.Index(
                fields=["team", "-closed_at", "id"],
                condition=Q(closed_at__isnull=False, sla_breached_at__isnull=False),
                name="ticket_closed_late_team_idx",
            ),
            # Rows that hold a ticket (stages, events, SLA clocks) check its visibility and
            # state (and origin) by id without visiting the ticket row; with the breach time, so
            # does the watch-list branch of a late period.
            models.Index(
                fields=["id", "team", "assignee", "closed_at", "origin", "sla_breached_at"],
                name="ticket_id_vis_late_idx",
            ),
            # Open tickets with every dimension of "Gráfico sintético" (operator, process,
            # subprocess, origin, city, company, classification, day of opening): the pivot
            # aggregates the visible open tickets from this index alone, without reading
            # the 26,000 heap rows scattered over the table at 1M.
            models.Index(
                fields=[
                    "team", "assignee", "id", "process", "current_subprocess", "origin", "company",
                    "opening_classification", "opened_at", "city",
                ],
                condition=Q(closed_at__isnull=True),
                name="ticket_open_pivot_idx",
            ),
            # Open tickets by SLA deadline, with the visibility columns: the "SLA" sort of the open
            # views, and of their events ("Interações"), reads the first tickets of this range.
            models.Index(
                fields=["sla_due_at", "id", "team", "assignee"],
                condition=Q(closed_at__isnull=True),
                name="ticket_open_sla_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.protocol})"

    def save(self, *args, **kwargs):
        # ``event_count`` is the events writers' (an UPDATE ... + 1 each): a ticket read before
        # an event was recorded and saved whole afterwards must not write its stale copy back.
        if not self._state.adding and kwargs.get("update_fields") is None and not kwargs.get("force_insert"):
            # As Django does for a partly loaded row: only the fields it holds.
            skipped = {"event_count", *self.get_deferred_fields()}
            kwargs["update_fields"] = [
                f.name for f in self._meta.concrete_fields if not f.primary_key and f.attname not in skipped
            ]
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def assignee_display(self) -> str:
        if self.assignee_id is None:
            return str(_("Sem resgate"))
        return self.assignee.get_full_name() or self.assignee.get_username()


class TicketStage(models.Model):
    """One subprocess a ticket went through: started, due, finished."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="stages", verbose_name=_("atendimento"))
    subprocess = models.ForeignKey(Subprocess, on_delete=models.PROTECT, related_name="+", verbose_name=_("subprocesso"))
    started_at = models.DateTimeField(_("início"), default=timezone.now)
    due_at = models.DateTimeField(_("fim previsto"))
    finished_at = models.DateTimeField(_("fim"), null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    finished_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["ticket", "started_at"]
        verbose_name = _("etapa do subprocesso")
        verbose_name_plural = _("etapas dos subprocessos")
        constraints = [
            # At most one unfinished stage per ticket.
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(finished_at__isnull=True), name="stage_one_open_per_ticket"
            )
        ]
        indexes = [
            # "Prazos dos subprocessos" and "Subprocessos atrasados": unfinished stages by due
            # time, seeking by (due_at, id), with the ticket id for the visibility check and
            # the subprocess "Processo x Subprocesso" groups by (its counts read no stage row).
            models.Index(
                fields=["due_at", "id", "ticket", "subprocess"],
                condition=Q(finished_at__isnull=True),
                name="stage_open_due_sub_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.subprocess}"

    @property
    def is_late(self) -> bool:
        end = self.finished_at or timezone.now()
        return end > self.due_at


class ServiceOrder(models.Model):
    class Status(models.TextChoices):
        UNSCHEDULED = "unscheduled", _("Sem agendamento")
        SCHEDULED = "scheduled", _("Agendada")
        COMPLETED = "completed", _("Concluída")

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="service_orders", verbose_name=_("atendimento")
    )
    code = models.PositiveBigIntegerField(_("código"), unique=True)
    status = models.CharField(_("situação"), max_length=12, choices=Status.choices, default=Status.UNSCHEDULED)
    description = models.TextField(_("descrição"), blank=True)
    scheduled_for = models.DateTimeField(_("agendada para"), null=True, blank=True)
    due_at = models.DateTimeField(_("prazo"), null=True, blank=True)
    completed_at = models.DateTimeField(_("concluída em"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("criada em"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("ordem de serviço")
        verbose_name_plural = _("ordens de serviço")
        indexes = [models.Index(fields=["ticket", "-created_at"], name="so_ticket_idx")]

    def __str__(self) -> str:
        return f"O.S. {self.code}"

    @property
    def is_late(self) -> bool:
        if self.due_at is None:
            return False
        end = self.completed_at or timezone.now()
        return end > self.due_at


def attachment_path(instance: "Attachment", filename: str) -> str:
    now = timezone.now()
    return f"attachments/{now:%Y/%m}/{instance.ticket_id}/{filename}"


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("atendimento"))
    file = models.FileField(_("arquivo"), upload_to=attachment_path, max_length=255)
    original_name = models.CharField(_("nome do arquivo"), max_length=255)
    content_type = models.CharField(_("tipo"), max_length=120)
    size = models.PositiveBigIntegerField(_("tamanho (bytes)"))
    description = models.CharField(_("descrição"), max_length=255, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("incluído em"), default=timezone.now)

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = _("anexo")
        verbose_name_plural = _("anexos")

    def __str__(self) -> str:
        return self.original_name


class Comment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments", verbose_name=_("atendimento"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("comentário"))
    created_at = models.DateTimeField(_("criado em"), default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("comentário")
        verbose_name_plural = _("comentários")

    def __str__(self) -> str:
        return self.body[:60]


class EventKind(models.TextChoices):
    """Every interaction of 001 ("Interações"), plus the ones our operations add.

    The label is the sentence the timeline shows; ``{at}`` is the event's local
    time (DD/MM/AAAA HH:MM:SS) and other names come from the event's data.
    """

    IMAGE_DESCRIPTION_CHANGED = "image_description_changed", _("Alteração de descrição de imagem em {at}")
    REPORT_CHANGED = "report_changed", _("Alteração de relato do cliente em {at}")
    SLA_CHANGED = "sla_changed", _("Alteração de SLA em {at}")
    STARTED = "started", _("Atendimento protocolo {protocol} iniciado em {at}")
    CRM_LINKED = "crm_linked", _("Atendimento vinculado a CRM")
    FORWARD_COMMENT = "forward_comment", _("Comentário ao encaminhar em {at}")
    EVALUATION_COMMENT = "evaluation_comment", _("Comentário da avaliação via SAC PLUS - {at}")
    ASSISTANT_COMMENT = "assistant_comment", _("Comentário de retorno do assistente inserido em {at}")
    FINALIZE_COMMENT = "finalize_comment", _("Comentário inserido ao finalizar em {at}")
    OPENING_COMMENT = "opening_comment", _("Comentário registrado ao iniciar atendimento")
    EXPRESS_QUERY = "express_query", _("Consulta expressa em {at}")
    ATTACHMENT_DOWNLOADED = "attachment_downloaded", _("Download de anexo solicitado em {at}")
    FORWARDED = "forwarded", _("Encaminhando atendimento para novo processo {process}")
    SUBPROCESS_FINISHED = "subprocess_finished", _("Encerramento do subprocesso {subprocess}")
    ATTACHMENT_DELETED = "attachment_deleted", _("Exclusão de anexo solicitado em {at}")
    WATCHER_REMOVED = "watcher_removed", _("Exclusão de operador visualizador em {at}")
    CLOSED = "closed", _("Fechamento deste atendimento realizado em {at}")
    SUBPROCESS_STARTED = "subprocess_started", _("Iniciando subprocesso {subprocess}")
    LEAD_CREATED = "lead_created", _("Lead criada")
    LEAD_FINALIZED = "lead_finalized", _("Lead finalizada")
    LEAD_UNFEASIBLE = "lead_unfeasible", _("Lead Inviabilizada")
    LEAD_STATUS_CHANGED = "lead_status_changed", _("Lead mudou de status")
    LEAD_REMOVED = "lead_removed", _("Lead removida")
    RELEASED = "released", _("Liberação de atendimento")
    OUTAGE_FOUND = "outage_found", _("Notificação de parada encontrada {outage}")
    CONNECTION_CREATED = "connection_created", _("Nova conexão criada em {at}")
    SERVICE_ORDER_CREATED = "service_order_created", _("Nova O.S. inserida em {at}")
    ATTACHMENT_ADDED = "attachment_added", _("Novo anexo incluído em {at}")
    COMMENT_ADDED = "comment_added", _("Novo comentário em {at}")
    OPERATOR_ADDED = "operator_added", _("Novo operador incluído em {at}")
    WATCHER_ADDED = "watcher_added", _("Novo operador incluído nesse atendimento em {at}")
    SERVICE_ORDER_REMOVED = "service_order_removed", _("O.S. removida em {at}")
    SLA_DEFAULTS_SET = "sla_defaults_set", _("Padrões de SLA e classificação definidos")
    CUSTOMER_INFO = "customer_info", _("Principais informações sobre o cliente")
    TOOL_CHANGE_MAC = "tool_change_mac", _("Registro de uso de ferramenta Alterar MAC em {at}")
    TOOL_CHANGE_IP = "tool_change_ip", _("Registro de uso de ferramenta Alterar o IP em {at}")
    TOOL_BLOCK_CONNECTION = "tool_block_connection", _("Registro de uso de ferramenta Bloquear a Conexão em {at}")
    TOOL_UNBLOCK_CONNECTION = "tool_unblock_connection", _(
        "Registro de uso de ferramenta Desbloquear a conexão em {at}"
    )
    TOOL_EDIT_CONNECTION = "tool_edit_connection", _("Registro de uso de ferramenta Editar Conexão em {at}")
    TOOL_MANAGE_EXCEPTIONS = "tool_manage_exceptions", _("Registro de uso de ferramenta Gerenciar exceções em {at}")
    TOOL_CHANGE_CREDENTIALS = "tool_change_credentials", _(
        "Registro de uso de ferramenta Trocar Usuário e Senha em {at}"
    )
    CLAIMED = "claimed", _("Resgate de atendimento")
    CREATED = "created", _("Solicitação criada")
    CANCELLATION_REQUESTED = "cancellation_requested", _("Solicitação de cancelamento")
    INVOICE_COPY_EMAIL = "invoice_copy_email", _("Solicitação de segunda via por email")
    INVOICE_COPY_SMS = "invoice_copy_sms", _("Solicitação de segunda via por SMS")
    SERVICE_ORDER_EDITED = "service_order_edited", _("Solicitada a edição de uma O.S. desse atendimento em {at}")
    SERVICE_ORDER_VIEWED = "service_order_viewed", _("Uma O.S. desse atendimento foi visualizada em {at}")
    # Interactions of our own operations that 001 does not name.
    EDITED = "edited", _("Atendimento editado em {at}")
    TEAM_TRANSFERRED = "team_transferred", _("Atendimento transferido para a equipe {team} em {at}")
    SERVICE_ORDER_COMPLETED = "service_order_completed", _("O.S. concluída em {at}")
    REOPENED = "reopened", _("Atendimento reaberto em {at}")
    # Omnichannel conversations on the ticket ({protocol} is the conversation's own, C2026.000123).
    CONVERSATION_STARTED = "conversation_started", _(
        "Atendimento aberto pela conversa {protocol} ({channel_name}) em {at}"
    )
    CONVERSATION_JOINED = "conversation_joined", _(
        "Conversa {protocol} ({channel_name}) vinculada a este atendimento em {at}"
    )
    CONVERSATION_CLOSED = "conversation_closed", _(
        "Conversa {protocol} ({channel_name}) encerrada como {status_name} em {at}"
    )
    EVALUATION_NOT_SENT = "evaluation_not_sent", _("Avaliação SAC PLUS não enviada em {at}: {reason}")


class TicketEvent(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events", verbose_name=_("atendimento"))
    kind = models.CharField(_("tipo"), max_length=40, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("operador"),
    )
    created_at = models.DateTimeField(_("data e hora"), default=timezone.now)
    data = models.JSONField(_("dados"), default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("evento do atendimento")
        verbose_name_plural = _("eventos do atendimento")
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="event_ticket_idx"),
            models.Index(fields=["-created_at"], name="event_created_idx"),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        from tickets.events import event_text

        return event_text(self)
