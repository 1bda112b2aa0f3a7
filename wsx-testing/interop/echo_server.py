"""An echo server on Python `websockets`, for wsx's interop tests.

usage: echo_server.py [--no-context-takeover] [--window-bits N]

Compression (permessage-deflate) is on, as websockets has it by default; the flags make the
server ask for no context takeover both ways and limit both windows. Prints the port on the
first line of stdout once listening; echoes every message; exits when stdin closes.
"""

import asyncio
import sys

from websockets.asyncio.server import serve
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main() -> None:
    args = sys.argv[1:]
    no_context = "--no-context-takeover" in args
    bits = int(args[args.index("--window-bits") + 1]) if "--window-bits" in args else None
    factory = ServerPerMessageDeflateFactory(
        server_no_context_takeover=no_context,
        client_no_context_takeover=no_context,
        server_max_window_bits=bits,
        client_max_window_bits=bits,
    )
    async with serve(echo, "127.0.0.1", 0, extensions=[factory], compression=None, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


asyncio.run(main())
