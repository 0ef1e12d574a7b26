"""Settings the webhook benchmark serves with: the product's own, plus one bare view
(``/bench/bare/``) that answers 200 on the same server, as the reference."""

from servicedesk.settings import *  # noqa: F403

ROOT_URLCONF = "bench.webhook_urls"
