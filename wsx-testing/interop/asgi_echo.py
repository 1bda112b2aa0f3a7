"""An ASGI WebSocket echo app for wsx's HTTP/2 interop tests, served by hypercorn:

    python -m hypercorn --bind 127.0.0.1:PORT [--certfile C --keyfile K] asgi_echo:app

Every message comes back as it came; the accepting response carries `x-http-version` (`1.1`
or `2`), so a client can tell which HTTP opened its WebSocket. Paths under /refuse/ are
refused with 403.
"""

# An ASGI WebSocket echo app: every message back as it came.
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    await receive()  # websocket.connect
    if scope["path"].startswith("/refuse/"):
        await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "websocket.accept", "headers": [(b"x-http-version", scope["http_version"].encode())]})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})
