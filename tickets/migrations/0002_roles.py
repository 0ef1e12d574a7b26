"""Create the roles (Agente, Supervisor, Administrador) with their permissions."""

from django.db import migrations

AGENT = ["view_ticket", "tool_new", "tool_edit", "tool_export"]
SUPERVISOR = ["view_ticket", "change_ticket", "tool_new", "tool_edit", "tool_modify_sla",
              "tool_resend_evaluation", "tool_export"]


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    tickets_perms = Permission.objects.filter(content_type__app_label="tickets")
    agent, _ = Group.objects.get_or_create(name="Agente")
    agent.permissions.set(tickets_perms.filter(codename__in=AGENT))
    supervisor, _ = Group.objects.get_or_create(name="Supervisor")
    supervisor.permissions.set(tickets_perms.filter(codename__in=SUPERVISOR))
    admin, _ = Group.objects.get_or_create(name="Administrador")
    admin.permissions.set(Permission.objects.all())


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Agente", "Supervisor", "Administrador"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
