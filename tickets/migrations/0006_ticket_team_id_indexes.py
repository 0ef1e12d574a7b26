"""Indexes only: tickets per team by opening and by finalization time, with the id.

The panels count a supervisor's rows one visibility branch at a time; the
supervised teams' branch of "Finalizados nos últimos 30 dias" is then one
range of an index per team instead of a filter over every team's rows, and
with the id in the index the late views join those tickets to their SLA
clocks without reading ticket rows. The team/opening index gains the id (the
replaced index is its prefix).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("tickets", "0005_stage_open_due_subprocess_index"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_team_opened_idx",
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["team", "-opened_at", "id"], name="ticket_team_opened_id_idx"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("closed_at__isnull", False)),
                fields=["team", "-closed_at", "id"],
                name="ticket_closed_team_idx",
            ),
        ),
    ]
