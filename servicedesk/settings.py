"""Settings for the service desk: one module, driven by environment variables.

See the configuration table in README.md. Unset variables give the embedded
default (SQLite under var/, in-memory channel layer, tasks run in-process).
"""

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from servicedesk.env import email_settings, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", True)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_filters",
    "channels",
    "tickets",
    "sla",
    "omnichannel",
    "history",
    "dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Innermost and sync-only: the whole chain above runs in one thread under ASGI (see its docstring).
    "servicedesk.middleware.SyncChainMiddleware",
]

ROOT_URLCONF = "servicedesk.urls"
ASGI_APPLICATION = "servicedesk.asgi.application"
WSGI_APPLICATION = "servicedesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tickets.context_processors.navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while background work writes; IMMEDIATE
    # transactions take the write lock up front instead of failing mid-way.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compiles a plan in 20-200 ms, more than the panels' counts and pages take to
    # run. The working set lives in memory (or on SSD), where a random page costs about
    # a sequential one: at the default 4 the planner reads heap rows it could answer
    # from a covering index. Parallel workers only take cores from the other requests of
    # a small web host. A URL's own ``?options=`` go after, so they may override these.
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    _pg_options["options"] = " ".join(
        filter(
            None,
            [
                "-c jit=off -c random_page_cost=1.1 -c max_parallel_workers_per_gather=0",
                _pg_options.get("options", ""),
            ],
        )
    )
    # Under daphne every request's sync code runs in a thread of its own, and each thread
    # opens its own connection: a burst (a webhook storm) would exhaust max_connections.
    # A pool bounds them; a request waits up to DB_POOL_TIMEOUT for a free connection.
    # DB_POOL_MAX_SIZE=0 turns it off (persistent connections need it off).
    if env_int("DB_POOL_MAX_SIZE", 20) > 0 and not DATABASES["default"].get("CONN_MAX_AGE"):
        _pg_options["pool"] = {
            "min_size": env_int("DB_POOL_MIN_SIZE", 2),
            "max_size": env_int("DB_POOL_MAX_SIZE", 20),
            "timeout": env_int("DB_POOL_TIMEOUT", 30),
        }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, channels, Celery -------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 reads with a 5 s socket timeout by default, shorter than
            # channels_redis's blocking BZPOPMIN: without None every idle socket dies.
            "CONFIG": {
                # redis-py 8 also caps a pool at 100 connections and fails beyond
                # (it does not wait): a burst of socket connects needs more.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": None,
                        "max_connections": env_int("CHANNELS_REDIS_MAX_CONNECTIONS", 2000),
                    }
                ],
                "prefix": env_str("CHANNELS_PREFIX", "asgi"),
                # Messages waiting for one channel. A daphne process receives every group
                # on one channel (dashboards.hub, and channels_redis counts a process's
                # sockets together), so the default 100 dropped live updates in a burst.
                "capacity": env_int("CHANNELS_CAPACITY", 5000),
            },
        }
    }
    if env_str("CHANNELS_BACKEND", "pubsub") == "pubsub":
        # Redis PUBLISH/SUBSCRIBE (channels_redis.pubsub): one PUBLISH per group_send and
        # messages pushed to the subscribed processes, instead of sorted sets, Lua scripts
        # and a blocking pop per message. At most once: nothing is kept for a process that is
        # not subscribed (the screens resync when a socket reconnects).
        CHANNEL_LAYERS["default"] = {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                "prefix": env_str("CHANNELS_PREFIX", "asgi"),
            },
        }
    # One Redis connection pool per process (see servicedesk/cache.py).
    CACHES = {"default": {"BACKEND": "servicedesk.cache.SharedRedisCache", "LOCATION": REDIS_URL}}
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": env_int("CHANNELS_CAPACITY", 5000)}}
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Embedded default: tasks run in the calling process, after commit.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "America/Sao_Paulo"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Mark SLA clocks that passed their deadline (Atrasado) or come close to it (Em risco).
    "sla-scan-clocks": {"task": "sla.scan_clocks", "schedule": 60.0},
    # Omnichannel timers: answer timeout re-route, customer inactivity, waiting
    # conversations nobody picked up (end of wrap-up), agents whose browser is gone.
    "omni-reroute-unanswered": {"task": "omnichannel.reroute_unanswered", "schedule": 60.0},
    "omni-inactivity": {"task": "omnichannel.close_inactive", "schedule": 60.0},
    "omni-dispatch": {"task": "omnichannel.dispatch_waiting", "schedule": 60.0},
    "omni-presence-sweep": {"task": "omnichannel.presence_sweep", "schedule": 60.0},
    "omni-close-abandoned": {"task": "omnichannel.close_abandoned", "schedule": 60.0},
    # E-mail channel: read every active mailbox by IMAP (omnichannel.tasks_email).
    "omni-poll-mailboxes": {"task": "omnichannel.poll_mailboxes", "schedule": 60.0},
}
# Task modules outside the apps' ``tasks.py`` (autodiscovery imports only those).
CELERY_IMPORTS = ("omnichannel.tasks_email",)
# In the embedded default a thread in the web process drives CELERY_BEAT_SCHEDULE.
INPROCESS_SCHEDULER = env_bool("INPROCESS_SCHEDULER", not REDIS_URL)

