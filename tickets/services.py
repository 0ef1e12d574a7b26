"""Operations on tickets: the only code that writes them.

Each operation takes the acting user, checks permissions, writes in one
transaction, records its events with ``record(...)`` and publishes the change
after commit. Bad input raises ``ValidationError`` (pt-BR message), a missing
permission ``PermissionDenied``; either way nothing is changed.
"""

from datetime import datetime
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from tickets import hooks
from tickets.deadlines import stage_due
from tickets.documents import normalize_document
from tickets.events import record
from tickets.models import (
    Attachment,
    CategoryMatrix,
    Classification,
    Comment,
    Company,
    Counter,
    Customer,
    EventKind,
    Origin,
    Process,
    ServiceOrder,
    ServiceOrderStatus,
    Subprocess,
    Team,
    Ticket,
    TicketStage,
)
from tickets.publish import publish_ticket_change
from tickets.roles import is_admin, is_supervisor
from tickets.selectors import access_ticket, supervised_team_ids

User = get_user_model()

EDITABLE_FIELDS = (
    "customer",
    "company",
    "origin",
    "category_matrix",
    "opening_classification",
    "customer_report",
    *Ticket.ADDRESS_FIELDS,
)


# --- helpers ------------------------------------------------------------------


def next_counter(key: str) -> int:
    """Next value of a gap-free sequence; the row stays locked until commit."""
    Counter.objects.get_or_create(key=key)
    Counter.objects.filter(key=key).update(value=F("value") + 1)
    return Counter.objects.values_list("value", flat=True).get(key=key)


def format_protocol(year: int, number: int) -> str:
    return f"{year}.{number:06d}"


def _require_perm(actor: AbstractBaseUser, perm: str, message: str) -> None:
    if not actor.has_perm(perm):
        raise PermissionDenied(message)


def supervises(actor: AbstractBaseUser, team_id: int) -> bool:
    if is_admin(actor):
        return True
    return is_supervisor(actor) and team_id in supervised_team_ids(actor)


