from django.db import migrations, models


def backfill(apps, schema_editor):
    """Every ticket's event count from its log (one set-based statement)."""
    connection = schema_editor.connection
    q = connection.ops.quote_name
    tickets, events = q("tickets_ticket"), q("tickets_ticketevent")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {tickets} AS t SET event_count = e.n"  # noqa: S608
                f" FROM (SELECT ticket_id, count(*) AS n FROM {events} GROUP BY ticket_id) AS e"
                f" WHERE e.ticket_id = t.id"
            )
        else:
            cursor.execute(
                f"UPDATE {tickets} SET event_count ="  # noqa: S608
                f" (SELECT count(*) FROM {events} AS e WHERE e.ticket_id = {tickets}.id)"
            )


class Migration(migrations.Migration):

    dependencies = [
        ("tickets", "0012_open_pivot_covering_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="event_count",
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name="interações"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        # The open tickets' covering index gains the count (created before the old one goes).
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("closed_at__isnull", True)),
                fields=["-opened_at", "-id", "team", "assignee", "origin", "customer", "event_count"],
                name="ticket_open_vis_events_idx",
            ),
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_open_vis_cust_idx",
        ),
    ]