# --- SLA --------------------------------------------------------------------------
# A running clock this close to its deadline is marked "Em risco".
SLA_WARNING_MINUTES = env_int("SLA_WARNING_MINUTES", 15)

# --- Omnichannel ---------------------------------------------------------------
# The account that opens tickets and registers customers for conversations (no login).
OMNICHANNEL_SYSTEM_USERNAME = env_str("OMNICHANNEL_SYSTEM_USERNAME", "omnichannel")
# After the inactivity warning, the customer has this long before the conversation closes.
OMNICHANNEL_INACTIVITY_GRACE_SECONDS = env_int("OMNICHANNEL_INACTIVITY_GRACE_SECONDS", 120)
# A customer silent this long inside the bot menu gives up (Desistência/Inatividade).
OMNICHANNEL_BOT_INACTIVITY_SECONDS = env_int("OMNICHANNEL_BOT_INACTIVITY_SECONDS", 600)
# No heartbeat from any of the agent's tabs for this long takes them out of routing.
OMNICHANNEL_PRESENCE_GRACE_SECONDS = env_int("OMNICHANNEL_PRESENCE_GRACE_SECONDS", 90)
# Voz: the largest call recording the PBX may upload (omnichannel.voice).
VOICE_RECORDING_MAX_BYTES = env_int("VOICE_RECORDING_MAX_BYTES", 50 * 1024 * 1024)
# A live-chat conversation still in the bot or the queue whose customer has had no widget
# socket alive this long is closed as Abandono (the close_abandoned sweep; a crashed process).
OMNICHANNEL_WIDGET_ABANDON_SECONDS = env_int("OMNICHANNEL_WIDGET_ABANDON_SECONDS", 60)
# Live-chat widget rate limits, scope -> "requests/seconds". The variable overrides some
# scopes, e.g. OMNICHANNEL_WIDGET_RATE_LIMITS="message_token=30/60,start_ip=5/600".
OMNICHANNEL_WIDGET_RATE_LIMITS = {
    "page_ip": "120/60",
    "start_ip": "10/600",
    "connect_ip": "60/60",
    "connect_token": "30/60",
    "message_ip": "120/60",
    "message_token": "20/60",
    "transcript_ip": "30/60",
    "transcript_token": "10/60",
    "file_ip": "60/60",
    "file_token": "30/60",
    "upload_ip": "30/60",
    "upload_token": "10/60",
}
for _item in env_list("OMNICHANNEL_WIDGET_RATE_LIMITS", []):
    _scope, _sep, _rate = _item.partition("=")
    _scope, _rate = _scope.strip(), _rate.strip()
    _parts = _rate.split("/")
    if (
        _scope not in OMNICHANNEL_WIDGET_RATE_LIMITS
        or len(_parts) != 2
        or not all(p.strip().isdigit() for p in _parts)
        or int(_parts[1]) < 1
    ):
        raise ImproperlyConfigured(
            f"OMNICHANNEL_WIDGET_RATE_LIMITS: {_item!r} is not scope=N/seconds with a known scope "
            f"({', '.join(OMNICHANNEL_WIDGET_RATE_LIMITS)})"
        )
    OMNICHANNEL_WIDGET_RATE_LIMITS[_scope] = f"{int(_parts[0])}/{int(_parts[1])}"

