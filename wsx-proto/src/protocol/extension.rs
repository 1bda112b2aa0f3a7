//! Extension negotiation (RFC 6455 section 9).
//!
//! This is where permessage-deflate (RFC 7692) plugs in: an extension is offered in the
//! handshake request, accepted (or not) by the server, and once accepted it owns one or more
//! RSV bits and transforms payloads between frame assembly and the user. No extension is
//! implemented yet, so no RSV bit is ever allowed; the negotiation checks are already enforced.

use super::error::HandshakeError;

/// The extensions the server accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NegotiatedExtensions {
    accepted: Vec<String>,
}

impl NegotiatedExtensions {
    /// Checks the response's `Sec-WebSocket-Extensions` values against what was offered.
    pub(crate) fn negotiate<'a>(
        offered: &[String],
        response_values: impl Iterator<Item = &'a str>,
    ) -> Result<Self, HandshakeError> {
        let mut accepted = Vec::new();
        for value in response_values {
            for ext in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let name = ext.split(';').next().unwrap_or("").trim();
                let was_offered = offered
                    .iter()
                    .any(|o| o.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(name));
                if !was_offered {
                    return Err(HandshakeError::UnofferedExtension(ext.to_owned()));
                }
                accepted.push(ext.to_owned());
            }
        }
        Ok(Self { accepted })
    }

    /// The accepted extensions with their parameters, as the server wrote them.
    pub fn accepted(&self) -> &[String] {
        &self.accepted
    }

    /// The RSV bits (RSV1 = 0b100) that the accepted extensions define. Frames with other
    /// RSV bits set are protocol errors.
    pub fn reserved_bits(&self) -> u8 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unoffered_is_error() {
        let offered = vec!["permessage-deflate; client_max_window_bits".to_owned()];
        let ok =
            NegotiatedExtensions::negotiate(&offered, ["permessage-deflate; server_no_context_takeover"].into_iter())
                .unwrap();
        assert_eq!(ok.accepted(), ["permessage-deflate; server_no_context_takeover"]);
        assert_eq!(
            NegotiatedExtensions::negotiate(&offered, ["x-webkit-deflate-frame"].into_iter()),
            Err(HandshakeError::UnofferedExtension("x-webkit-deflate-frame".into()))
        );
        assert_eq!(
            NegotiatedExtensions::negotiate(&[], std::iter::empty())
                .unwrap()
                .reserved_bits(),
            0
        );
    }
}
