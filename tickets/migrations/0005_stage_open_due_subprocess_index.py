"""Index only: the unfinished stages' index also carries the subprocess.

"Processo x Subprocesso" groups the unfinished stages by subprocess; with the
subprocess in the index its counts are an index-only scan (no stage row read).
The replaced index is a prefix of the new one.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("tickets", "0004_panel_covering_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="ticketstage",
            name="stage_open_due_vis_idx",
        ),
        migrations.AddIndex(
            model_name="ticketstage",
            index=models.Index(
                condition=models.Q(("finished_at__isnull", True)),
                fields=["due_at", "id", "ticket", "subprocess"],
                name="stage_open_due_sub_idx",
            ),
        ),
    ]
