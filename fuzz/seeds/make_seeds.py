#!/usr/bin/env python3
"""Writes the seed inputs in seeds/<target>/ (run from anywhere; idempotent)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def frame(opcode, payload, fin=True, mask=None):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n < 65536:
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if mask:
        head += mask
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + payload


# frame_header: headers of every length form.
write("frame_header", "text_hello", frame(0x1, b"Hello"))
write("frame_header", "masked", frame(0x1, b"Hello", mask=b"\x37\xfa\x21\x3d"))
write("frame_header", "len16", frame(0x2, b"x" * 256)[:4])
write("frame_header", "len64", frame(0x2, b"x" * 65536)[:10])
write("frame_header", "len64_masked", bytes([0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4]))
write("frame_header", "ping", frame(0x9, b""))

# close_payload
write("close_payload", "normal", struct.pack(">H", 1000))
write("close_payload", "reason", struct.pack(">H", 4001) + "bye ✓".encode())
write("close_payload", "empty", b"")

# utf8: [n cuts] [cuts] [text]
write("utf8", "mixed", bytes([3, 10, 100, 200]) + "aé€😀κόσμε".encode())
write("utf8", "surrogate", bytes([1, 128]) + b"ab\xed\xa0\x80cd")
write("utf8", "truncated", bytes([0]) + "€".encode()[:2])

# handshake_response: [flags] [n cuts] [cuts] [response]; {ACCEPT} is replaced by the right key.
ok = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      b"Sec-WebSocket-Accept: {ACCEPT}\r\n")
write("handshake_response", "accept", bytes([0, 0]) + ok + b"\r\n")
write("handshake_response", "accept_split_frames", bytes([1, 3, 20, 90, 250]) + ok
      + b"Sec-WebSocket-Protocol: chat\r\n\r\n" + frame(0x1, b"hi") + frame(0x9, b"p"))
write("handshake_response", "bad_proto", bytes([0, 0]) + ok + b"Sec-WebSocket-Protocol: other\r\n\r\n")
write("handshake_response", "ext", bytes([0, 0]) + ok + b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
write("handshake_response", "rejected", bytes([0, 1, 128]) + b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnope")

# upgrade_request: [limit u16] [flags] [n cuts] [cuts] [request]; flags: 1 choose the first
# subprotocol, 2 answer permessage-deflate.
upgrade = (b"GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\n")
write("upgrade_request", "rfc_sample", struct.pack(">H", 4096) + bytes([1, 2, 60, 200]) + upgrade
      + b"Sec-WebSocket-Protocol: chat, superchat\r\n\r\n" + frame(0x1, b"hi", mask=b"\x01\x02\x03\x04"))
write("upgrade_request", "deflate_offers", struct.pack(">H", 4096) + bytes([3, 0]) + upgrade
      + b"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=7, "
      + b"permessage-deflate; client_max_window_bits; server_no_context_takeover, x-other\r\n\r\n")
write("upgrade_request", "too_large", struct.pack(">H", 64) + bytes([0, 1, 30]) + upgrade + b"\r\n")
write("upgrade_request", "bad_version", struct.pack(">H", 4096) + bytes([0, 0])
      + upgrade.replace(b"Version: 13", b"Version: 8") + b"\r\n")
write("upgrade_request", "post", struct.pack(">H", 4096) + bytes([0, 0]) + upgrade.replace(b"GET", b"POST") + b"\r\n")

# connection: [role] [flags] [compression] then ops (see fuzz_targets/connection.rs); every
# seed twice, as a client (role 0) and as a server (role 1, the peer's frames masked):
#   0-2 raw chunk [len8], 3 raw chunk [len16], 4-5 server frame [kind len payload], 6 send data,
#   7 send ping/pong, 8 close, 9 time passes [u16 * 4 ms], 10 poll_transmit, 11 receive_eof
def raw(data):
    assert len(data) < 256
    return bytes([0, len(data)]) + data


def connection(name, data):
    write("connection", name, bytes([0]) + data)
    write("connection", name + "_as_server", bytes([1]) + data)


def server(kind, payload, fin=True):
    return bytes([4, kind | (0x80 if fin else 0), len(payload)]) + payload


connection("echo", bytes([0x08]) + server(1, b"hello") + server(4, b"ping!") + bytes([10])
      + bytes([6, 0, 5]) + b"world" + bytes([10]) + bytes([8, 1, 10]) + server(3, b"\x03\xe8") + bytes([10]))
connection("fragments", bytes([0x01]) + server(1, "κό".encode(), fin=False)
      + server(0, "σμε".encode(), fin=True) + raw(frame(0x2, b"abc", fin=False) + frame(0xA, b"") + frame(0x0, b"d")))
connection("bad_utf8_split", bytes([0x00]) + raw(frame(0x1, b"ab\xf0\x90\x80A")[:6]) + raw(b"\x80A") + raw(b"x"))
connection("close_timeout", bytes([0x02 | 0x30]) + bytes([6, 1, 40]) + b"y" * 40
      + bytes([8, 3, 0x0f, 0xa0, 3]) + b"bye" + bytes([10, 9, 0x10, 0x00, 9, 0xff, 0xff]))
connection("limits", bytes([0x04]) + raw(frame(0x2, b"z" * 100)) + bytes([10, 11]))
