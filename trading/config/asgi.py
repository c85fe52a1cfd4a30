"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trading.config.settings")
django_asgi_app = get_asgi_application()

from django.conf import settings  # noqa: E402

if not settings.PRODUCTION:
    # The embedded profile serves static files itself; production leaves them to nginx.
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    django_asgi_app = ASGIStaticFilesHandler(django_asgi_app)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from trading.config.routing import websocket_urlpatterns  # noqa: E402
from trading.ws import BearerOrOriginMiddleware  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_asgi_app,
    "websocket": AuthMiddlewareStack(BearerOrOriginMiddleware(URLRouter(websocket_urlpatterns))),
})
