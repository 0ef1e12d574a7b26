"""Indexes only: the panel grids sorted by the customer's name or by the protocol.

- The open tickets' covering index gains the customer, so the late stages of a
  period sorted by the customer's name join their open tickets from the index
  alone (it visited every open ticket's row for the customer id).
- ``customer_id_name_idx``: the name by id, index-only, for those thousands of rows.
- ``ticket_late_protocol_idx``: breached tickets by protocol with the breach time
  and the visibility columns, so "Atrasados" of a period sorted by protocol walks
  it without visiting the rows of other periods it skips.

- The breach indexes per team and per assignee gain the finalization, and the by-id
  index (the watch-list branch) the breach time: a late period filtered by
  "Finalizado" counts from the indexes alone (it visited ~70k ticket rows).

- The service orders' covering index gains the origin (trailing key), so "Em O.S."
  filtered by origin counts from it alone (a bitmap of 250k ids and ~18k row visits).

Each new index is created before the one it replaces (its prefix) is dropped.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0009_ticket_origin_covering_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("closed_at__isnull", True)),
                fields=["-opened_at", "-id", "team", "assignee", "origin", "customer"],
                name="ticket_open_vis_cust_idx",
            ),
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_open_vis_origin_idx",
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("sla_breached_at__isnull", False)),
                fields=["team", "sla_breached_at", "id", "closed_at"],
                name="ticket_late_team_closed_idx",
            ),
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_late_team_idx",
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("sla_breached_at__isnull", False)),
                fields=["assignee", "sla_breached_at", "id", "closed_at"],
                name="ticket_late_assignee_cl_idx",
            ),
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_late_assignee_idx",
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                fields=["id", "team", "assignee", "closed_at", "origin", "sla_breached_at"],
                name="ticket_id_vis_late_idx",
            ),
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_id_vis_origin_idx",
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("service_order_status", "none"), _negated=True),
                fields=[
                    "-opened_at", "-id", "team", "assignee",
                    "service_order_status", "service_order_due_at", "service_order_completed_at", "origin",
                ],
                name="ticket_so_vis_origin_idx",
            ),
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_so_vis_idx",
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["id", "name"], name="customer_id_name_idx"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("sla_breached_at__isnull", False)),
                fields=["protocol", "id", "sla_breached_at", "team", "assignee"],
                name="ticket_late_protocol_idx",
            ),
        ),
    ]
