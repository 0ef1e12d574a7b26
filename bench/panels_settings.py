"""Settings the panels benchmark serves with: the product's own, plus the query counter.

``DJANGO_SETTINGS_MODULE=bench.panels_settings`` (set by ``bench/panels_bench.py``);
everything else comes from the environment exactly as in full mode.
"""

from servicedesk.settings import *  # noqa: F403
from servicedesk.settings import MIDDLEWARE

MIDDLEWARE = ["bench.panels_querycount.QueryCountMiddleware", *MIDDLEWARE]
