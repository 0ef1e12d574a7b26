"""Settings ``bench/omni_bench.py --layer-capacity N`` serves with: the product's own, with a
larger channel-layer capacity (channels_redis counts it per process, not per socket)."""

import os

from servicedesk.settings import *  # noqa: F403
from servicedesk.settings import CHANNEL_LAYERS

if CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer":  # pub/sub has no capacity
    CHANNEL_LAYERS["default"]["CONFIG"]["capacity"] = int(os.environ.get("OMNI_BENCH_LAYER_CAPACITY", "100"))
