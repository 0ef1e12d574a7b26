from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OmnichannelConfig(AppConfig):
    name = "omnichannel"
    verbose_name = _("Omnichannel")

    def ready(self) -> None:
        from omnichannel import demo
        from tickets.demo import demo_seeded

        demo_seeded.connect(demo.on_demo_seeded, dispatch_uid="omnichannel.demo")

        from django.contrib.auth.signals import user_logged_in

        from omnichannel.views_live import remember_nav_on_login

        user_logged_in.connect(remember_nav_on_login, dispatch_uid="omnichannel.nav")

        # SAC Plus: a finalized ticket asks the customer for an evaluation (after commit).
        from omnichannel import tasks_evaluations
        from tickets import hooks

        hooks.register(hooks.on_ticket_finalized, tasks_evaluations.on_ticket_finalized)

        # The ticket page links the conversations the viewer may open.
        from omnichannel.views_live import ticket_detail_context

        hooks.register(hooks.detail_context, ticket_detail_context)
