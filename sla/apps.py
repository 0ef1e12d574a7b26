from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = _("SLA")

    def ready(self) -> None:
        from sla import demo, selectors, services
        from tickets import hooks
        from tickets.deadlines import register_stage_due_calculator
        from tickets.demo import demo_seeded

        hooks.register(hooks.on_ticket_opened, services.on_ticket_opened)
        hooks.register(hooks.on_ticket_finalized, services.on_ticket_finalized)
        hooks.register(hooks.on_ticket_reopened, services.on_ticket_reopened)
        hooks.register(hooks.on_ticket_changed, services.on_ticket_changed)
        hooks.register(hooks.detail_context, selectors.detail_context)
        register_stage_due_calculator(services.stage_due)
        demo_seeded.connect(demo.on_demo_seeded, dispatch_uid="sla.demo")