def _lock(actor: AbstractBaseUser, ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock, through the actor's visibility."""
    return access_ticket(actor, ticket.pk, for_update=True)


def _require_open(ticket: Ticket) -> None:
    if ticket.closed_at is not None:
        raise ValidationError(_("O atendimento %(code)s está finalizado e não pode ser alterado.") % {"code": ticket.code})


def _require_worker(actor: AbstractBaseUser, ticket: Ticket) -> None:
    """Workflow changes belong to whoever holds the ticket, or its supervisors."""
    if ticket.assignee_id == actor.pk or supervises(actor, ticket.team_id):
        return
    if ticket.assignee_id is None:
        raise PermissionDenied(_("Resgate o atendimento antes de trabalhar nele."))
    raise PermissionDenied(_("Este atendimento está com outro operador."))


def _published(
    ticket: Ticket, change: str, *, extra_teams: tuple[int, ...] = (), extra_users: tuple[int | None, ...] = ()
) -> None:
    """Publish after commit to the ticket's audiences: its team(s), assignee and watchers.

    ``extra_users``/``extra_teams`` are those who just lost sight of it (a
    previous assignee, a removed watcher, the old team) so their rows leave.
    """
    watchers = tuple(Ticket.watchers.through.objects.filter(ticket_id=ticket.pk).values_list("user_id", flat=True))
    publish_ticket_change(
        ticket.pk, ticket.team_id, change, extra_teams=extra_teams, users=(ticket.assignee_id, *watchers, *extra_users)
    )


def _start_stage(*, ticket: Ticket, subprocess: Subprocess, actor: AbstractBaseUser | None, at: datetime) -> TicketStage:
    stage = TicketStage.objects.create(
        ticket=ticket,
        subprocess=subprocess,
        started_at=at,
        due_at=stage_due(ticket, subprocess, at),
        started_by=actor,
    )
    ticket.current_subprocess = subprocess
    record(ticket=ticket, kind=EventKind.SUBPROCESS_STARTED, actor=actor, data={"subprocess": subprocess.name}, at=at)
    return stage


def _finish_open_stage(*, ticket: Ticket, actor: AbstractBaseUser | None, at: datetime) -> TicketStage | None:
    stage = ticket.stages.select_related("subprocess").filter(finished_at__isnull=True).first()
    if stage is None:
        return None
    stage.finished_at = at
    stage.finished_by = actor
    stage.save(update_fields=["finished_at", "finished_by"])
    record(
        ticket=ticket,
        kind=EventKind.SUBPROCESS_FINISHED,
        actor=actor,
        data={"subprocess": stage.subprocess.name},
        at=at,
    )
    return stage


def _first_subprocess(process: Process) -> Subprocess | None:
    return process.subprocesses.filter(active=True).order_by("order").first()


def _validate_refs(
    *,
    company: Company | None = None,
    team: Team | None = None,
    process: Process | None = None,
    category_matrix: CategoryMatrix | None = None,
    opening_classification: Classification | None = None,
    closing_classification: Classification | None = None,
    origin: str | None = None,
) -> None:
    errors: dict[str, str] = {}
    if company is not None and not company.active:
        errors["company"] = _("Empresa inativa.")
    if team is not None and not team.active:
        errors["team"] = _("Equipe inativa.")
    if process is not None and not process.active:
        errors["process"] = _("Processo inativo.")
    if category_matrix is not None and not category_matrix.active:
        errors["category_matrix"] = _("Matriz de categorias inativa.")
    if opening_classification is not None and (
        opening_classification.kind != Classification.Kind.OPENING or not opening_classification.active
    ):
        errors["opening_classification"] = _("Escolha uma classificação de abertura ativa.")
    if closing_classification is not None and (
        closing_classification.kind != Classification.Kind.CLOSING or not closing_classification.active
    ):
        errors["closing_classification"] = _("Escolha uma classificação de encerramento ativa.")
    if origin is not None and origin not in Origin.values:
        errors["origin"] = _("Origem do contato inválida.")
    if errors:
        raise ValidationError(errors)


def _clean_address(address: dict[str, Any] | None) -> dict[str, str]:
    if not address:
        return {}
    unknown = set(address) - set(Ticket.ADDRESS_FIELDS)
    if unknown:
        raise ValidationError(_("Campos de endereço desconhecidos: %(f)s") % {"f": ", ".join(sorted(unknown))})
    cleaned = {k: (str(v or "")).strip() for k, v in address.items()}
    for field_name, value in cleaned.items():
        max_length = Ticket._meta.get_field(field_name).max_length
        if max_length and len(value) > max_length:
            raise ValidationError({field_name: _("Máximo de %(n)s caracteres.") % {"n": max_length}})
    return cleaned


# --- customers ------------------------------------------------------------------

CUSTOMER_FIELDS = ("name", "document", "email", "phone", "mobile", *Customer.ADDRESS_FIELDS)


def customer_create(*, actor: AbstractBaseUser, **fields: Any) -> Customer:
    """Register a customer (name plus check-digit validated CPF/CNPJ).

    Whoever may open tickets may register the customer they open it for.
    """
    _require_perm(actor, "tickets.tool_new", _("Você não tem permissão para cadastrar clientes."))
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise ValidationError(_("Campos de cliente desconhecidos: %(f)s") % {"f": ", ".join(sorted(unknown))})
    cleaned = {k: str(v or "").strip() for k, v in fields.items()}
    customer = Customer(**cleaned)
    customer.document = normalize_document(customer.document)
    with transaction.atomic():
        # full_clean checks required fields, the CPF/CNPJ digits and the unique document.
        customer.full_clean()
        customer.save()
    return customer


# --- opening and editing -------------------------------------------------------


def ticket_open(
    *,
    actor: AbstractBaseUser,
    customer: Customer,
    company: Company,
    team: Team,
    process: Process,
    origin: str,
    customer_report: str = "",
    category_matrix: CategoryMatrix | None = None,
    opening_classification: Classification | None = None,
    address: dict[str, Any] | None = None,
    assignee: AbstractBaseUser | None = None,
    opening_comment: str = "",
) -> Ticket:
    """Open a ticket: protocol and code, first subprocess, events, publish."""
    _require_perm(actor, "tickets.tool_new", _("Você não tem permissão para abrir atendimentos."))
    _validate_refs(
        company=company,
        team=team,
        process=process,
        category_matrix=category_matrix,
        opening_classification=opening_classification,
        origin=origin,
    )
    first = _first_subprocess(process)
    if first is None:
        raise ValidationError({"process": _("O processo escolhido não tem subprocessos ativos.")})
    if assignee is not None and not (assignee.is_active and team.members.filter(pk=assignee.pk).exists()):
        raise ValidationError({"assignee": _("O operador responsável precisa ser membro ativo da equipe.")})
    if not (is_admin(actor) or team.members.filter(pk=actor.pk).exists() or team.supervisors.filter(pk=actor.pk).exists()):
        raise PermissionDenied(_("Você só pode abrir atendimentos para as suas equipes."))
    addr = _clean_address(address)
    if not addr:
        addr = {f: getattr(customer, f) for f in Ticket.ADDRESS_FIELDS}

    now = timezone.now()
    with transaction.atomic():
        # The business year (TIME_ZONE), not whatever zone a request activated.
        year = timezone.localtime(now, timezone.get_default_timezone()).year
        ticket = Ticket(
            code=next_counter("ticket_code"),
            protocol=format_protocol(year, next_counter(f"protocol:{year}")),
            customer=customer,
            company=company,
            team=team,
            process=process,
            origin=origin,
            customer_report=customer_report.strip(),
            category_matrix=category_matrix,
            opening_classification=opening_classification,
            assignee=assignee,
            opened_by=actor,
            opened_at=now,
            **addr,
        )
        ticket.full_clean(exclude=["current_subprocess", "code", "protocol"])
        ticket.save()
        record(ticket=ticket, kind=EventKind.CREATED, actor=actor, at=now)
        record(ticket=ticket, kind=EventKind.STARTED, actor=actor, data={"protocol": ticket.protocol}, at=now)
        if opening_comment.strip():
            Comment.objects.create(ticket=ticket, author=actor, body=opening_comment.strip(), created_at=now)
            record(
                ticket=ticket,
                kind=EventKind.OPENING_COMMENT,
                actor=actor,
                data={"comment": opening_comment.strip()},
                at=now,
            )
        _start_stage(ticket=ticket, subprocess=first, actor=actor, at=now)
        ticket.save(update_fields=["current_subprocess"])
        if assignee is not None:
            record(ticket=ticket, kind=EventKind.OPERATOR_ADDED, actor=actor, data={"operator": assignee.get_username()}, at=now)
        hooks.run(hooks.on_ticket_opened, ticket=ticket, actor=actor, at=now)
        _published(ticket, "opened")
    return ticket


def ticket_edit(*, actor: AbstractBaseUser, ticket: Ticket, changes: dict[str, Any]) -> Ticket:
    """Change the editable fields of an open ticket."""
    _require_perm(actor, "tickets.tool_edit", _("Você não tem permissão para editar atendimentos."))
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(_("Campos que não podem ser editados: %(f)s") % {"f": ", ".join(sorted(unknown))})
    _validate_refs(
        company=changes.get("company"),
        category_matrix=changes.get("category_matrix"),
        opening_classification=changes.get("opening_classification"),
        origin=changes.get("origin"),
    )
    address = _clean_address({k: v for k, v in changes.items() if k in Ticket.ADDRESS_FIELDS})
    with transaction.atomic():
        locked = _lock(actor, ticket)
        _require_open(locked)
        changed: list[str] = []
        report_changed = False
        for field_name, value in {**changes, **address}.items():
            if field_name == "customer_report":
                value = (value or "").strip()
            if getattr(locked, field_name) != value:
                setattr(locked, field_name, value)
                changed.append(field_name)
                report_changed |= field_name == "customer_report"
        if not changed:
            return locked
        locked.full_clean(exclude=["current_subprocess", "code", "protocol"])
        locked.save(update_fields=[*changed, "updated_at"])
        if report_changed:
            record(ticket=locked, kind=EventKind.REPORT_CHANGED, actor=actor)
        others = [f for f in changed if f != "customer_report"]
        if others:
            record(ticket=locked, kind=EventKind.EDITED, actor=actor, data={"fields": others})
        hooks.run(hooks.on_ticket_changed, ticket=locked, actor=actor, at=timezone.now(), fields=tuple(changed))
        _published(locked, "edited")
    return locked


# --- who holds the ticket --------------------------------------------------------


def ticket_claim(*, actor: AbstractBaseUser, ticket: Ticket) -> Ticket:
    """Resgate: take an unassigned open ticket. Of two concurrent claims exactly one wins.

    Membership is checked against the ticket's team, not the actor's visibility:
    a team member who lost the race (or clicked a stale grid) can no longer see
    the ticket, yet must be told who holds it rather than get a 404.
    """
    try:
        visible = Ticket.objects.select_related("team").get(pk=ticket.pk)
    except Ticket.DoesNotExist as exc:
        raise Http404 from exc
    if not (supervises(actor, visible.team_id) or visible.team.members.filter(pk=actor.pk).exists()):
        access_ticket(actor, visible.pk)  # Http404 for whoever may not see it at all
        raise PermissionDenied(_("Só membros da equipe do atendimento podem resgatá-lo."))
    with transaction.atomic():
        won = Ticket.objects.filter(pk=visible.pk, assignee__isnull=True, closed_at__isnull=True).update(
            assignee=actor, updated_at=timezone.now()
        )
        if not won:
            current = Ticket.objects.select_related("assignee").get(pk=visible.pk)
            if current.closed_at is not None:
                _require_open(current)
            raise ValidationError(
                _("Este atendimento já foi resgatado por %(name)s.") % {"name": current.assignee_display}
            )
        claimed = Ticket.objects.get(pk=visible.pk)
        record(ticket=claimed, kind=EventKind.CLAIMED, actor=actor)
        _published(claimed, "claimed")
    return claimed


def ticket_release(*, actor: AbstractBaseUser, ticket: Ticket) -> Ticket:
    """Liberação: give the ticket back to its team's queue."""
    with transaction.atomic():
        locked = _lock(actor, ticket)
        _require_open(locked)
        if locked.assignee_id is None:
            raise ValidationError(_("Este atendimento não está resgatado."))
        _require_worker(actor, locked)
        previous = locked.assignee.get_username()
        previous_id = locked.assignee_id
        locked.assignee = None
        locked.save(update_fields=["assignee", "updated_at"])
        record(ticket=locked, kind=EventKind.RELEASED, actor=actor, data={"operator": previous})
        _published(locked, "released", extra_users=(previous_id,))
    return locked


def ticket_transfer(
    *,
    actor: AbstractBaseUser,
    ticket: Ticket,
    to_user: AbstractBaseUser | None = None,
    to_team: Team | None = None,
    comment: str = "",
) -> Ticket:
    """Transfer to an operator (of the ticket's or the new team) and/or to another team."""
    if to_user is None and to_team is None:
        raise ValidationError(_("Escolha o operador ou a equipe de destino."))
    with transaction.atomic():
        locked = _lock(actor, ticket)
        _require_open(locked)
        _require_worker(actor, locked)
        old_team_id = locked.team_id
        old_assignee_id = locked.assignee_id
        team = to_team or locked.team
        if not team.active:
            raise ValidationError({"to_team": _("Equipe inativa.")})
        if to_user is not None and not (to_user.is_active and team.members.filter(pk=to_user.pk).exists()):
            raise ValidationError({"to_user": _("O operador de destino precisa ser membro ativo da equipe %(team)s.") % {"team": team.name}})
        if to_team is not None and to_team.pk != locked.team_id:
            locked.team = to_team
            record(ticket=locked, kind=EventKind.TEAM_TRANSFERRED, actor=actor, data={"team": to_team.name})
        elif to_team is not None and to_user is None:
            raise ValidationError({"to_team": _("O atendimento já está nesta equipe.")})
        if to_user is not None:
            if to_user.pk == locked.assignee_id:
                raise ValidationError({"to_user": _("O atendimento já está com este operador.")})
            record(ticket=locked, kind=EventKind.OPERATOR_ADDED, actor=actor, data={"operator": to_user.get_username()})
        locked.assignee = to_user
        locked.save(update_fields=["team", "assignee", "updated_at"])
        if comment.strip():
            Comment.objects.create(ticket=locked, author=actor, body=comment.strip())
            record(ticket=locked, kind=EventKind.COMMENT_ADDED, actor=actor, data={"comment": comment.strip()})
        _published(locked, "transferred", extra_teams=(old_team_id,), extra_users=(old_assignee_id,))
    return locked


def ticket_watcher_add(*, actor: AbstractBaseUser, ticket: Ticket, user: AbstractBaseUser) -> Ticket:
    with transaction.atomic():
        locked = _lock(actor, ticket)
        _require_open(locked)
        _require_worker(actor, locked)
        if not user.is_active:
            raise ValidationError(_("Operador inativo."))
        if locked.watchers.filter(pk=user.pk).exists():
            raise ValidationError(_("Este operador já acompanha o atendimento."))
        locked.watchers.add(user)
        record(ticket=locked, kind=EventKind.WATCHER_ADDED, actor=actor, data={"operator": user.get_username()})
        _published(locked, "watchers")
    return locked


def ticket_watcher_remove(*, actor: AbstractBaseUser, ticket: Ticket, user: AbstractBaseUser) -> Ticket:
    with transaction.atomic():
        locked = _lock(actor, ticket)
        _require_open(locked)
        if user.pk != actor.pk:
            _require_worker(actor, locked)
        if not locked.watchers.filter(pk=user.pk).exists():
            raise ValidationError(_("Este operador não acompanha o atendimento."))
        locked.watchers.remove(user)
        record(ticket=locked, kind=EventKind.WATCHER_REMOVED, actor=actor, data={"operator": user.get_username()})
        _published(locked, "watchers", extra_users=(user.pk,))
    return locked


# --- comments and attachments ------------------------------------------------------


def ticket_comment_add(*, actor: AbstractBaseUser, ticket: Ticket, body: str) -> Comment:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Escreva o comentário.")})
    if len(body) > 10000:
        raise ValidationError({"body": _("O comentário pode ter no máximo 10.000 caracteres.")})
    with transaction.atomic():
        locked = _lock(actor, ticket)
        _require_open(locked)
        comment = Comment.objects.create(ticket=locked, author=actor, body=body)
        record(ticket=locked, kind=EventKind.COMMENT_ADDED, actor=actor, data={"comment": body, "comment_id": comment.pk})
        Ticket.objects.filter(pk=locked.pk).update(updated_at=timezone.now())
        _published(locked, "commented")
    return comment


def validate_upload(uploaded: UploadedFile) -> str:
    """Check size and type; return the safe file name."""
    name = get_valid_filename(PurePath(uploaded.name or "").name) if uploaded.name else ""
    if not name:
        raise ValidationError({"file": _("Arquivo sem nome.")})
    extension = PurePath(name).suffix.lower().lstrip(".")
    if extension not in settings.ATTACHMENT_ALLOWED_EXTENSIONS:
        raise ValidationError(
            {
                "file": _("Tipo de arquivo não permitido (.%(ext)s). Permitidos: %(allowed)s.")
                % {"ext": extension or "?", "allowed": ", ".join(settings.ATTACHMENT_ALLOWED_EXTENSIONS)}
            }
        )
    if uploaded.size == 0:
        raise ValidationError({"file": _("O arquivo está vazio.")})
    if uploaded.size > settings.ATTACHMENT_MAX_BYTES:
        limit_mb = settings.ATTACHMENT_MAX_BYTES / (1024 * 1024)
        raise ValidationError(
            {"file": _("O arquivo excede o limite de %(mb)s MB.") % {"mb": f"{limit_mb:g}".replace(".", ",")}}
        )
    return name


def attachment_add(
    *, actor: AbstractBaseUser, ticket: Ticket, uploaded: UploadedFile, description: str = ""
) -> Attachment:
    name = validate_upload(uploaded)
    if len(description) > 255:
        raise ValidationError({"description": _("A descrição pode ter no máximo 255 caracteres.")})
    with transaction.atomic():
        locked = _lock(actor, ticket)
        _require_open(locked)
        attachment = Attachment(
            ticket=locked,
            original_name=name,
            content_type=(uploaded.content_type or "application/octet-stream")[:120],
            size=uploaded.size,
            description=description.strip(),
            uploaded_by=actor,
        )
        attachment.file.save(name, uploaded, save=False)
        # Remove the stored file if the transaction rolls back afterwards.
        stored_name = attachment.file.name
        storage = attachment.file.storage
        try:
            attachment.save()
            record(ticket=locked, kind=EventKind.ATTACHMENT_ADDED, actor=actor, data={"file": name, "attachment_id": attachment.pk})
            _published(locked, "attachments")
        except Exception:
            storage.delete(stored_name)
            raise
    return attachment


def attachment_delete(*, actor: AbstractBaseUser, attachment: Attachment) -> None:
    with transaction.atomic():
        locked = _lock(actor, attachment.ticket)
        _require_open(locked)
        if attachment.uploaded_by_id != actor.pk and not supervises(actor, locked.team_id):
            raise PermissionDenied(_("Só quem incluiu o anexo ou um supervisor pode excluí-lo."))
        name = attachment.original_name
        file_name = attachment.file.name
        storage = attachment.file.storage
        attachment.delete()
        record(ticket=locked, kind=EventKind.ATTACHMENT_DELETED, actor=actor, data={"file": name})
        transaction.on_commit(lambda: storage.delete(file_name))
        _published(locked, "attachments")


def attachment_download_record(*, actor: AbstractBaseUser, attachment: Attachment) -> None:
    """Log "Download de anexo solicitado"; the view checks visibility first."""
    with transaction.atomic():
        record(ticket=attachment.ticket, kind=EventKind.ATTACHMENT_DOWNLOADED, actor=actor, data={"file": attachment.original_name})


# --- workflow -------------------------------------------------------------------------


def subprocess_start(*, actor: AbstractBaseUser, ticket: Ticket, subprocess: Subprocess) -> TicketStage:
    """Move the ticket to a subprocess of its process (finishing the current stage)."""
    with transaction.atomic():
        locked = _lock(actor, ticket)
        _require_open(locked)
        _require_worker(actor, locked)
        if subprocess.process_id != locked.process_id or not subprocess.active:
            raise ValidationError({"subprocess": _("O subprocesso não pertence ao processo do atendimento.")})
        if locked.current_subprocess_id == subprocess.pk and locked.stages.filter(finished_at__isnull=True).exists():
            raise ValidationError({"subprocess": _("O atendimento já está neste subprocesso.")})
        now = timezone.now()
        _finish_open_stage(ticket=locked, actor=actor, at=now)
        stage = _start_stage(ticket=locked, subprocess=subprocess, actor=actor, at=now)
        locked.save(update_fields=["current_subprocess", "updated_at"])
        _published(locked, "subprocess")
    return stage


def subprocess_finish(*, actor: AbstractBaseUser, ticket: Ticket) -> TicketStage | None:
    """Finish the current stage and start the next subprocess in order, if any.

    Returns the new stage, or ``None`` when the process has no further step.
    """
    with transaction.atomic():
        locked = _lock(actor, ticket)
        _require_open(locked)
        _require_worker(actor, locked)
        now = timezone.now()
        finished = _finish_open_stage(ticket=locked, actor=actor, at=now)
        if finished is None:
            raise ValidationError(_("O atendimento não tem subprocesso em andamento."))
        following = (
            locked.process.subprocesses.filter(active=True, order__gt=finished.subprocess.order).order_by("order").first()
        )
        stage = None
        if following is not None:
            stage = _start_stage(ticket=locked, subprocess=following, actor=actor, at=now)
        locked.save(update_fields=["current_subprocess", "updated_at"])
        _published(locked, "subprocess")
    return stage


def ticket_forward(*, actor: AbstractBaseUser, ticket: Ticket, process: Process, comment: str = "") -> Ticket:
    """Encaminhar: send the ticket on to a new process, starting its first subprocess."""
    _validate_refs(process=process)
    first = _first_subprocess(process)
    if first is None:
        raise ValidationError({"process": _("O processo escolhido não tem subprocessos ativos.")})
    with transaction.atomic():
        locked = _lock(actor, ticket)
        _require_open(locked)
        _require_worker(actor, locked)
        if process.pk == locked.process_id:
            raise ValidationError({"process": _("O atendimento já está neste processo.")})
        now = timezone.now()
        _finish_open_stage(ticket=locked, actor=actor, at=now)
        locked.process = process
        record(ticket=locked, kind=EventKind.FORWARDED, actor=actor, data={"process": process.name}, at=now)
        if comment.strip():
            Comment.objects.create(ticket=locked, author=actor, body=comment.strip(), created_at=now)
            record(ticket=locked, kind=EventKind.FORWARD_COMMENT, actor=actor, data={"comment": comment.strip()}, at=now)
        _start_stage(ticket=locked, subprocess=first, actor=actor, at=now)
        locked.save(update_fields=["process", "current_subprocess", "updated_at"])
        hooks.run(hooks.on_ticket_changed, ticket=locked, actor=actor, at=now, fields=("process",))
        _published(locked, "forwarded")
    return locked


# --- service orders --------------------------------------------------------------------


def _refresh_service_order_status(ticket: Ticket) -> None:
    """Keep the ticket's denormalised latest O.S. in step: status ("Ordem de Serviço"), code
    ("O.S. vinculada"), due and completion time (the panels' "O.S. atrasada")."""
    latest = (
        ticket.service_orders.order_by("-created_at", "-id")
        .values_list("status", "code", "due_at", "completed_at")
        .first()
    )
    values = dict(
        zip(
            ("service_order_status", "service_order_code", "service_order_due_at", "service_order_completed_at"),
            latest or (ServiceOrderStatus.NONE, None, None, None),
            strict=True,
        )
    )
    changed = [name for name, value in values.items() if getattr(ticket, name) != value]
    if changed:
        for name in changed:
            setattr(ticket, name, values[name])
        ticket.save(update_fields=[*changed, "updated_at"])


def _validate_so_dates(scheduled_for: datetime | None, due_at: datetime | None) -> None:
    if scheduled_for and due_at and due_at < scheduled_for:
        raise ValidationError({"due_at": _("O prazo não pode ser anterior ao agendamento.")})


def service_order_create(
    *,
    actor: AbstractBaseUser,
    ticket: Ticket,
    description: str,
    scheduled_for: datetime | None = None,
    due_at: datetime | None = None,
) -> ServiceOrder:
    description = (description or "").strip()
    if not description:
        raise ValidationError({"description": _("Descreva o serviço da O.S.")})
    _validate_so_dates(scheduled_for, due_at)
    with transaction.atomic():
        locked = _lock(actor, ticket)
        _require_open(locked)
        _require_worker(actor, locked)
        order = ServiceOrder.objects.create(
            ticket=locked,
            code=next_counter("service_order_code"),
            status=ServiceOrder.Status.SCHEDULED if scheduled_for else ServiceOrder.Status.UNSCHEDULED,
            description=description,
            scheduled_for=scheduled_for,
            due_at=due_at,
            created_by=actor,
        )
        record(ticket=locked, kind=EventKind.SERVICE_ORDER_CREATED, actor=actor, data={"service_order": order.code})
        _refresh_service_order_status(locked)
        _published(locked, "service_order")
    return order


def service_order_edit(
    *,
    actor: AbstractBaseUser,
    service_order: ServiceOrder,
    description: str | None = None,
    scheduled_for: datetime | None = None,
    due_at: datetime | None = None,
    clear_schedule: bool = False,
) -> ServiceOrder:
    with transaction.atomic():
        locked = _lock(actor, service_order.ticket)
        _require_open(locked)
        _require_worker(actor, locked)
        order = ServiceOrder.objects.select_for_update().get(pk=service_order.pk)
        if order.status == ServiceOrder.Status.COMPLETED:
            raise ValidationError(_("A O.S. %(code)s já foi concluída.") % {"code": order.code})
        if description is not None:
            if not description.strip():
                raise ValidationError({"description": _("Descreva o serviço da O.S.")})
            order.description = description.strip()
        if clear_schedule:
            order.scheduled_for = None
        elif scheduled_for is not None:
            order.scheduled_for = scheduled_for
        if due_at is not None:
            order.due_at = due_at
        _validate_so_dates(order.scheduled_for, order.due_at)
        order.status = ServiceOrder.Status.SCHEDULED if order.scheduled_for else ServiceOrder.Status.UNSCHEDULED
        order.save()
        record(ticket=locked, kind=EventKind.SERVICE_ORDER_EDITED, actor=actor, data={"service_order": order.code})
        _refresh_service_order_status(locked)
        _published(locked, "service_order")
    return order


def service_order_complete(*, actor: AbstractBaseUser, service_order: ServiceOrder) -> ServiceOrder:
    with transaction.atomic():
        locked = _lock(actor, service_order.ticket)
        _require_open(locked)
        _require_worker(actor, locked)
        won = ServiceOrder.objects.filter(pk=service_order.pk).exclude(status=ServiceOrder.Status.COMPLETED).update(
            status=ServiceOrder.Status.COMPLETED, completed_at=timezone.now()
        )
        if not won:
            raise ValidationError(_("A O.S. %(code)s já foi concluída.") % {"code": service_order.code})
        order = ServiceOrder.objects.get(pk=service_order.pk)
        record(ticket=locked, kind=EventKind.SERVICE_ORDER_COMPLETED, actor=actor, data={"service_order": order.code})
        _refresh_service_order_status(locked)
        _published(locked, "service_order")
    return order


# --- finalizing ------------------------------------------------------------------------


def ticket_finalize(
    *, actor: AbstractBaseUser, ticket: Ticket, closing_classification: Classification, comment: str
) -> Ticket:
    comment = (comment or "").strip()
    errors = {}
    if closing_classification is None:
        errors["closing_classification"] = _("Escolha a classificação de encerramento.")
    if not comment:
        errors["comment"] = _("Escreva o comentário de encerramento.")
    if errors:
        raise ValidationError(errors)
    _validate_refs(closing_classification=closing_classification)
    with transaction.atomic():
        locked = _lock(actor, ticket)
        _require_open(locked)
        _require_worker(actor, locked)
        now = timezone.now()
        _finish_open_stage(ticket=locked, actor=actor, at=now)
        locked.closed_at = now
        locked.closed_by = actor
        locked.closing_classification = closing_classification
        locked.save(update_fields=["closed_at", "closed_by", "closing_classification", "updated_at"])
        Comment.objects.create(ticket=locked, author=actor, body=comment, created_at=now)
        record(ticket=locked, kind=EventKind.FINALIZE_COMMENT, actor=actor, data={"comment": comment}, at=now)
        record(ticket=locked, kind=EventKind.CLOSED, actor=actor, data={"classification": closing_classification.name}, at=now)
        hooks.run(hooks.on_ticket_finalized, ticket=locked, actor=actor, at=now)
        _published(locked, "finalized")
    return locked


def ticket_reopen(*, actor: AbstractBaseUser, ticket: Ticket, reason: str = "") -> Ticket:
    """Reopen a finalized ticket in the subprocess it ended in (or the process's first)."""
    _require_perm(actor, "tickets.tool_edit", _("Você não tem permissão para reabrir atendimentos."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Informe o motivo da reabertura.")})
    with transaction.atomic():
        locked = _lock(actor, ticket)
        if locked.closed_at is None:
            raise ValidationError(_("O atendimento %(code)s já está aberto.") % {"code": locked.code})
        if not (locked.closed_by_id == actor.pk or locked.assignee_id == actor.pk or supervises(actor, locked.team_id)):
            raise PermissionDenied(_("Só quem finalizou o atendimento ou um supervisor da equipe pode reabri-lo."))
        now = timezone.now()
        locked.closed_at = None
        locked.closed_by = None
        locked.closing_classification = None
        record(ticket=locked, kind=EventKind.REOPENED, actor=actor, data={"reason": reason}, at=now)
        subprocess = locked.current_subprocess or _first_subprocess(locked.process)
        if subprocess is not None:
            _start_stage(ticket=locked, subprocess=subprocess, actor=actor, at=now)
        locked.save(update_fields=["closed_at", "closed_by", "closing_classification", "current_subprocess", "updated_at"])
        hooks.run(hooks.on_ticket_reopened, ticket=locked, actor=actor, at=now)
        _published(locked, "reopened")
    return locked
