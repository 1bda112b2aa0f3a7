// An echo client on Node's `ws`, for wsx's server interop tests.
//
// usage: node echo_client.mjs URL [--no-compression] [--subprotocols A,B]
//
// Sends text and binary messages (a 1 MiB one and empty ones among them) and checks that each
// comes back as sent, pings and waits for the pong, then closes with 4000. Prints what it saw,
// one fact a line (`subprotocol`, `extensions`, one `echo` line per message, `pong`, and
// `close` with the code and the reason, as JSON, that the server answered),
// for the test to compare; exits non-zero at the first message that does not come back as sent.
import { once } from "node:events";
import WebSocket from "ws";

const args = process.argv.slice(2);
const url = args[0];
const compress = !args.includes("--no-compression");
const at = args.indexOf("--subprotocols");
const subprotocols = at >= 0 ? args[at + 1].split(",") : [];
// Threshold 0: every message is compressed, the small ones too.
const perMessageDeflate = compress ? { threshold: 0 } : false;

const big = Buffer.alloc(1 << 20);
for (let i = 0; i < big.length; i++) big[i] = i % 251;
const messages = [
  { data: "hello ✓", binary: false },
  { data: Buffer.from([0, 1, 2, 255]), binary: true },
  { data: big, binary: true },
  { data: Buffer.alloc(0), binary: true },
  { data: "", binary: false },
];

const describe = (data, binary) => `${binary ? "binary" : "text"} ${Buffer.byteLength(data)}`;

const fail = (why) => {
  console.error(why);
  process.exit(1);
};

const ws = new WebSocket(url, subprotocols, { perMessageDeflate, maxPayload: 0 });
ws.on("error", (error) => fail(`error: ${error.message}`));
// Both are emitted in one go: listen for both before awaiting either.
const upgraded = once(ws, "upgrade");
const opened = once(ws, "open");
const [response] = await upgraded;
await opened;
console.log(`subprotocol ${ws.protocol || "None"}`);
console.log(`extensions ${response.headers["sec-websocket-extensions"] ?? "None"}`);
for (const { data, binary } of messages) {
  ws.send(data, { binary });
  const [echo, echoBinary] = await once(ws, "message");
  if (echoBinary !== binary || !Buffer.from(echo).equals(Buffer.from(data))) {
    fail(`echo of ${describe(data, binary)} came back as ${describe(echo, echoBinary)}`);
  }
  console.log(`echo ${describe(data, binary)}`);
}
ws.ping("node ping");
const [pong] = await once(ws, "pong");
if (pong.toString() !== "node ping") fail(`pong carried ${pong}`);
console.log("pong");
ws.close(4000, "node done");
const [code, reason] = await once(ws, "close");
console.log(`close ${code} ${JSON.stringify(reason.toString())}`);
