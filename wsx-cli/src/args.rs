//! The command line: `wsx URL`, `wsx listen ADDR`, `wsx echo-server`, `wsx bench URL`.
//!
//! The doc comments of the arguments are clap's `--help` text, written for a terminal: their
//! brackets (`ws://host[:port][/path]`) are usage syntax, not rustdoc links.
#![allow(rustdoc::broken_intra_doc_links)]

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0    the connection closed normally (1000 or 1001, or the close this side asked for)
  1    any other error (a file that cannot be read, a failed send)
  2    usage error (bad arguments, bad URL, bad header or close code)
  3    the connection could not be made (DNS, TCP, proxy, TLS, connect timeout)
  4    the server refused the WebSocket handshake
  5    protocol error (the server broke RFC 6455, or closed with 1002, 1007 or 1009)
  6    abnormal close (TCP dropped, close timed out, keepalive timed out, or another close code)
  130  interrupted: a second Ctrl-C before the close handshake finished";

/// A WebSocket client for the command line.
///
/// Each line of standard input is sent as a text message and each message received is printed
/// as a line. On a terminal, an interactive prompt with line editing and history. At the end
/// of input (Ctrl-D) the client closes with 1000 and waits for the close handshake; the first
/// Ctrl-C does the same, a second one quits at once.
#[derive(Debug, Parser)]
#[command(name = "wsx", version, after_help = EXIT_CODES, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A subcommand; without one, connect to URL.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Connect to this URL (ws:// or wss://).
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serves a local echo server until killed.
    EchoServer(EchoServerArgs),
    /// Serves WebSockets on ADDR: prints what clients send, sends each line of standard
    /// input to every client, until Ctrl-C.
    Listen(ListenArgs),
    /// Measures a server that echoes: round trips, and streaming with or without a window.
    Bench(Box<BenchArgs>),
}

/// `wsx URL`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The server, ws://host[:port][/path] or wss://...
    pub url: Option<String>,
    /// How to connect.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Read standard input as bytes: each read (up to 64 KiB) is sent as one binary message.
    #[arg(long)]
    pub binary: bool,
    /// How received binary messages are written.
    #[arg(long, value_enum, default_value_t = BinaryOutput::Raw)]
    pub binary_output: BinaryOutput,
    /// Print one JSON object per line for every event (connected, text, binary, ping, pong,
    /// close, reconnect, error), for scripts and jq.
    #[arg(long)]
    pub json: bool,
    /// Exit after the first message received (closing normally).
    #[arg(short = '1', long)]
    pub once: bool,
    /// Keep the connection open at the end of input, until the server closes or Ctrl-C.
    #[arg(long)]
    pub no_close: bool,
    /// At the end of input, wait this long before closing, so that replies still in flight
    /// arrive (some servers drop the replies they owe once they see a close).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "0s")]
    pub linger: Duration,
    /// Close code sent at the end (1000, 1001, 1003, 1007-1014 or 3000-4999).
    #[arg(long, default_value_t = 1000, value_parser = parse_close_code)]
    pub close_code: u16,
    /// Close reason sent at the end (at most 123 bytes).
    #[arg(long, default_value = "")]
    pub close_reason: String,
    /// Reconnect with exponential backoff (100 ms doubling to 10 s, with jitter) when the
    /// connection drops or cannot be made.
    #[arg(long)]
    pub reconnect: bool,
    /// With --reconnect: give up after this many attempts in a row.
    #[arg(long, requires = "reconnect")]
    pub max_reconnects: Option<u32>,
    /// Tracing output on stderr (-v: debug, -vv: trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

/// How received binary messages are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BinaryOutput {
    /// The bytes as they are.
    Raw,
    /// One line of lowercase hex per message.
    Hex,
    /// One line of base64 per message.
    Base64,
}

/// `--http2`'s modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Http2Mode {
    /// HTTP/2 when the server offers it.
    Prefer,
    /// HTTP/2 or an error.
    Require,
}

/// The connection options shared by `wsx URL` and `wsx bench URL`.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// An extra request header, "Name: value" (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// A subprotocol to offer (repeatable, in order of preference).
    #[arg(long = "protocol", value_name = "PROTOCOL")]
    pub protocols: Vec<String>,
    /// The Origin header.
    #[arg(long)]
    pub origin: Option<String>,
    /// Also trust this CA certificate (PEM, one or more certificates, or DER).
    #[arg(long, value_name = "FILE")]
    pub ca: Vec<PathBuf>,
    /// Do not verify the server's certificate or name (tests and trusted networks only).
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// A client certificate chain (PEM) for servers that ask for one.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// Connect through this proxy: http://[user:pass@]host:port or socks5://...
    /// Without it, the environment's (https_proxy, http_proxy, all_proxy, no_proxy).
    #[arg(long, value_name = "URL", conflicts_with = "no_proxy")]
    pub proxy: Option<String>,
    /// Connect directly, whatever the environment says.
    #[arg(long)]
    pub no_proxy: bool,
    /// Offer permessage-deflate compression.
    #[arg(long)]
    pub compress: bool,
    /// WebSockets over HTTP/2 (RFC 8441): `--http2` (or `=prefer`) uses it when the
    /// TLS server offers it, else HTTP/1.1; `--http2=require` fails without it, and over ws:// speaks
    /// h2c with prior knowledge.
    #[arg(long, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "prefer")]
    pub http2: Option<Http2Mode>,
    /// Send a ping this often (e.g. 30s, 500ms).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub ping_interval: Option<Duration>,
    /// With --ping-interval: fail the connection when nothing arrives this long after a ping.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "ping_interval")]
    pub pong_timeout: Option<Duration>,
    /// The largest message accepted, in bytes (larger ones fail the connection with 1009).
    #[arg(long, value_name = "BYTES")]
    pub max_message_size: Option<usize>,
    /// How long connecting may take: DNS, TCP, the proxy and TLS (default 6s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub connect_timeout: Option<Duration>,
}

