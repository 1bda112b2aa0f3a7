//! The command line every adapter's Autobahn example (`autobahn_tokio`, `autobahn_blocking`, `autobahn_async_std`) takes, parsed once.

use std::sync::{Arc, Mutex};

use wsx_proto::http2::Http2;
use wsx_proto::{deflate::DeflateConfig, Config, ConnectSettings, Context, Frame, Handler, Reply};

/// `autobahn_<adapter> [BASE_URL] [AGENT] [--deflate | --deflate-no-context-takeover] [--http2] [--smol]`.
#[derive(Debug, Clone)]
pub struct AutobahnArgs {
    /// The fuzzing server's URL, without a trailing slash (default `ws://127.0.0.1:9001`).
    pub base: String,
    /// The agent name the report is filed under.
    pub agent: String,
    /// `--deflate` offers permessage-deflate with the defaults; `--deflate-no-context-takeover`
    /// also offers `client_no_context_takeover` (cases 13.2, 13.5 and 13.6 accept only that).
    /// Both compress every message (threshold 0): kosoku 0.1.0 errors on an uncompressed
    /// message inside a compressed session ("Strings must be encoded before hashing", in the
    /// 16-byte cases), although RFC 7692 allows one.
    pub deflate: Option<DeflateConfig>,
    /// `--http2`: every connection is an HTTP/2 stream ([`Http2::Require`]: h2c with prior
    /// knowledge for `ws://`), e.g. to a proxy in front of the fuzzing server that translates
    /// the extended CONNECT into an HTTP/1.1 upgrade.
    pub http2: bool,
    /// `--smol`: for adapters with a choice of executor.
    pub smol: bool,
}

impl AutobahnArgs {
    /// Parses the process's arguments; `default_agent` when none is given.
    pub fn parse(default_agent: &str) -> Self {
        let (mut deflate, mut http2, mut smol, mut positional) = (None, false, false, Vec::new());
        for arg in std::env::args().skip(1) {
            match arg.as_str() {
                "--deflate" => deflate = Some(DeflateConfig::default().threshold(0).level(1)),
                "--deflate-no-context-takeover" => {
                    deflate = Some(
                        DeflateConfig::default()
                            .threshold(0)
                            .level(1)
                            .client_no_context_takeover(true),
                    )
                }
                "--http2" => http2 = true,
                "--smol" => smol = true,
                _ => positional.push(arg),
            }
        }
        let mut positional = positional.into_iter();
        let base = positional.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
        Self {
            base: base.trim_end_matches('/').to_owned(),
            agent: positional.next().unwrap_or_else(|| default_agent.into()),
            deflate,
            http2,
            smol,
        }
    }

    /// The settings for case `case` (1-based).
    pub fn case(&self, case: u32) -> ConnectSettings {
        self.settings(&format!("/runCase?case={case}&agent={}", self.agent))
            .deflate(self.deflate.clone())
    }

    /// `/getCaseCount`.
    pub fn case_count(&self) -> ConnectSettings {
        self.settings("/getCaseCount")
    }

    /// `/updateReports`: the server writes its report and drops the connection.
    pub fn update_reports(&self) -> ConnectSettings {
        self.settings(&format!("/updateReports?agent={}", self.agent))
    }

    fn settings(&self, path: &str) -> ConnectSettings {
        let http2 = if self.http2 { Http2::Require } else { Http2::Off };
        ConnectSettings::new(&format!("{}{path}", self.base))
            .expect("a valid URL")
            .http2(http2)
    }
}

/// `autobahn_server_<adapter> [ADDR] [--smol]`: where the example's server listens (default
/// `127.0.0.1:9001`), and the server's config for the cases.
#[derive(Debug, Clone)]
pub struct AutobahnServerArgs {
    /// The address to listen on.
    pub addr: String,
    /// `--smol`: for adapters with a choice of executor.
    pub smol: bool,
}

impl AutobahnServerArgs {
    /// Parses the process's arguments.
    pub fn parse() -> Self {
        let (mut smol, mut positional) = (false, Vec::new());
        for arg in std::env::args().skip(1) {
            match arg.as_str() {
                "--smol" => smol = true,
                _ => positional.push(arg),
            }
        }
        Self {
            addr: positional.into_iter().next().unwrap_or_else(|| "127.0.0.1:9001".into()),
            smol,
        }
    }

    /// The server's config: permessage-deflate answered to every client that offers it, and
    /// every message compressed (threshold 0; kosoku 0.1.0 errors on an uncompressed message
    /// inside a compressed session, although RFC 7692 allows one).
    pub fn config(&self) -> Config {
        Config::default().deflate(Some(DeflateConfig::default().threshold(0).level(1)))
    }

    /// The line the CI script waits for, once listening.
    pub fn announce(&self, addr: std::net::SocketAddr) {
        println!("listening on {addr}");
    }
}

/// Echoes every message back, as the Autobahn cases expect.
#[derive(Debug)]
pub struct Echo;

impl Handler for Echo {
    type Cast = ();
    type Info = ();

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        match frame {
            Frame::Text(_) | Frame::Binary(_) => Reply::Frame(frame),
            _ => Reply::Continue,
        }
    }
}

/// Keeps the first text message of `/getCaseCount`: the number of cases. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct CaseCount(Arc<Mutex<Option<String>>>);

impl CaseCount {
    /// The count received, once the connection has ended.
    pub fn count(&self) -> Result<u32, String> {
        let text = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or("getCaseCount sent no count")?;
        text.trim().parse().map_err(|e| format!("bad case count {text:?}: {e}"))
    }
}

impl Handler for CaseCount {
    type Cast = ();
    type Info = ();

    fn handle_frame(&mut self, frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        if let Frame::Text(text) = frame {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert(text.to_string());
        }
        Reply::Continue
    }
}
