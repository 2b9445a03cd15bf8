#!/usr/bin/env python3
"""The quick-start client of the Occupancy Prediction WebSocket API (seed 002), runnable against PMA Bridge.

    python3 examples/python/occupancy_quickstart.py [ws://127.0.0.1:3001] [api-key]

Needs the `websockets` package (Debian: python3-websockets). `npm start` prints a ready-to-use API key
(also read from PMA_BRIDGE_API_KEY).
"""
import asyncio
import json
import os
import sys

import websockets


async def connect_to_api(base_url: str, api_key: str):
    uri = f"{base_url.rstrip('/')}/ws/predictions"

    async with websockets.connect(uri) as websocket:
        # Authenticate
        auth_message = {
            "type": "authentication",
            "data": {
                "api_key": api_key,
                "client_name": "MyClient",
                "capabilities": ["predictions", "alerts"],
                "room_filters": [],  # Empty = access to all rooms
            },
        }
        await websocket.send(json.dumps(auth_message))

        # Subscribe to predictions
        subscribe_message = {
            "type": "subscribe",
            "data": {"endpoint": "/ws/predictions", "room_id": None, "filters": {}},
        }
        await websocket.send(json.dumps(subscribe_message))

        # Listen for messages
        async for message in websocket:
            data = json.loads(message)
            print(f"Received: {data['message_type']}", flush=True)
            if data["message_type"] == "prediction_update":
                p = data["data"]
                print(f"  {p['room_name']}: {p['transition_type']} in {p['time_until_human']}", flush=True)


if __name__ == "__main__":
    base = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PMA_BRIDGE_BASE_URL", "ws://127.0.0.1:3001")
    key = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("PMA_BRIDGE_API_KEY", "your-api-key")
    try:
        asyncio.run(connect_to_api(base, key))
    except KeyboardInterrupt:
        pass
