"""One settings module, driven by environment variables only (see README, "Configuration")."""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("TESTING", False)

VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def _install_key() -> str:
    """This installation's own development key, made once into var/secret_key (mode 0600).

    A key written in the source is everyone's: a development server reachable on a network
    (`HOST=0.0.0.0 make run`) accepted tokens anyone could sign.
    """
    path = VAR_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process (the worker, the scheduler) made it first
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as out:
        out.write(key)
    return key


SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if TESTING:
        # The test runs' key: it signs nothing that outlives the run.
        SECRET_KEY = "test-only-insecure-key-never-use-in-production-0123456789abcdef"
    elif DEBUG:
        SECRET_KEY = _install_key()
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG or TESTING else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# How many reverse proxies in front of us append to X-Forwarded-For. 0: trust no forwarded header.
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)
if TRUSTED_PROXIES:
    USE_X_FORWARDED_HOST = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    # The console's theme: its templates must be found before the admin's own. The basic config:
    # the default one replaces admin.site with unfold's own site, and ours is ConsoleSite.
    "unfold.apps.BasicAppConfig",
    "backend.accounts.apps.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "servestatic",
    "daphne",
    "channels",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "djoser",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    # Row triggers on PostgreSQL (append-only ledgers, backend/core/ledger.py); nothing on SQLite.
    "pgtrigger",
    "backend.core",
    "backend.communities",
    "backend.accounts",
    "backend.members",
    "backend.notices",
    "backend.brands",
    "backend.red_property",
    "backend.appeals",
    "backend.activities",
    "backend.volunteers",
    "backend.demo",
    "backend.reports",
    # The workbench on top of the admin; it reads every app, so it comes last (docs/console.md).
    "backend.console",
]
# daphne must come before staticfiles so its runserver wins; keep it right after contrib.
INSTALLED_APPS.remove("daphne")
INSTALLED_APPS.insert(0, "daphne")

# The fake WeChat server (devtools/, `manage.py fake_wechat`) wherever the package is importable:
# a checkout. It is neither installed with backend nor copied into the image, so production never
# has it.
if importlib.util.find_spec("devtools") is not None:
    INSTALLED_APPS.append("devtools")

# `make bench` only: reference endpoints measured beside ours (bench/ceiling). Never on in production.
BENCH_CEILING = env_bool("BENCH_CEILING", False)
if BENCH_CEILING:
    INSTALLED_APPS.append("bench.ceiling")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "backend.core.middleware.MethodOverrideMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Static files from the app itself: for `make run` (one daphne). Behind nginx, which serves
