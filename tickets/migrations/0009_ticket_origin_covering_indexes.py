"""Indexes only: the panels' covering ticket indexes gain the origin.

"Origem do contato" is the header filter the panels use most; with the origin
as the trailing key column of the indexes the grids count and page from (open
tickets, finalized tickets and finalized late ones, every ticket per team, and
the by-id index that rows holding a ticket and the watch-list branch probe), a
count filtered by origin stays an index-only scan instead of visiting every
ticket row of the period. Each replaced index is the prefix of its replacement.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0008_ticket_sla_breached_at"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_open_vis_idx",
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_closed_vis_idx",
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_id_vis_idx",
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_team_opened_id_idx",
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_closed_late_vis_idx",
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                fields=["team", "-opened_at", "id", "origin"], name="ticket_team_opened_origin_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("closed_at__isnull", True)),
                fields=["-opened_at", "-id", "team", "assignee", "origin"],
                name="ticket_open_vis_origin_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("closed_at__isnull", False)),
                fields=["-closed_at", "-id", "team", "assignee", "origin"],
                name="ticket_closed_vis_origin_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(
                    ("closed_at__isnull", False), ("sla_breached_at__isnull", False)
                ),
                fields=["-closed_at", "-id", "team", "assignee", "origin"],
                name="ticket_closed_late_origin_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                fields=["id", "team", "assignee", "closed_at", "origin"],
                name="ticket_id_vis_origin_idx",
            ),
        ),
    ]
