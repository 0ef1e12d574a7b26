"""Fill Ticket.sla_breached_at from the clocks' breach times, in one set-based statement."""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def backfill(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    SlaClock = apps.get_model("sla", "SlaClock")
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        qn = schema_editor.quote_name
        tickets, clocks = qn(Ticket._meta.db_table), qn(SlaClock._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {tickets} AS t SET sla_breached_at = c.breached_at FROM {clocks} AS c"  # noqa: S608
                " WHERE c.ticket_id = t.id AND c.breached_at IS NOT NULL"
            )
        return
    breached = SlaClock.objects.filter(breached_at__isnull=False)
    Ticket.objects.filter(pk__in=breached.values("ticket_id")).update(
        sla_breached_at=Subquery(breached.filter(ticket_id=OuterRef("pk")).values("breached_at")[:1])
    )


class Migration(migrations.Migration):

    dependencies = [
        ("sla", "0003_slaclock_panel_indexes"),
        ("tickets", "0008_ticket_sla_breached_at"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
