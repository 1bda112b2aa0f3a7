//! permessage-deflate (RFC 7692): what a client offers, how a server answers an offer
//! ([`answer`]), what a client accepts of the answer, and the parameters both sides then
//! compress with. The compression itself is in [`codec`].
//!
//! Window bits: the zlib-rs backend compresses and inflates raw deflate with windows of 9 to 15
//! bits, not 8. An inflater uses 9 bits when the peer limits itself to 8 (a larger window
//! reads anything a smaller one wrote). A compressor held to 8 bits sends its messages
//! uncompressed, which RFC 7692 always allows (RSV1 is per message): a client never offers 8
//! for its own compressor, but a server may answer it; a server accepts an offer that asks it
//! for 8 (refusing the offer would give up compression both ways) and then sends uncompressed.

pub(crate) mod answer;
pub(crate) mod codec;

use std::fmt;

/// The extension's token in `Sec-WebSocket-Extensions`.
pub(crate) const EXTENSION_NAME: &str = "permessage-deflate";

/// The smallest window our zlib backend handles.
const MIN_BACKEND_WINDOW_BITS: u8 = 9;

/// permessage-deflate options: what to offer, and how to compress. Off unless set on
/// [`Config::deflate`](crate::Config::deflate).
///
/// A server answering an offer with them
/// ([`UpgradeRequest::accept`](crate::protocol::upgrade::UpgradeRequest::accept)) reads the
/// fields with their meaning on the wire: `server_*` is its own compressor, `client_*` the
/// client's. It answers `server_no_context_takeover` and `client_no_context_takeover` when set
/// here or asked for in the offer, the smaller of its `server_max_window_bits` and the
/// offer's, and `client_max_window_bits` only if the offer has that parameter (RFC 7692
/// 7.1.2.2): a client that did not offer it keeps a window of up to 15 bits whatever is set
/// here.
///
/// ```
/// use wsx_proto::{Config, deflate::DeflateConfig};
///
/// let config = Config::default().deflate(Some(DeflateConfig::default().level(1).threshold(256)));
/// assert_eq!(config.deflate.unwrap().threshold, 256);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// Offer `client_no_context_takeover`: our compressor starts every message afresh (less
    /// memory kept between messages, worse ratio). Per RFC 7692 7.1.1.2 this holds from the
    /// offer on, whatever the server answers. Default: off.
    pub client_no_context_takeover: bool,
    /// Ask the server to start every message afresh (`server_no_context_takeover`). Default:
    /// off.
    pub server_no_context_takeover: bool,
    /// Offer `client_max_window_bits`: with `None`, without a value (the server may pick any
    /// window for us; 9 to 15 are used as given), with `Some(9..=15)`, at most that. Our
    /// compressor uses the server's answer, else this value, else 15. Default: `None`.
    pub client_max_window_bits: Option<u8>,
    /// Ask the server to compress with at most this window (`Some(8..=15)`); `None` does not
    /// ask. Default: `None`.
    pub server_max_window_bits: Option<u8>,
    /// zlib compression level, 0 (store) to 9 (smallest). Default: 6.
    pub level: u32,
    /// Messages with fewer payload bytes than this are sent uncompressed (small messages rarely
    /// shrink, and framing them is cheaper). Default: 64.
    pub threshold: usize,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            client_no_context_takeover: false,
            server_no_context_takeover: false,
            client_max_window_bits: None,
            server_max_window_bits: None,
            level: 6,
            threshold: 64,
        }
    }
}

impl DeflateConfig {
    /// Sets [`client_no_context_takeover`](Self::client_no_context_takeover).
    pub fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// Sets [`server_no_context_takeover`](Self::server_no_context_takeover).
    pub fn server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// Sets [`client_max_window_bits`](Self::client_max_window_bits).
    pub fn client_max_window_bits(mut self, bits: Option<u8>) -> Self {
        self.client_max_window_bits = bits;
        self
    }

