//! Extension negotiation (RFC 6455 section 9).
//!
//! An extension is offered in the handshake request, accepted (or not) by the server, and once
//! accepted it owns RSV bits and transforms payloads between frame assembly and the user. The
//! one implemented is permessage-deflate (RFC 7692, [`super::deflate`]), which owns RSV1; any
//! other extension the user offers may be accepted, but frames with its bits are refused.

use super::deflate::{DeflateConfig, DeflateParamError, DeflateParams, EXTENSION_NAME};
use super::error::HandshakeError;

/// The extensions the server accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NegotiatedExtensions {
    accepted: Vec<String>,
    deflate: Option<DeflateParams>,
}

impl NegotiatedExtensions {
    /// Checks the response's `Sec-WebSocket-Extensions` values against what was offered.
    pub(crate) fn negotiate<'a>(
        offered: &[String],
        deflate_offer: Option<&DeflateConfig>,
        response_values: impl Iterator<Item = &'a str>,
    ) -> Result<Self, HandshakeError> {
        let mut accepted = Vec::new();
        let mut deflate = None;
        for value in response_values {
            for ext in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let name = ext.split(';').next().unwrap_or("").trim();
                let was_offered = offered
                    .iter()
                    .any(|o| o.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(name));
                if !was_offered {
                    return Err(HandshakeError::UnofferedExtension(ext.to_owned()));
                }
                if let (true, Some(offer)) = (name.eq_ignore_ascii_case(EXTENSION_NAME), deflate_offer) {
                    if deflate.is_some() {
                        return Err(HandshakeError::Deflate(DeflateParamError::DuplicateExtension));
                    }
                    let params = ext.split_once(';').map_or("", |(_, params)| params);
                    deflate = Some(offer.accept(params).map_err(HandshakeError::Deflate)?);
                }
                accepted.push(ext.to_owned());
            }
        }
        Ok(Self { accepted, deflate })
    }

    /// The permessage-deflate parameters, if the server accepted compression.
    pub fn deflate(&self) -> Option<&DeflateParams> {
        self.deflate.as_ref()
    }

    /// The accepted extensions with their parameters, as the server wrote them.
    pub fn accepted(&self) -> &[String] {
        &self.accepted
    }

    /// The RSV bits (RSV1 = 0b100) that the accepted extensions define. Frames with other
    /// RSV bits set are protocol errors.
    pub fn reserved_bits(&self) -> u8 {
        if self.deflate.is_some() {
            0b100
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unoffered_is_error() {
        let offered = vec!["permessage-deflate; client_max_window_bits".to_owned()];
        let ok = NegotiatedExtensions::negotiate(
            &offered,
            None,
            ["permessage-deflate; server_no_context_takeover"].into_iter(),
        )
        .unwrap();
        assert_eq!(ok.accepted(), ["permessage-deflate; server_no_context_takeover"]);
        assert_eq!(
            NegotiatedExtensions::negotiate(&offered, None, ["x-webkit-deflate-frame"].into_iter()),
            Err(HandshakeError::UnofferedExtension("x-webkit-deflate-frame".into()))
        );
        assert_eq!(
            NegotiatedExtensions::negotiate(&[], None, std::iter::empty())
                .unwrap()
                .reserved_bits(),
            0
        );
    }
}