# --- Avaliação SAC Plus -----------------------------------------------------------
# Absolute base of the links sent to customers (evaluation page), without a trailing slash.
SITE_URL = env_str("SITE_URL", "http://localhost:8000").rstrip("/")
# An evaluation link stays valid this many days after it was sent.
SACPLUS_TOKEN_DAYS = env_int("SACPLUS_TOKEN_DAYS", 7)
# "Reenviar avaliação para o SAC Plus": at most one resend per ticket in this many minutes.
SACPLUS_RESEND_INTERVAL_MINUTES = env_int("SACPLUS_RESEND_INTERVAL_MINUTES", 60)

# --- Provider channels (WhatsApp, Telegram, Messenger, Instagram, e-mail, PBX) ---------
# Largest file a provider may deliver with a customer's message; bigger ones are refused
# (the message is kept, saying which file was refused).
OMNICHANNEL_INBOUND_MAX_BYTES = env_int("OMNICHANNEL_INBOUND_MAX_BYTES", 16 * 1024 * 1024)
# Largest webhook body accepted before the signature is even checked.
CHANNEL_WEBHOOK_MAX_BYTES = env_int("CHANNEL_WEBHOOK_MAX_BYTES", 2 * 1024 * 1024)
# Outbound sends: per-request timeout and retries (exponential backoff) on 5xx and timeouts.
CHANNEL_HTTP_TIMEOUT = env_int("CHANNEL_HTTP_TIMEOUT", 15)
CHANNEL_SEND_MAX_RETRIES = env_int("CHANNEL_SEND_MAX_RETRIES", 6)
CHANNEL_SEND_RETRY_BASE_SECONDS = env_int("CHANNEL_SEND_RETRY_BASE_SECONDS", 5)
WHATSAPP_GRAPH_VERSION = env_str("WHATSAPP_GRAPH_VERSION", "v21.0")

# --- Auth ---------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- i18n ---------------------------------------------------------------------
LANGUAGE_CODE = "pt-br"
LANGUAGES = [("pt-br", _("Português (Brasil)")), ("en", _("Inglês"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "America/Sao_Paulo"
USE_I18N = True
USE_TZ = True

# --- Static and media --------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/htmx-ext-ws", NODE_MODULES / "htmx-ext-ws" / "dist"),
    ("vendor/chart.js", NODE_MODULES / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"  # never served directly: attachments go through a permission-checked view
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
ATTACHMENT_ALLOWED_EXTENSIONS = env_list(
    "ATTACHMENT_ALLOWED_EXTENSIONS",
    ["pdf", "png", "jpg", "jpeg", "gif", "webp", "txt", "csv", "doc", "docx", "xls", "xlsx",
     "odt", "ods", "mp3", "ogg", "wav", "mp4", "zip"],
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- E-mail -------------------------------------------------------------------
# Embedded default: e-mails are written to files under var/mail. In production
# (DEBUG off) an unset EMAIL_URL means the local MTA on port 25.
MAILERS = email_settings(env_str("EMAIL_URL", "" if DEBUG else "smtp://localhost:25"), str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Central de Atendimento <atendimento@example.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security -----------------------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600)
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