/// `wsx echo-server`.
#[derive(Debug, Args)]
pub struct EchoServerArgs {
    /// The port (0: any free one; the URL printed says which).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Serve wss:// with a certificate for localhost made now, signed by a new CA.
    #[arg(long)]
    pub tls: bool,
    /// With --tls: write the CA certificate (PEM) here, for `wsx --ca FILE`.
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub ca_out: Option<PathBuf>,
}

/// `wsx listen ADDR`.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Where to listen, host:port (port 0: any free one; the URL printed says which).
    pub addr: String,
    /// Send every message back to the client that sent it (and still print it).
    #[arg(long)]
    pub echo: bool,
    /// Print one JSON object per line for every event (listening, connected, text, binary,
    /// closed, shutdown), with the client's number.
    #[arg(long)]
    pub json: bool,
    /// How received binary messages are written.
    #[arg(long, value_enum, default_value_t = BinaryOutput::Raw)]
    pub binary_output: BinaryOutput,
    /// Serve wss:// with a certificate for localhost made now, signed by a new CA.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub tls: bool,
    /// With --tls: write the CA certificate (PEM) here, for `wsx --ca FILE`.
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub ca_out: Option<PathBuf>,
    /// Serve wss:// with this certificate chain (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// `wsx bench URL`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A server that echoes every message.
    pub url: String,
    /// What to measure.
    #[arg(long, value_enum, default_value_t = Workload::All)]
    pub workload: Workload,
    /// Message size of the streaming workloads, in bytes.
    #[arg(long, default_value_t = 1024)]
    pub size: usize,
    /// How long each workload runs.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "3s")]
    pub duration: Duration,
    /// The streaming window: at most this many payload bytes in flight.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub window: usize,
    /// Print the summary as JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
    /// How to connect.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// The workloads of `wsx bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// 16-byte text messages, one at a time: latency.
    Rtt,
    /// Binary messages with at most --window bytes in flight.
    Stream,
    /// Binary messages as fast as the client sends them, no window.
    Flood,
    /// All three.
    All,
}

/// `Name: value`.
fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not \"Name: value\""))?;
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("{name:?} is not a header name"));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

/// A close code that may be sent.
fn parse_close_code(text: &str) -> Result<u16, String> {
    let code: u16 = text.parse().map_err(|_| format!("{text:?} is not a number"))?;
    if !wsx_tokio::CloseCode(code).is_sendable() {
        return Err(format!("{code} cannot be sent in a close frame"));
    }
    Ok(code)
}

/// `1.5`, `1.5s`, `250ms`, `2m`: seconds unless a unit says otherwise.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("{text:?} is not a duration"))?;
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("unknown unit {other:?} in {text:?} (ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(number * scale).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_take_a_unit_or_mean_seconds() {
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("2 parsecs").is_err());
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("-1").is_err());
    }

    #[test]
    fn headers_are_name_colon_value() {
        assert_eq!(parse_header("X-A:  b c "), Ok(("X-A".into(), "b c".into())));
        assert_eq!(
            parse_header("Authorization: Bearer a:b"),
            Ok(("Authorization".into(), "Bearer a:b".into()))
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header(": empty name").is_err());
        assert!(parse_header("bad name: x").is_err());
    }

    #[test]
    fn only_sendable_close_codes_are_taken() {
        assert_eq!(parse_close_code("4000"), Ok(4000));
        assert_eq!(parse_close_code("1001"), Ok(1001));
        assert!(parse_close_code("1005").is_err());
        assert!(parse_close_code("999").is_err());
        assert!(parse_close_code("x").is_err());
    }

    #[test]
    fn a_url_and_its_options_parse() {
        let cli = Cli::try_parse_from([
            "wsx",
            "ws://h/",
            "-H",
            "A: b",
            "--protocol",
            "p1",
            "--protocol",
            "p2",
            "-1",
        ])
        .unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.connect.url.as_deref(), Some("ws://h/"));
        assert_eq!(cli.connect.connection.headers, vec![("A".into(), "b".into())]);
        assert_eq!(cli.connect.connection.protocols, vec!["p1", "p2"]);
        assert!(cli.connect.once);
        assert!(Cli::try_parse_from(["wsx", "ws://h/", "--pong-timeout", "1s"]).is_err());
        assert!(Cli::try_parse_from(["wsx", "ws://h/", "--client-cert", "c.pem"]).is_err());
        assert!(Cli::try_parse_from(["wsx", "ws://h/", "--proxy", "http://p:1", "--no-proxy"]).is_err());
    }

    #[test]
    fn subcommands_parse() {
        let cli = Cli::try_parse_from(["wsx", "echo-server", "--port", "9001"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::EchoServer(EchoServerArgs { port: 9001, .. }))
        ));
        let cli = Cli::try_parse_from(["wsx", "bench", "ws://h/", "--workload", "rtt"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Bench(b)) if b.workload == Workload::Rtt));
    }
}
