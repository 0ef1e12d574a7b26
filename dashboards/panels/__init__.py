"""The tabs and views of the "Painel de atendimento" (manual 001), registered on import.

Each module holds one tab; every membership rule is a function
``(user, now) -> QuerySet`` whose docstring states it in words, in local time
(``dashboards.grids.periods``).
"""

from dashboards.panels import (  # noqa: F401
    finalized,
    late,
    late_subprocesses,
    open,
    search,
    service_orders,
)
