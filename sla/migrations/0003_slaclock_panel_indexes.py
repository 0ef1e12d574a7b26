"""Indexes only, for the supervisor panels' late views.

The breach-time index gains the ticket (a prefix of the old one, which it
replaces), and a partial index on the clocks that may be late holds what
decides lateness, so the panels join tickets to clocks from the index alone.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("sla", "0002_calendar_version_holiday_constraints"),
        ("tickets", "0004_panel_covering_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="slaclock",
            name="slaclock_breached_idx",
        ),
        migrations.AddIndex(
            model_name="slaclock",
            index=models.Index(
                condition=models.Q(("breached_at__isnull", False)),
                fields=["breached_at", "ticket"],
                name="slaclock_breached_tkt_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="slaclock",
            index=models.Index(
                condition=models.Q(("state__in", ["breached", "running", "at_risk"]), ("breached_at__isnull", False), _connector="OR"),
                fields=["ticket", "state", "due_at", "breached_at"],
                name="slaclock_late_tkt_idx",
            ),
        ),
    ]
