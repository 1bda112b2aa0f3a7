"""An echo client on Python `websockets`, for wsx's server interop tests.

usage: echo_client.py URL [--no-compression] [--subprotocols A,B]

Sends text and binary messages (a 1 MiB one and empty ones among them) and checks that each
comes back as sent, pings and waits for the pong, then closes with 4000. Prints what it saw,
one fact a line (`subprotocol`, `extensions`, one `echo` line per message, `pong`, and
`close` with the code and the reason, as JSON, that the server answered),
for the test to compare; exits non-zero at the first message that does not come back as sent.
"""

import asyncio
import json
import sys

from websockets.asyncio.client import connect

MESSAGES = [
    "hello ✓",
    bytes([0, 1, 2, 255]),
    bytes(i % 251 for i in range(1 << 20)),
    b"",
    "",
]


def describe(message: str | bytes) -> str:
    kind = "text" if isinstance(message, str) else "binary"
    size = len(message.encode()) if isinstance(message, str) else len(message)
    return f"{kind} {size}"


async def main() -> None:
    args = sys.argv[1:]
    url = args[0]
    compression = None if "--no-compression" in args else "deflate"
    subprotocols = args[args.index("--subprotocols") + 1].split(",") if "--subprotocols" in args else None
    async with connect(url, compression=compression, subprotocols=subprotocols, max_size=None) as ws:
        print(f"subprotocol {ws.subprotocol}")
        print(f"extensions {ws.response.headers.get('Sec-WebSocket-Extensions')}")
        for message in MESSAGES:
            await ws.send(message)
            echo = await ws.recv()
            if echo != message or type(echo) is not type(message):
                sys.exit(f"echo of {describe(message)} came back as {describe(echo)}")
            print(f"echo {describe(message)}")
        pong = await ws.ping(b"python ping")
        await asyncio.wait_for(pong, 5)
        print("pong")
        await ws.close(4000, "python done")
        print(f"close {ws.close_code} {json.dumps(ws.close_reason)}")


asyncio.run(main())