# /static/, turn it off: ServeStatic's middleware is async-only and costs a thread hand-off per
# request under gunicorn (about 1 ms of CPU each, measured by make bench).
SERVE_STATIC = env_bool("SERVE_STATIC", True)
if SERVE_STATIC:
    MIDDLEWARE.insert(1, "servestatic.middleware.ServeStaticMiddleware")
ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"
ASGI_APPLICATION = "backend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "backend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Pooled: opening a PostgreSQL connection per request cost ~7 ms of server CPU here.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DB_POOL_MIN_SIZE", 2),
        "max_size": env_int("DB_POOL_MAX_SIZE", 10),
        "timeout": 10,
    }
    # With the pool this checks each connection as it leaves the pool: after a database restart or a
    # terminated backend every idle one is dead, and each failed a request (500). Django's check is an
    # empty query, a round trip on every request; the engine below (Django's, subclassed) asks the
    # kernel instead whether the server has closed the socket (backend/core/dbpool.py).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["ENGINE"] = "backend.core.postgresql"
    # Names the connections in pg_stat_activity (api, ws, worker …): who holds them, and what an
    # operator (or the fault tests) may terminate without touching anyone else's.
    if DB_APPLICATION_NAME := os.environ.get("DB_APPLICATION_NAME", ""):
        DATABASES["default"]["OPTIONS"]["application_name"] = DB_APPLICATION_NAME
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL and a busy timeout let the worker and the server share one file.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {
        # The defaults (username, names, email) are fields this user model does not have.
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("phone", "real_name", "nickname")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # The default pool (100) raised MaxConnectionsError on mass disconnects.
                        "max_connections": env_int("REDIS_MAX_CONNECTIONS", 1000),
                        # redis-py 8 reads with a 5 s timeout by default, as long as channels_redis's
                        # blocking pop (BZPOPMIN, 5 s): the read timed out and killed idle sockets (1011).
                        "socket_timeout": 15,
                        "socket_connect_timeout": 5,
                    }
                ],
                "prefix": os.environ.get("CHANNEL_PREFIX", "asgi"),
                "capacity": 1500,
                "expiry": 60,
            },
        }
    }
    CACHES = {
        "default": {
            # django-redis, not Django's own backend, for IGNORE_EXCEPTIONS: with Redis down every
            # request failed (500) in the throttles' cache read; now an outage reads as cache misses
            # (throttles open, presence unknown, scheduled slots unclaimed) and writes still succeed.
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_PREFIX", "pb"),
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    # One process only: the in-memory layer cannot reach a second daphne.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks.backends.immediate.ImmediateBackend" if TESTING else "django_tasks_db.DatabaseBackend"
        ),
    }
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
# The console's own Chinese for what django-unfold and the admin leave in English; ahead of every
# app's catalog. The .mo is committed (built by `make messages`).
LOCALE_PATHS = [BASE_DIR / "backend" / "locale"]
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Behind nginx: /media/ links are checked by the app and the files sent by nginx (X-Accel-Redirect).
MEDIA_ACCEL_REDIRECT = env_bool("MEDIA_ACCEL_REDIRECT", False)
STORAGES = {
    # Stored files leave through short-lived signed links only (backend/core/media.py).
    "default": {"BACKEND": "backend.core.media.SignedFileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "servestatic.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
SERVESTATIC_USE_FINDERS = DEBUG or TESTING

# Uploads: images and documents, one per request; the cap is enforced before the body is read.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
# Phone photos are 12 megapixels by default; 24 leaves room for the larger modes.
UPLOAD_MAX_PIXELS = env_int("UPLOAD_MAX_PIXELS", 24_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # simplejwt's, with its token verified once per process and the account read by a statement
        # written once (backend/accounts/authentication.py).
        "backend.accounts.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "backend.core.pagination.PageNumberPagination",
    # DRF's JSON written by orjson (the same bytes, a fraction of the cost); the browsable API as usual.
    "DEFAULT_RENDERER_CLASSES": [
        "backend.core.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "backend.core.negotiation.ContentNegotiation",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": [
        "backend.core.filters.FilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "backend.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "backend.core.exceptions.exception_handler",
    # JSON bounded in depth and free of lone surrogates (both were 500s); forms and uploads as usual.
    "DEFAULT_PARSER_CLASSES": [
        "backend.core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "backend.core.throttling.UserThrottle",
        "backend.core.throttling.AnonThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("THROTTLE_USER", "600/min"),
        "anon": os.environ.get("THROTTLE_ANON", "300/min"),
        "wechat_code": "5/min",
        "wechat_address": os.environ.get("THROTTLE_WECHAT_ADDRESS", "600/min"),
        # Password logins (console accounts): per client address and per account phone.
        "login": "20/min",
        "login_phone": "10/min",
        # Appeals filed per user: each one is work for a grid worker against a deadline.
        "appeal_filing": "30/hour",
        # Check-ins and check-outs per user: a phone's retries fit; guessing tokens or positions does not.
        "checkin": "30/min",
        # Each certificate PDF embeds a subset of a CJK font: about a second of CPU.
        "certificate_pdf": "20/min",
        # The owner's copy of all their data, and account deletion (it checks a password).
        "personal_data_export": "5/hour",
        "account_deletion": "10/hour",
    },
    "NUM_PROXIES": TRUSTED_PROXIES,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 30)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

DJOSER = {
    "LOGIN_FIELD": "phone",
    "HIDE_USERS": True,
    "SERIALIZERS": {
        "current_user": "backend.accounts.serializers.MeSerializer",
        "user": "backend.accounts.serializers.MeSerializer",
    },
    "PERMISSIONS": {
        "user": ["rest_framework.permissions.IsAuthenticated"],
        "user_list": ["rest_framework.permissions.IsAdminUser"],
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "社区党建与志愿服务 API",
    "DESCRIPTION": (
        "The API behind the community party-building mini-program and console. "
        "Errors are always {code, detail, fields?}; see the README for the realtime protocol."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "BrandStatusEnum": "backend.brands.models.Brand.Status",
        "BrandPlanStatusEnum": "backend.brands.models.BrandPlan.Status",
        "AppealStatusEnum": "backend.appeals.models.Appeal.Status",
        "AppealCategoryEnum": "backend.appeals.models.Appeal.Category",
        "AppealUrgencyEnum": "backend.appeals.models.Appeal.Urgency",
        "AppealSourceEnum": "backend.appeals.models.Appeal.Source",
        "AppealStepKindEnum": "backend.appeals.models.AppealStep.Kind",
        # Committee roles share the field name "role" with role grants: name all of them.
        "RoleEnum": "backend.accounts.models.Role",
        "CommitteeRoleEnum": "backend.red_property.models.CommitteeRole",
        "SelfGovernanceRoleEnum": "backend.red_property.models.SelfGovernanceMember.Role",
        "JointMeetingSideEnum": "backend.red_property.models.JointMeetingParticipant.Side",
        "RegistrationStatusEnum": "backend.members.models.MemberRegistration.Status",
        "PartyMemberStatusEnum": "backend.members.models.PartyMember.Status",
        "DemandStatusEnum": "backend.members.models.Demand.Status",
        "DemandKindEnum": "backend.members.models.Demand.Kind",
        "ResourceCategoryEnum": "backend.members.models.Resource.Category",
        "ServiceProjectStatusEnum": "backend.members.models.ServiceProject.Status",
        "PointsEntryKindEnum": "backend.members.models.PointsEntry.Kind",
        "ActivityStatusEnum": "backend.activities.models.Activity.Status",
        "ActivityCategoryEnum": "backend.activities.models.Activity.Category",
        "ActivityAudienceEnum": "backend.activities.models.Activity.Audience",
        "EnrollmentStatusEnum": "backend.activities.models.Enrollment.Status",
        "CheckInKindEnum": "backend.activities.models.CheckIn.Kind",
        "LeaveRequestStatusEnum": "backend.activities.models.LeaveRequest.Status",
        "AttendanceEnum": "backend.activities.selectors.Attendance",
        "ServiceRecordStatusEnum": "backend.volunteers.models.ServiceRecord.Status",
        "ServiceRecordSourceEnum": "backend.volunteers.models.ServiceRecord.Source",
        "VolunteerIdTypeEnum": "backend.volunteers.models.IdType",
        # content_review and content_flag (backend/core/fields.py) share one set of states.
        "ContentReviewEnum": "backend.core.moderation.REVIEW_STATES",
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums"],
}

WECHAT_APPID = os.environ.get("WECHAT_APPID", "wx-dev-appid" if DEBUG or TESTING else "")
WECHAT_SECRET = os.environ.get("WECHAT_SECRET", "dev-secret" if DEBUG or TESTING else "")
WECHAT_API_BASE = os.environ.get("WECHAT_API_BASE", "https://api.weixin.qq.com").rstrip("/")
WECHAT_TIMEOUT = float(os.environ.get("WECHAT_TIMEOUT", "5"))
# Content checks (docs/wechat.md): the token WeChat signs its pushes to /api/v1/wechat/push/ with
# (the mini-program console's 消息推送 token), and the public address of /media/ from which WeChat
# downloads the images it checks (nginx serves it at the first host name).
WECHAT_PUSH_TOKEN = os.environ.get("WECHAT_PUSH_TOKEN", "dev-push-token" if DEBUG or TESTING else "")
MEDIA_PUBLIC_URL = os.environ.get("MEDIA_PUBLIC_URL") or (
    f"https://{ALLOWED_HOSTS[0]}/media/" if ALLOWED_HOSTS and ALLOWED_HOSTS[0][0] not in ".*[" else ""
)
# User text and images others will see wait for WeChat's verdict. The tests turn it on where
# they test it, with the fake WeChat server running; elsewhere it would call WeChat itself.
CONTENT_CHECKS = not TESTING

# Subscribe messages (订阅消息) by notice kind, "default" for kinds not listed, null for none: the
# template id from the mini-program's console, the page it opens ({id}: the notice) and which
# notice field fills each template key (title, body, created_at, sender, kind, id). JSON in the env.
WECHAT_SUBSCRIBE_TEMPLATES = json.loads(os.environ.get("WECHAT_SUBSCRIBE_TEMPLATES") or "null") or {
    "default": {
        "template_id": "notice-default",
        "page": "pages/notices/detail?id={id}",
        "fields": {"thing1": "title", "thing2": "sender", "time3": "created_at"},
    },
    "activity": {
        "template_id": "notice-activity",
        "page": "pages/notices/detail?id={id}",
        "fields": {"thing1": "title", "thing2": "body", "time3": "created_at"},
    },
}
# Seconds a user counts as connected after their socket's last heartbeat (see notices/presence.py).
NOTICES_PRESENCE_TTL = env_int("NOTICES_PRESENCE_TTL", 90)
# Subscribe messages WeChat did not take (busy, slow, unreachable) are tried again after this many
# seconds, then 4×, 16× as long: four attempts in all, about ten minutes with the default.
NOTICES_SUBSCRIBE_RETRY_BASE_SECONDS = float(os.environ.get("NOTICES_SUBSCRIBE_RETRY_BASE_SECONDS", "30"))

# 接诉即办: by urgency, how long from submission until an appeal must be accepted (respond) and
# resolved (resolve); and the days a resolved appeal waits for its rating before closing unrated.
APPEAL_DEADLINES = {
    "urgent": {"respond": timedelta(hours=2), "resolve": timedelta(hours=2)},
    "utilities": {"respond": timedelta(hours=2), "resolve": timedelta(hours=24)},
    "general": {"respond": timedelta(hours=24), "resolve": timedelta(days=7)},
    "complex": {"respond": timedelta(hours=24), "resolve": timedelta(days=15)},
}
APPEAL_RATING_DAYS = 7

# Personal data at rest (ID numbers): Fernet keys, comma-separated; the first encrypts, all decrypt,
# so a key is rotated by putting a new one first. ID_HASH_KEY keys the hash used to find duplicates.
# Development derives both from SECRET_KEY (backend/core/crypto.py); production must set them.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")
ID_HASH_KEY = os.environ.get("ID_HASH_KEY", "")
if not (FIELD_ENCRYPTION_KEYS and ID_HASH_KEY) and not (DEBUG or TESTING):
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS and ID_HASH_KEY must be set when DEBUG is off.")
# The privacy notice members agree to before their party details are stored; a new version asks again.
PRIVACY_NOTICE_VERSION = os.environ.get("PRIVACY_NOTICE_VERSION", "2026-01")
# How many service posts each registered member is expected to hold.
MEMBER_MIN_POSTS = env_int("MEMBER_MIN_POSTS", 1)
# ID numbers an account may try in a day, members and volunteers together (backend/core/attempts.py):
# enough for typos, too few to look up who holds which number.
ID_NUMBER_ATTEMPTS_PER_DAY = env_int("ID_NUMBER_ATTEMPTS_PER_DAY", 10)
# Days after a demand is done before staff may confirm it for the resident (and the scheduler does).
DEMAND_AUTO_CONFIRM_DAYS = env_int("DEMAND_AUTO_CONFIRM_DAYS", 7)
# Households from which an estate is expected to form an owners' committee (业委会); each estate's
# governance may override it either way.
OWNERS_COMMITTEE_HOUSEHOLDS = env_int("OWNERS_COMMITTEE_HOUSEHOLDS", 100)
# 双报告 (docs/reports.md): the service an in-service member is expected to give in a year, measured
# in proportion to the report's period: approved volunteer hours, or services (approved service
# records and demands completed); either one met is enough, and 0 leaves a measure out.
FEEDBACK_REPORT_YEARLY_HOURS = 50
FEEDBACK_REPORT_YEARLY_SERVICES = 12
# Check-in at activities (docs/activities.md). The QR code holds a URL under the prefix registered for
# the mini-program (扫普通链接二维码打开小程序), ending in a token that rotates every period and is
# accepted for two. The window opens before the start and check-out closes after the end (an activity
# may set its own); a reported accuracy widens the geofence by at most the allowance.
CHECKIN_QR_URL_PREFIX = os.environ.get("CHECKIN_QR_URL_PREFIX", "https://mp.example.org/checkin/")
CHECKIN_CODE_PERIOD_SECONDS = env_int("CHECKIN_CODE_PERIOD_SECONDS", 30)
CHECKIN_OPENS_BEFORE_MINUTES = 30
CHECKOUT_CLOSES_AFTER_MINUTES = 120
CHECKIN_MAX_ACCURACY_ALLOWANCE_M = 100
# The console's place picker (docs/console.md): a Leaflet tile URL template of a GCJ-02 map (Chinese
# maps are GCJ-02, like the positions stored; a WGS-84 map such as OpenStreetMap would put every
# marker some hundreds of metres off), its attribution, and where a map with no point yet opens.
CONSOLE_MAP_TILES = os.environ.get(
    "CONSOLE_MAP_TILES",
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
)
CONSOLE_MAP_ATTRIBUTION = "© 高德地图"
CONSOLE_MAP_CENTER = tuple(float(v) for v in os.environ.get("CONSOLE_MAP_CENTER", "29.3572,113.1290").split(","))
# Volunteer hours: the total approved hours each star level starts at (一星 … 五星;
# cities differ), the longest single record kept without a review flag, and the URL prefix the QR
# code on a certificate points at, followed by the certificate number (the public verify page).
VOLUNTEER_STAR_THRESHOLDS = env_list("VOLUNTEER_STAR_THRESHOLDS", "100,300,600,1000,1500")
VOLUNTEER_RECORD_CAP_HOURS = os.environ.get("VOLUNTEER_RECORD_CAP_HOURS", "8")
CERTIFICATE_VERIFY_URL_PREFIX = os.environ.get(
    "CERTIFICATE_VERIFY_URL_PREFIX", "https://mp.example.org/certificates/verify/"
)

# The console (docs/console.md): django-unfold, the sidebar by task rather than by app, built per
# request from what the user may see. Every asset comes from our own static files.
UNFOLD = {
    "SITE_TITLE": "社区党建工作台",
    "SITE_HEADER": "社区党建工作台",
    "SITE_SYMBOL": "flag",
    "SITE_URL": "/admin/",
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "DASHBOARD_CALLBACK": "backend.console.dashboard.dashboard_callback",
    "SIDEBAR": {
        "show_search": False,
        "show_all_applications": False,
        "navigation": "backend.console.sidebar.sidebar_navigation",
    },
    "COLORS": {
        "primary": {
            "50": "oklch(97.1% .013 17.38)",
            "100": "oklch(93.6% .032 17.717)",
            "200": "oklch(88.5% .062 18.334)",
            "300": "oklch(80.8% .114 19.571)",
            "400": "oklch(70.4% .191 22.216)",
            "500": "oklch(63.7% .237 25.331)",
            "600": "oklch(57.7% .245 27.325)",
            "700": "oklch(50.5% .213 27.518)",
            "800": "oklch(44.4% .177 26.899)",
            "900": "oklch(39.6% .141 25.723)",
            "950": "oklch(25.8% .092 26.042)",
        },
    },
}
# How long the access token handed to the console's pages for the notices socket lives; the page
# asks for a new one when the socket closes with 4401.
CONSOLE_SOCKET_TOKEN_MINUTES = 10

# Production hardening; `manage.py check --deploy` is clean with DEBUG off.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not (DEBUG or TESTING))
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = not (DEBUG or TESTING)
CSRF_COOKIE_SECURE = not (DEBUG or TESTING)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG or TESTING else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not (DEBUG or TESTING)
SECURE_HSTS_PRELOAD = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload is a decision for the operator of the domain, not for the code.
    "security.W021",
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "daphne": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        # fontTools logs every glyph of every font subset (certificate PDFs) at INFO.
        "fontTools": {"level": "WARNING"},
    },
}