    /// Sets [`server_max_window_bits`](Self::server_max_window_bits).
    pub fn server_max_window_bits(mut self, bits: Option<u8>) -> Self {
        self.server_max_window_bits = bits;
        self
    }

    /// Sets [`level`](Self::level).
    pub fn level(mut self, level: u32) -> Self {
        self.level = level;
        self
    }

    /// Sets [`threshold`](Self::threshold).
    pub fn threshold(mut self, bytes: usize) -> Self {
        self.threshold = bytes;
        self
    }

    /// Checks the values: window bits 9 to 15 for the client's compressor (a client cannot
    /// compress with 8), 8 to 15 for the server's, level 0 to 9. A server checks its settings
    /// the same way.
    pub(crate) fn validate(&self) -> Result<(), DeflateParamError> {
        let invalid = |param: &str, value: String| DeflateParamError::InvalidValue {
            param: param.to_owned(),
            value,
        };
        if let Some(bits) = self
            .client_max_window_bits
            .filter(|b| !(MIN_BACKEND_WINDOW_BITS..=15).contains(b))
        {
            return Err(invalid("client_max_window_bits", bits.to_string()));
        }
        if let Some(bits) = self.server_max_window_bits.filter(|b| !(8..=15).contains(b)) {
            return Err(invalid("server_max_window_bits", bits.to_string()));
        }
        if self.level > 9 {
            return Err(invalid("level", self.level.to_string()));
        }
        Ok(())
    }

    /// The `Sec-WebSocket-Extensions` entry offered.
    pub(crate) fn offer(&self) -> String {
        let mut offer = EXTENSION_NAME.to_owned();
        if self.client_no_context_takeover {
            offer.push_str("; client_no_context_takeover");
        }
        if self.server_no_context_takeover {
            offer.push_str("; server_no_context_takeover");
        }
        match self.client_max_window_bits {
            Some(bits) => offer.push_str(&format!("; client_max_window_bits={bits}")),
            None => offer.push_str("; client_max_window_bits"),
        }
        if let Some(bits) = self.server_max_window_bits {
            offer.push_str(&format!("; server_max_window_bits={bits}"));
        }
        offer
    }

    /// Checks the server's answer (the parameters after the extension name) against this offer
    /// (RFC 7692 7.1) and gives what both sides compress with.
    pub(crate) fn accept(&self, params: &str) -> Result<DeflateParams, DeflateParamError> {
        let answer = WireParams::parse(params)?;
        let invalid = |param: &str, bits: Option<u8>| DeflateParamError::InvalidValue {
            param: param.to_owned(),
            value: bits.map(|b| b.to_string()).unwrap_or_default(),
        };
        // The server may limit its own window unasked, never above what we asked.
        if let (Some(bits), Some(asked)) = (answer.server_max_window_bits, self.server_max_window_bits) {
            if bits > asked {
                return Err(invalid("server_max_window_bits", Some(bits)));
            }
        }
        // Only answerable if offered (7.1.2.2), with a value, no larger than ours.
        let client_max_window_bits = match answer.client_max_window_bits {
            None => self.client_max_window_bits.unwrap_or(15),
            Some(None) => return Err(invalid("client_max_window_bits", None)),
            Some(Some(bits)) if self.client_max_window_bits.is_some_and(|offered| bits > offered) => {
                return Err(invalid("client_max_window_bits", Some(bits)))
            }
            Some(Some(bits)) => bits,
        };
        Ok(DeflateParams {
            client_no_context_takeover: self.client_no_context_takeover || answer.client_no_context_takeover,
            server_no_context_takeover: answer.server_no_context_takeover,
            client_max_window_bits,
            server_max_window_bits: answer.server_max_window_bits.unwrap_or(15),
            level: self.level,
            threshold: self.threshold,
        })
    }
}

/// The parameters of one offer or answer, each checked on its own: known, given once, flags
/// without a value, window bits 8 to 15 (RFC 7692 7.1). How they relate to the other side's
/// is for the caller.
#[derive(Debug, Default)]
struct WireParams {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: given without a value, which only an offer may do.
    client_max_window_bits: Option<Option<u8>>,
}

