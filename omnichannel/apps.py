from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OmnichannelConfig(AppConfig):
    name = "omnichannel"
    verbose_name = _("Omnichannel")

    def ready(self) -> None:
        from omnichannel import demo
        from tickets.demo import demo_seeded

        demo_seeded.connect(demo.on_demo_seeded, dispatch_uid="omnichannel.demo")
