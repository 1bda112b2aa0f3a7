// An echo server on Node's `ws` with perMessageDeflate, for wsx's interop tests.
//
// usage: node echo_server.mjs [--no-context-takeover] [--window-bits N]
//
// Prints the port on the first line of stdout once listening; echoes every message (text as
// text, binary as binary); exits when stdin closes.
import { WebSocketServer } from "ws";

const args = process.argv.slice(2);
const noContext = args.includes("--no-context-takeover");
const at = args.indexOf("--window-bits");
const bits = at >= 0 ? Number(args[at + 1]) : undefined;
const perMessageDeflate = { threshold: 0, serverNoContextTakeover: noContext, clientNoContextTakeover: noContext };
if (bits !== undefined) {
  perMessageDeflate.serverMaxWindowBits = bits;
  perMessageDeflate.clientMaxWindowBits = bits;
}
const server = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate, maxPayload: 0 });
server.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});
server.on("listening", () => console.log(server.address().port));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
