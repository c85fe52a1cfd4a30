"""The raw limit for HTTP uploads: a bare ASGI app that reads the body and answers its SHA-256.

daphne -b 127.0.0.1 -p 8001 bench._echo_asgi:app
"""

import hashlib
import json


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    digest, size = hashlib.sha256(), 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body = message.get("body", b"")
        digest.update(body)
        size += len(body)
        if not message.get("more_body", False):
            break
    answer = json.dumps({"sha256": digest.hexdigest(), "size": size}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(answer)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": answer})
