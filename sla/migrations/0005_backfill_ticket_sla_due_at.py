"""Fill Ticket.sla_due_at from the clocks' deadlines, in one set-based statement."""

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
                f"UPDATE {tickets} AS t SET sla_due_at = c.due_at FROM {clocks} AS c"  # noqa: S608
                " WHERE c.ticket_id = t.id"
            )
        return
    Ticket.objects.filter(pk__in=SlaClock.objects.values("ticket_id")).update(
        sla_due_at=Subquery(SlaClock.objects.filter(ticket_id=OuterRef("pk")).values("due_at")[:1])
    )


class Migration(migrations.Migration):

    dependencies = [
        ("sla", "0004_backfill_ticket_sla_breached_at"),
        ("tickets", "0011_ticket_sla_due_at"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
