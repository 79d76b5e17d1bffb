"""Entry points named only in strings, which vulture cannot follow (scripts/dead_code.py reads this).

Each line names the definition the framework reaches and where the string that names it is.
Nothing else belongs here: dead code is deleted, not listed.
"""

# ruff: noqa: B018
from backend.accounts.authentication import DeferredUserJWTScheme, JWTScheme, SingleUseRefreshToken
from backend.console.dashboard import dashboard_callback
from backend.console.sidebar import sidebar_navigation
from backend.core import views
from backend.core.exceptions import exception_handler
from backend.core.gunicorn_worker import BalancedThreadWorker
from backend.core.media import SignedFileSystemStorage
from backend.core.middleware import MethodOverrideMiddleware
from backend.notices.consumers import NoticeConsumer

DeferredUserJWTScheme  # drf-spectacular finds its extensions by subclassing (target_class is a string)
JWTScheme  # the same, for settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]
dashboard_callback  # settings.UNFOLD["DASHBOARD_CALLBACK"]
sidebar_navigation  # settings.UNFOLD["SIDEBAR"]["navigation"]
exception_handler  # settings.REST_FRAMEWORK["EXCEPTION_HANDLER"]
MethodOverrideMiddleware  # settings.MIDDLEWARE
views.bad_request  # backend/urls.py handler400
views.permission_denied  # backend/urls.py handler403
views.server_error  # backend/urls.py handler500
NoticeConsumer.notice_message  # channel layer messages of type "notice.message"
NoticeConsumer.event_message  # channel layer messages of type "event.message"
NoticeConsumer.session_close  # channel layer messages of type "session.close"
SingleUseRefreshToken.blacklist  # simplejwt's TokenRefreshSerializer calls it on rotation
SignedFileSystemStorage  # settings.STORAGES["default"]["BACKEND"]
BalancedThreadWorker  # compose.yaml's `api` command, the Dockerfile: gunicorn --worker-class
