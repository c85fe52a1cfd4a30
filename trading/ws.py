"""WebSocket handshake checks: the Origin of browsers, and bearer tokens for other clients."""

from urllib.parse import urlparse

from channels.db import database_sync_to_async
from django.conf import settings
from django.http.request import validate_host


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


@database_sync_to_async
def _token_user(raw: str):
    from rest_framework.exceptions import AuthenticationFailed

    from trading.api.auth import token_user

    try:
        return token_user(raw)[0]
    except AuthenticationFailed:
        return None


class BearerOrOriginMiddleware:
    """Browsers must come from one of our hosts; a client without an Origin must send a bearer token."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        origin = _header(scope, b"origin")
        authorization = _header(scope, b"authorization") or ""
        token_user = None
        if authorization.lower().startswith("bearer "):
            token_user = await _token_user(authorization[7:].strip())
            if token_user is None:
                return await _deny(receive, send)
        if origin:
            host = urlparse(origin).hostname or ""
            if not validate_host(host, settings.ALLOWED_HOSTS or ["localhost", "127.0.0.1"]):
                return await _deny(receive, send)
        elif token_user is None:
            return await _deny(receive, send)
        if token_user is not None:
            scope = {**scope, "user": token_user}
        return await self.app(scope, receive, send)


async def _deny(receive, send):
    await receive()  # websocket.connect
    await send({"type": "websocket.close", "code": 4403})
