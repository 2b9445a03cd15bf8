#!/usr/bin/env python3
"""The Python client of the PMA WebSocket guide (seed 000), made runnable against PMA Bridge.

Changes from the guide: it authenticates with a token, answers the bridge's replies (subscription
confirmations, predictions), and reconnects without growing the stack.

    python3 examples/python/pma_client.py [ws://127.0.0.1:3001/ws] [token] [entity_id ...]

Needs the `websockets` package (Debian: python3-websockets). The URL and token may also come from
PMA_BRIDGE_URL and PMA_BRIDGE_TOKEN; `npm start` prints both.
"""
import asyncio
import json
import os
import sys
from datetime import datetime, timezone
from typing import Callable, Dict, List, Optional

import websockets


def log(text: str) -> None:
    print(text, flush=True)


class PMAWebSocketClient:
    def __init__(self, url: str, token: Optional[str] = None):
        self.url = url
        self.token = token
        self.websocket = None
        self.event_handlers: Dict[str, List[Callable]] = {}
        self.subscriptions = set()

    async def run(self):
        """Connects, listens, and reconnects after a drop until cancelled."""
        while True:
            try:
                async with websockets.connect(self.url) as websocket:
                    self.websocket = websocket
                    log("Connected to PMA WebSocket server")
                    async for message in websocket:
                        await self.handle_message(json.loads(message))
            except (websockets.exceptions.ConnectionClosed, OSError) as error:
                log(f"WebSocket connection closed ({error}); reconnecting in 5 s")
            self.websocket = None
            await asyncio.sleep(5)

    async def send(self, message: Dict):
        if self.websocket:
            await self.websocket.send(json.dumps(message))

    async def handle_message(self, message: Dict):
        msg_type = message.get("type")
        data = message.get("data", {})

        if msg_type == "welcome":
            log(f"Welcome: client_id={data.get('client_id')}")
            if self.token:
                await self.send({"type": "authenticate", "data": {"token": self.token}})
            else:
                await self.restore_subscriptions()
        elif msg_type == "authentication_success":
            log(f"Authenticated as {data['subject']}")
            await self.restore_subscriptions()
        elif msg_type == "authentication_failure":
            log(f"Authentication failed: {data['code']} {data['message']}")
            raise SystemExit(1)
        elif msg_type == "subscription_update":
            log(f"Subscription update: {data['action']} {data['type']} {data['items']}")
        elif msg_type == "pma_entity_state_changed":
            await self.emit("entity_state_changed", data)
        elif msg_type == "error":
            log(f"Error: {data.get('code')} {data.get('message')}")
        elif msg_type == "ping":
            now = datetime.now(timezone.utc).isoformat()
            await self.send({"type": "pong", "data": {"timestamp": now}})

    async def emit(self, event: str, data: Dict):
        for handler in self.event_handlers.get(event, []):
            await handler(data)

    def on(self, event: str, handler: Callable):
        self.event_handlers.setdefault(event, []).append(handler)

    async def subscribe_to_entities(self, entity_ids: List[str]):
        self.subscriptions.update(entity_ids)
        await self.send({"type": "subscribe_ha_entities", "data": {"entity_ids": entity_ids}})

    async def restore_subscriptions(self):
        if self.subscriptions:
            await self.send({"type": "subscribe_ha_entities", "data": {"entity_ids": sorted(self.subscriptions)}})


async def main():
    url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PMA_BRIDGE_URL", "ws://127.0.0.1:3001/ws")
    token = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("PMA_BRIDGE_TOKEN")
    entities = sys.argv[3:] or ["light.living_room_ceiling", "binary_sensor.hallway_motion", "sensor.bedroom_temperature"]
    client = PMAWebSocketClient(url, token)

    async def on_entity_changed(data):
        log(f"Entity {data['entity_id']} changed: {data['old_state']} -> {data['new_state']}")

    client.on("entity_state_changed", on_entity_changed)
    # Subscriptions are sent once the bridge has welcomed (and authenticated) us, and again after reconnects.
    client.subscriptions.update(entities)
    await client.run()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
