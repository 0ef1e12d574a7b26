from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _admin_group_gets_every_permission(sender, using="default", **kwargs) -> None:
    """Keep the Administrador role complete as later apps add models and permissions."""
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.using(using).filter(name="Administrador").first()
    if group is not None:
        group.permissions.set(Permission.objects.using(using).all())


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Atendimentos")

    def ready(self) -> None:
        post_migrate.connect(_admin_group_gets_every_permission, dispatch_uid="tickets.admin_group_perms")
