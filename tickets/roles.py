"""Roles are Django groups; this module names them and answers who is what."""

from django.contrib.auth.models import AbstractBaseUser

AGENT = "Agente"
SUPERVISOR = "Supervisor"
ADMIN = "Administrador"
ROLE_NAMES = (AGENT, SUPERVISOR, ADMIN)

TOOL_PERMISSIONS = ("tool_new", "tool_edit", "tool_modify_sla", "tool_resend_evaluation", "tool_export")


def _group_names(user: AbstractBaseUser) -> set[str]:
    cache = getattr(user, "_role_group_names", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._role_group_names = cache
    return cache


def is_admin(user: AbstractBaseUser) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or ADMIN in _group_names(user)))


def is_supervisor(user: AbstractBaseUser) -> bool:
    return bool(user.is_authenticated and (is_admin(user) or SUPERVISOR in _group_names(user)))


def role_label(user: AbstractBaseUser) -> str:
    from django.utils.translation import gettext as _

    if is_admin(user):
        return _("Administrador")
    if is_supervisor(user):
        return _("Supervisor")
    return _("Agente")
