"""Mensagens pré-salvas: the operations that write them and the reads of the screens.

A canned response is personal (``owner`` set: only its owner sees, edits and
deletes it) or public (``owner`` empty: every agent sees it, only supervisors
and admins write it). Every write goes through ``canned_create`` /
``canned_update`` / ``canned_delete``; bad input raises ``ValidationError``
(pt-BR, keyed by field), a missing permission ``PermissionDenied``; either way
nothing changes.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from omnichannel.models import CannedCategory, CannedResponse
from omnichannel.services import MAX_MESSAGE_LENGTH
from tickets.roles import is_admin, is_supervisor

SHORTCUT_MAX = 40
TITLE_MAX = 120
SUGGESTIONS_SHOWN = 8


# --- permissions -------------------------------------------------------------------------------


def can_write_public(user: AbstractBaseUser) -> bool:
    """Public canned responses are written by supervisors and admins only."""
    return is_supervisor(user) or is_admin(user)


def can_edit(user: AbstractBaseUser, canned: CannedResponse) -> bool:
    """An agent edits only their own; supervisors and admins also the public ones."""
    if not user.is_authenticated:
        return False
    if canned.owner_id is None:
        return can_write_public(user)
    return canned.owner_id == user.pk


def _require_edit(actor: AbstractBaseUser, canned: CannedResponse) -> None:
    if canned.owner_id is None and not can_write_public(actor):
        raise PermissionDenied(_("Só supervisores alteram as mensagens pré-salvas públicas."))
    if canned.owner_id is not None and canned.owner_id != actor.pk:
        raise PermissionDenied(_("Você só pode alterar as suas próprias mensagens pré-salvas."))


# --- validation --------------------------------------------------------------------------------


def normalize_shortcut(shortcut: str) -> str:
    """``/Boleto `` → ``boleto``: the "/" typed in the message box is not part of the shortcut."""
    return (shortcut or "").strip().lstrip("/").strip().lower()


def _clean(*, category: CannedCategory | None, shortcut: str, title: str, body: str) -> tuple[str, str, str]:
    errors: dict[str, str] = {}
    shortcut = normalize_shortcut(shortcut)
    title = (title or "").strip()
    body = (body or "").strip()
    if category is None or category.pk is None:
        errors["category"] = _("Escolha a categoria.")
    if not shortcut:
        errors["shortcut"] = _("Informe o atalho.")
    elif len(shortcut) > SHORTCUT_MAX:
        errors["shortcut"] = _("O atalho tem no máximo %(n)s caracteres.") % {"n": SHORTCUT_MAX}
    else:
        try:
            validate_slug(shortcut)
        except ValidationError:
            errors["shortcut"] = _("Use no atalho apenas letras sem acento, números, hífen ou sublinhado.")
    if not title:
        errors["title"] = _("Informe o título.")
    elif len(title) > TITLE_MAX:
        errors["title"] = _("O título tem no máximo %(n)s caracteres.") % {"n": TITLE_MAX}
    if not body:
        errors["body"] = _("Escreva o texto da mensagem.")
    elif len(body) > MAX_MESSAGE_LENGTH:
        errors["body"] = _("O texto tem no máximo %(n)s caracteres.") % {"n": MAX_MESSAGE_LENGTH}
    if errors:
        raise ValidationError(errors)
    return shortcut, title, body


def _duplicate_error(shortcut: str, public: bool) -> ValidationError:
    if public:
        message = _("Já existe uma mensagem pública com o atalho /%(shortcut)s.")
    else:
        message = _("Você já tem uma mensagem com o atalho /%(shortcut)s.")
    return ValidationError({"shortcut": message % {"shortcut": shortcut}})


def _save_unique(canned: CannedResponse, *, public: bool) -> None:
    """Save, refusing a shortcut already taken in the same scope (personal of that owner, or public)."""
    taken = CannedResponse.objects.filter(shortcut=canned.shortcut).exclude(pk=canned.pk)
    taken = taken.filter(owner__isnull=True) if public else taken.filter(owner_id=canned.owner_id)
    if taken.exists():
        raise _duplicate_error(canned.shortcut, public)
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin loses on the constraint, cleanly
            canned.save()
    except IntegrityError:
        raise _duplicate_error(canned.shortcut, public) from None


# --- operations --------------------------------------------------------------------------------


def canned_create(
    actor: AbstractBaseUser,
    *,
    category: CannedCategory | None,
    shortcut: str,
    title: str,
    body: str,
    public: bool = False,
) -> CannedResponse:
    """A new canned response: personal (the actor's), or public (supervisors and admins only)."""
    if not actor.is_authenticated:
        raise PermissionDenied(_("Entre no sistema para criar mensagens pré-salvas."))
    if public and not can_write_public(actor):
        raise PermissionDenied(_("Só supervisores criam mensagens pré-salvas públicas."))
    shortcut, title, body = _clean(category=category, shortcut=shortcut, title=title, body=body)
    now = timezone.now()
    canned = CannedResponse(
        owner=None if public else actor,
        category=category,
        shortcut=shortcut,
        title=title,
        body=body,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    with transaction.atomic():
        _save_unique(canned, public=public)
    return canned


def canned_update(
    actor: AbstractBaseUser,
    *,
    canned: CannedResponse,
    category: CannedCategory | None,
    shortcut: str,
    title: str,
    body: str,
    public: bool | None = None,
) -> CannedResponse:
    """Edit a canned response the actor may edit; ``public`` (supervisors only) moves it between scopes."""
    with transaction.atomic():
        locked = CannedResponse.objects.select_for_update().filter(pk=canned.pk).first()
        if locked is None:
            raise ValidationError(_("Esta mensagem pré-salva não existe mais."))
        _require_edit(actor, locked)
        make_public = (locked.owner_id is None) if public is None else bool(public)
        if make_public != (locked.owner_id is None) and not can_write_public(actor):
            raise PermissionDenied(_("Só supervisores tornam mensagens pré-salvas públicas."))
        shortcut, title, body = _clean(category=category, shortcut=shortcut, title=title, body=body)
        locked.owner = None if make_public else (locked.owner if locked.owner_id else actor)
        locked.category = category
        locked.shortcut = shortcut
        locked.title = title
        locked.body = body
        locked.updated_at = timezone.now()
        _save_unique(locked, public=make_public)
    return locked


def canned_delete(actor: AbstractBaseUser, *, canned: CannedResponse) -> None:
    """Delete a canned response the actor may edit."""
    with transaction.atomic():
        locked = CannedResponse.objects.select_for_update().filter(pk=canned.pk).first()
        if locked is None:
            return  # already gone: deleting twice changes nothing
        _require_edit(actor, locked)
        locked.delete()


# --- selectors ---------------------------------------------------------------------------------


def visible_canned(user: AbstractBaseUser) -> QuerySet[CannedResponse]:
    """The user's personal canned responses and the public ones, personal first."""
    if not user.is_authenticated:
        return CannedResponse.objects.none()
    return (
        CannedResponse.objects.filter(Q(owner_id=user.pk) | Q(owner__isnull=True))
        .select_related("category")
        .annotate(scope=Case(When(owner__isnull=True, then=Value(1)), default=Value(0), output_field=IntegerField()))
        .order_by("scope", "shortcut", "id")
    )


def canned_for(user: AbstractBaseUser, query: str = "") -> QuerySet[CannedResponse]:
    """What "/" + ``query`` offers in the message box: shortcut or title starting with it, personal first."""
    qs = visible_canned(user)
    query = normalize_shortcut(query)
    if query:
        qs = qs.filter(Q(shortcut__istartswith=query) | Q(title__istartswith=query))
    return qs


def canned_list(
    user: AbstractBaseUser, *, category: CannedCategory | None = None, search: str = "", scope: str = ""
) -> QuerySet[CannedResponse]:
    """The page's list: filtered by category, by scope (personal/public) and by a search in shortcut, title, text."""
    qs = visible_canned(user)
    if category is not None:
        qs = qs.filter(category_id=category.pk)
    if scope == "personal":
        qs = qs.filter(owner__isnull=False)
    elif scope == "public":
        qs = qs.filter(owner__isnull=True)
    search = (search or "").strip()
    if search:
        term = normalize_shortcut(search) if search.startswith("/") else search
        qs = qs.filter(Q(shortcut__icontains=term) | Q(title__icontains=term) | Q(body__icontains=term))
    return qs


def visible_canned_or_none(user: AbstractBaseUser, pk: object) -> CannedResponse | None:
    """One canned response the user may see (own or public), or None."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return visible_canned(user).filter(pk=pk).first()
