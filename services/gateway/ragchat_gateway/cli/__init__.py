"""``ragchat``: the command line over the gateway's REST, SSE and WebSocket API."""
