"""Settings for every profile.

The embedded default (no environment at all) runs on SQLite in WAL mode, the in-memory
channel layer and the in-process scheduler. ``DATABASE_URL`` and ``REDIS_URL`` switch to
PostgreSQL and Redis; ``PLATFORM_PROFILE=production`` makes every secret mandatory.
"""

from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from trading.config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PROFILE = env_str("PLATFORM_PROFILE", "embedded")
if PROFILE not in {"embedded", "production"}:
    raise ImproperlyConfigured("PLATFORM_PROFILE must be 'embedded' or 'production'")
PRODUCTION = PROFILE == "production"

VAR_DIR = Path(env_str("PLATFORM_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEV_SECRET_KEY = "embedded-development-only-secret-key-not-for-production-use-0123456789"
SECRET_KEY = env_str("DJANGO_SECRET_KEY") if PRODUCTION else env_str("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
# Off in every profile, the embedded demo included: a debug 404 would list every URL pattern and a debug 500
# the settings. Static files do not need it (trading/config/asgi.py serves them in the embedded profile).
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The proxies (CIDRs) whose X-Forwarded-For entries are believed when finding the client's IP for the
# audit ledger (R33) and per-IP limits (trading/clientip.py). A request from any other address keeps its
# own address, whatever X-Forwarded-For it sends. TRUST_X_FORWARDED_FOR=1, the older switch, stands for
# the loopback proxy of deploy/nginx (daphne listens on 127.0.0.1 behind it).
LOOPBACK_PROXIES = ["127.0.0.1/32", "::1/128"]
TRUSTED_PROXIES = env_list(
    "TRUSTED_PROXIES", LOOPBACK_PROXIES if env_bool("TRUST_X_FORWARDED_FOR", False) else [])
for _cidr in TRUSTED_PROXIES:
    try:
        ip_network(_cidr, strict=False)
    except ValueError as exc:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {_cidr!r} is not an address or network") from exc

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "axes",
    "trading",
    "timestamps",
    "bidding",
    "experts",
    "trading.deposits",
    "trading.credit",
    "trading.supervision",
    "trading.portal",
    "trading.complaints",
    "trading.archives",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "trading.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "trading.bodylimit.JsonBodyLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "trading.middleware.ClientIPMiddleware",
    "trading.middleware.DomainErrorMiddleware",
    "trading.middleware.RetryableErrorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "trading.web.enrolment.StaffEnrolmentMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "trading.config.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "trading.config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "trading.context_processors.platform",
            ],
        },
    },
]


def _database_from_url(url: str) -> dict:
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL")
    options = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")) or "postgres",
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 0),
        "OPTIONS": options,
        "TEST": {"NAME": options.pop("test_name", None) or None},
    }


DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": _database_from_url(DATABASE_URL)}
elif PRODUCTION:
    raise ImproperlyConfigured("DATABASE_URL is required in production")
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(VAR_DIR / "db.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "trading.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "workspace"
LOGOUT_REDIRECT_URL = "home"
# django-axes counts failed logins (password, TOTP step, API token) per account and per client IP, each on
# its own: LOGIN_FAILURE_LIMIT failures without a pause of LOGIN_COOLOFF_MINUTES lock that account, or that IP,
# until the pause has passed (trading/lockout.py).
AUTHENTICATION_BACKENDS = [
    "trading.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "trading.lockout.client_ip_of"
AXES_RESET_ON_SUCCESS = False
# Our login views answer a lockout themselves (a page or a JSON 429), so axes's middleware is not needed.
SILENCED_SYSTEM_CHECKS = ["axes.W002"]
# Wrong codes allowed in one pending two-step login before it is discarded and the password is asked again.
TOTP_ATTEMPTS_PER_LOGIN = env_int("TOTP_ATTEMPTS_PER_LOGIN", 5)
RECOVERY_CODE_COUNT = 10
# Staff roles (agency, supervisor, admin) must set up two-factor login before they can do anything else.
REQUIRE_STAFF_2FA = env_bool("REQUIRE_STAFF_2FA", PRODUCTION)
# API bearer tokens end this many hours after they were issued.
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 24)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"

# Bid files, upload chunks, tender documents and records (trading/files.py): local disk under FILE_STORE_DIR
# by default, or FILE_STORAGE=s3 for an S3-compatible bucket through django-storages.
FILE_STORE_DIR = Path(env_str("FILE_STORE_DIR", str(VAR_DIR / "files")))
FILE_STORAGE = env_str("FILE_STORAGE", "local").strip().lower()
if FILE_STORAGE == "local":
    _FILE_STORE = {"BACKEND": "trading.files.LocalFileStore"}
elif FILE_STORAGE == "s3":
    from botocore.config import Config as _BotoConfig

    _FILE_STORE = {
        "BACKEND": "trading.files_s3.S3FileStore",
        "OPTIONS": {
            "bucket_name": env_str("S3_BUCKET"),
            "endpoint_url": env_str("S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("S3_REGION", "") or None,
            "access_key": env_str("S3_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("S3_SECRET_ACCESS_KEY", "") or None,
            "location": env_str("S3_PREFIX", "").strip("/"),
            "addressing_style": env_str("S3_ADDRESSING_STYLE", "") or None,
            "signature_version": "s3v4",
            "client_config": _BotoConfig(connect_timeout=5, read_timeout=120,
                                         retries={"max_attempts": 5, "mode": "standard"}),
            "file_overwrite": True,
            "default_acl": None,
            "querystring_auth": True,
            "object_parameters": (
                {"ServerSideEncryption": env_str("S3_SERVER_SIDE_ENCRYPTION")}
                if env_str("S3_SERVER_SIDE_ENCRYPTION", "") else {}
            ),
        },
    }
else:
    raise ImproperlyConfigured(f"FILE_STORAGE must be 'local' or 's3', not {FILE_STORAGE!r}")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "filestore": _FILE_STORE,
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 9 * 1024 * 1024  # one 8 MiB chunk plus headroom
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# JSON request bodies larger than this are refused with 413 (trading.middleware.JsonBodyLimitMiddleware);
# bid chunks are not JSON and keep their own limit above.
JSON_BODY_MAX_BYTES = env_int("JSON_BODY_MAX_BYTES", 1024 * 1024)
# A WebSocket message to the opening room larger than this closes the socket with 1009 (bidding/consumers.py).
ROOM_MESSAGE_MAX_BYTES = env_int("ROOM_MESSAGE_MAX_BYTES", 64 * 1024)
TENDER_DOCUMENT_MAX_BYTES = env_int("TENDER_DOCUMENT_MAX_BYTES", 50 * 1024 * 1024)
BID_MAX_BYTES = env_int("BID_MAX_BYTES", 4 * 1024 * 1024 * 1024)
COMPLAINT_EVIDENCE_MAX_BYTES = env_int("COMPLAINT_EVIDENCE_MAX_BYTES", 20 * 1024 * 1024)
COMPLAINT_EVIDENCE_MAX_FILES = env_int("COMPLAINT_EVIDENCE_MAX_FILES", 10)

# Secrets that never live in the database. The master key's default is beside the data folder, not in it
# (var-keys/ next to var/), so that a copy of the folder with the database does not take it (decision 0024).
MASTER_KEY_DEFAULT_FILE = VAR_DIR.parent / f"{VAR_DIR.name}-keys" / "master.key"
MASTER_KEY_FILE = Path(env_str("MASTER_KEY_FILE", str(MASTER_KEY_DEFAULT_FILE)))
TSA_DIR = Path(env_str("TSA_DIR", str(VAR_DIR / "tsa")))
# The key and certificate that seal the platform's PDFs; empty means TSA_DIR / "signing".
SIGNING_DIR = env_str("SIGNING_DIR", "") or None
DEV_BANK_SECRET = "embedded-development-bank-secret"
BANK_WEBHOOK_SECRET = (
    env_str("BANK_WEBHOOK_SECRET") if PRODUCTION else env_str("BANK_WEBHOOK_SECRET", DEV_BANK_SECRET)
)

# Deposits (投标保证金): interest on refunds (ACT/360), refund periods (R18, R19) and the bank's API.
DEPOSIT_INTEREST_ANNUAL_RATE = env_str("DEPOSIT_INTEREST_ANNUAL_RATE", "0.0035")  # PBoC demand deposits, 0.35 %
DEPOSIT_REFUND_DAYS = env_int("DEPOSIT_REFUND_DAYS", 5)
DEPOSIT_RETURN_DAYS = env_int("DEPOSIT_RETURN_DAYS", 5)
BANK_API_URL = env_str("BANK_API_URL") if PRODUCTION else env_str("BANK_API_URL", "")
BANK_RETRY_BASE_SECONDS = env_int("BANK_RETRY_BASE_SECONDS", 30)
BANK_RETRY_MAX_SECONDS = env_int("BANK_RETRY_MAX_SECONDS", 3600)
BANK_VIRTUAL_ACCOUNT_PREFIX = env_str("BANK_VIRTUAL_ACCOUNT_PREFIX", "9558")

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    # redis-py 8 defaults socket_timeout to 5 s, which aborts channels-redis's blocking reads (BZPOPMIN, 5 s)
    # and tears down idle consumers; keep it well above that.
    _REDIS_HOST = {"address": REDIS_URL, "max_connections": env_int("REDIS_MAX_CONNECTIONS", 1000),
                   "socket_timeout": 30, "socket_connect_timeout": 5}
    # "pubsub" publishes a group message once and each daphne process fans it out locally; "core" pushes one
    # copy per member channel. Room clients recover anything missed from the database by seq either way.
    REDIS_CHANNEL_LAYER = env_str("REDIS_CHANNEL_LAYER", "pubsub")
    if REDIS_CHANNEL_LAYER == "pubsub":
        CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                                      "CONFIG": {"hosts": [_REDIS_HOST]}}}
    elif REDIS_CHANNEL_LAYER == "core":
        CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                      "CONFIG": {"hosts": [_REDIS_HOST], "capacity": 1500, "expiry": 30}}}
    else:
        raise ImproperlyConfigured("REDIS_CHANNEL_LAYER must be 'pubsub' or 'core'")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