impl WireParams {
    fn parse(params: &str) -> Result<Self, DeflateParamError> {
        let mut seen: Vec<&str> = Vec::new();
        let mut parsed = Self::default();
        for param in params.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = match param.split_once('=') {
                Some((name, value)) => (name.trim(), Some(unquote(value.trim()))),
                None => (param, None),
            };
            let name_known = [
                "server_no_context_takeover",
                "client_no_context_takeover",
                "server_max_window_bits",
                "client_max_window_bits",
            ]
            .into_iter()
            .find(|known| known.eq_ignore_ascii_case(name))
            .ok_or_else(|| DeflateParamError::UnknownParameter(name.to_owned()))?;
            if seen.contains(&name_known) {
                return Err(DeflateParamError::DuplicateParameter(name_known.to_owned()));
            }
            seen.push(name_known);
            let invalid = || DeflateParamError::InvalidValue {
                param: name_known.to_owned(),
                value: value.unwrap_or("").to_owned(),
            };
            match name_known {
                "server_no_context_takeover" | "client_no_context_takeover" => {
                    if value.is_some() {
                        return Err(invalid());
                    }
                    if name_known == "server_no_context_takeover" {
                        parsed.server_no_context_takeover = true;
                    } else {
                        parsed.client_no_context_takeover = true;
                    }
                }
                "server_max_window_bits" => {
                    parsed.server_max_window_bits = Some(value.and_then(window_bits).ok_or_else(invalid)?);
                }
                _ => {
                    let bits = value.map(|v| window_bits(v).ok_or_else(invalid)).transpose()?;
                    parsed.client_max_window_bits = Some(bits);
                }
            }
        }
        Ok(parsed)
    }
}

/// `8` to `15`, digits only, no leading zero (RFC 7692 7.1.2).
fn window_bits(value: &str) -> Option<u8> {
    if value.starts_with('0') || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok().filter(|bits| (8..=15).contains(bits))
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// What a negotiated permessage-deflate compresses with. The `client_*` and `server_*` fields
/// keep their meaning on the wire on either end: a client compresses with the `client_*` ones
/// and inflates with the `server_*` ones, a server the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateParams {
    /// The client's compressor starts every message afresh (so the server's inflater does too).
    pub client_no_context_takeover: bool,
    /// The server's compressor starts every message afresh (so the client's inflater does too).
    pub server_no_context_takeover: bool,
    /// The client's compressor's window, 8 to 15 (8: that end sends uncompressed, see the
    /// module notes).
    pub client_max_window_bits: u8,
    /// The server's compressor's window, 8 to 15 (8: likewise).
    pub server_max_window_bits: u8,
    /// Our compression level.
    pub level: u32,
    /// Payloads shorter than this are sent uncompressed.
    pub threshold: usize,
}

/// A permessage-deflate answer (or offer) that RFC 7692 does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeflateParamError {
    /// A parameter RFC 7692 does not define.
    UnknownParameter(String),
    /// A parameter given twice.
    DuplicateParameter(String),
    /// A parameter with a value it may not have (a value on a flag, window bits outside 8 to
    /// 15 or above what was offered, a level above 9).
    InvalidValue {
        /// The parameter's name.
        param: String,
        /// Its value as written (empty when a value was missing).
        value: String,
    },
    /// The server accepted permessage-deflate twice.
    DuplicateExtension,
}

impl fmt::Display for DeflateParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownParameter(p) => write!(f, "unknown permessage-deflate parameter {p:?}"),
            Self::DuplicateParameter(p) => write!(f, "permessage-deflate parameter {p:?} given twice"),
            Self::InvalidValue { param, value } => {
                write!(
                    f,
                    "permessage-deflate parameter {param:?} has an invalid value {value:?}"
                )
            }
            Self::DuplicateExtension => write!(f, "permessage-deflate accepted twice"),
        }
    }
}

impl std::error::Error for DeflateParamError {}

#[cfg(test)]
mod tests;
