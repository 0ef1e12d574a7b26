"""What the panels remember per user."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class GridPreference(models.Model):
    """"Visualização de colunas e grades": one user's visible columns, in order, for one grid.

    ``columns`` is the ordered list of visible column keys; keys a later
    release removes are ignored when read, and new columns stay hidden until
    the user adds them or resets the grid.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grid_preferences"
    )
    view_slug = models.CharField(_("visão"), max_length=80)
    columns = models.JSONField(_("colunas"), default=list)
    updated_at = models.DateTimeField(_("atualizada em"), auto_now=True)

    class Meta:
        verbose_name = _("preferência de grade")
        verbose_name_plural = _("preferências de grade")
        constraints = [
            models.UniqueConstraint(fields=["user", "view_slug"], name="gridpreference_unique_user_view")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.view_slug}"


class PivotPreference(models.Model):
    """One user's configuration of a pivot view ("Gráfico sintético", "Informações sintéticas").

    ``config`` holds the dimensions on rows and columns, the filters with their
    chosen values, the measure and the chart type; it is validated by
    ``dashboards.grids.pivot.PivotConfig`` when read, so a dimension a later
    release removes is dropped rather than failing the page.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pivot_preferences"
    )
    view_slug = models.CharField(_("visão"), max_length=80)
    config = models.JSONField(_("configuração"), default=dict)
    updated_at = models.DateTimeField(_("atualizada em"), auto_now=True)

    class Meta:
        verbose_name = _("configuração de gráfico sintético")
        verbose_name_plural = _("configurações de gráfico sintético")
        constraints = [
            models.UniqueConstraint(fields=["user", "view_slug"], name="pivotpreference_unique_user_view")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.view_slug}"