elif PRODUCTION:
    raise ImproperlyConfigured("REDIS_URL is required in production")
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: production uses a Redis broker; the embedded profile runs the same task
# functions from the in-process scheduler (trading.scheduler) instead.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL and not PRODUCTION
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
EMBEDDED_SCHEDULER = env_bool("EMBEDDED_SCHEDULER", not PRODUCTION and not REDIS_URL)
SWEEP_INTERVAL_SECONDS = env_int("SWEEP_INTERVAL_SECONDS", 5)
# One beat drives the idempotent sweep; the database decides what is due (DESIGN.md §2).
CELERY_BEAT_SCHEDULE = {
    "sweep": {"task": "trading.sweep", "schedule": float(SWEEP_INTERVAL_SECONDS), "options": {"expires": 30}},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "trading.api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": None,
    "EXCEPTION_HANDLER": "trading.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Public-resource trading platform API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Timeline rules (RULES.md); each may be changed by local rule.
# The live demo opening (seed_demo): a section whose deadline is this many minutes after seeding, sealed bids
# from bidder1-bidder4 with their key backups in DEMO_KEYS_DIR, and, with DEMO_ROBOT (set by deploy/dev.py run
# only), a clearly labelled robot that decrypts for bidder2-bidder4 so that the opening completes.
DEMO_OPENING_MINUTES = env_int("DEMO_OPENING_MINUTES", 5)
DEMO_ROBOT = env_bool("DEMO_ROBOT", False)
DEMO_KEYS_DIR = Path(env_str("DEMO_KEYS_DIR", str(VAR_DIR / "demo-keys")))
DEMO_KEY_PASSPHRASE = env_str("DEMO_KEY_PASSPHRASE", "Yanshi-Miyao-2026")
RULE_MIN_BIDDING_DAYS = env_int("RULE_MIN_BIDDING_DAYS", 20)  # R01
RULE_MIN_DOCUMENT_DAYS = env_int("RULE_MIN_DOCUMENT_DAYS", 5)  # R02
RULE_CLARIFICATION_DAYS = env_int("RULE_CLARIFICATION_DAYS", 15)  # R03
RULE_OBJECTION_CUTOFF_DAYS = env_int("RULE_OBJECTION_CUTOFF_DAYS", 10)  # R04
RULE_OBJECTION_ANSWER_DAYS = env_int("RULE_OBJECTION_ANSWER_DAYS", 3)  # R04
RULE_DEPOSIT_CAP_PERCENT = env_str("RULE_DEPOSIT_CAP_PERCENT", "2")  # R15
RULE_PUBLICITY_START_DAYS = env_int("RULE_PUBLICITY_START_DAYS", 3)  # R27
RULE_CONTRACT_DAYS = env_int("RULE_CONTRACT_DAYS", 30)  # R29
RULE_COMPLAINT_DAYS = env_int("RULE_COMPLAINT_DAYS", 10)  # R35
RULE_COMPLAINT_ACCEPT_DAYS = env_int("RULE_COMPLAINT_ACCEPT_DAYS", 3)  # R36, working days
RULE_COMPLAINT_DECISION_DAYS = env_int("RULE_COMPLAINT_DECISION_DAYS", 30)  # R36, working days

# 电子档案: years a section's sealed archive is kept in the file store after it is built.
ARCHIVE_RETENTION_YEARS = env_int("ARCHIVE_RETENTION_YEARS", 30)

# Supervision: early warning before a step is due, and the days a supervisor has to follow up a rating.
SUPERVISION_WARNING_HOURS = env_int("SUPERVISION_WARNING_HOURS", 24)
RATING_FOLLOWUP_DAYS = env_int("RATING_FOLLOWUP_DAYS", 5)
# Break-glass (破窗查看): how long a supervisor's early view lasts, and the shortest written reason.
BREAK_GLASS_MINUTES = env_int("BREAK_GLASS_MINUTES", 60)
BREAK_GLASS_REASON_MIN_LENGTH = env_int("BREAK_GLASS_REASON_MIN_LENGTH", 20)

# Experts (专家): how invitations reach them (console | file | smtp; smtp sends e-mail through Django's EMAIL_*
# settings, console and file stand in for the SMS gateway), the file backend's outbox, how long a drawn expert
# has to answer before the seat goes to the next backup, and how long an account activation link lasts.
EXPERT_NOTIFIER = env_str("EXPERT_NOTIFIER", "console")
EXPERT_NOTIFIER_FILE = Path(env_str("EXPERT_NOTIFIER_FILE", str(VAR_DIR / "expert-outbox.jsonl")))
EXPERT_CONFIRM_MINUTES = env_int("EXPERT_CONFIRM_MINUTES", 120)
EXPERT_ACTIVATION_HOURS = env_int("EXPERT_ACTIVATION_HOURS", 72)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "noreply@localhost")

# The public portal's OCDS releases: the ocid prefix registered with the OCDS and the data licence URL.
OCDS_OCID_PREFIX = env_str("OCDS_OCID_PREFIX", "ocds-gj2026")
OCDS_LICENSE = env_str("OCDS_LICENSE", "")

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Where browsers report Content-Security-Policy violations (trading/csp.py); empty sends no reports.
CSP_REPORT_URI = env_str("CSP_REPORT_URI", "")
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOG_FORMAT = env_str("LOG_FORMAT", "json" if PRODUCTION else "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "trading.logjson.JsonFormatter"},
                   "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

PLATFORM_NAME = _("Public Resource Trading Platform")
