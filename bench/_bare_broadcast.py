"""The raw limit for bench/room_fanout.py: a bare `websockets` broadcast server, no Django, no channel layer.

    python bench/_bare_broadcast.py --port 9001

Clients connect to any path and get a tiny snapshot. A driver connects to /control and sends
{"seq": n, "size": bytes}; the server stamps "at" (the emit time, like the room's services do), pads the
message to ``size`` bytes and broadcasts it to every client of this process in one call.
"""

import argparse
import asyncio
import json
import time

from websockets.asyncio.server import broadcast, serve

CLIENTS: set = set()


def message(seq: int, size: int) -> str:
    body = {"seq": seq, "type": "bench", "at": time.time(), "data": {"pad": ""}}
    pad = max(0, size - len(json.dumps(body)))
    body["data"]["pad"] = "x" * pad
    return json.dumps(body)


async def handler(websocket):
    if websocket.request.path == "/control":
        async for raw in websocket:
            command = json.loads(raw)
            broadcast(CLIENTS, message(command["seq"], command["size"]))
        return
    await websocket.send(json.dumps({"seq": 0, "type": "snapshot", "at": time.time(), "data": {}}))
    CLIENTS.add(websocket)
    try:
        await websocket.wait_closed()
    finally:
        CLIENTS.discard(websocket)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, max_size=None, ping_interval=None, backlog=2048):
        print("READY", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
