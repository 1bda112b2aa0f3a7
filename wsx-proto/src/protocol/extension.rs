//! Extension negotiation (RFC 6455 section 9).
//!
//! An extension is offered in the handshake request, accepted (or not) by the server, and once
//! accepted it owns RSV bits and transforms payloads between frame assembly and the user. The
//! one implemented is permessage-deflate (RFC 7692, [`super::deflate`]), which owns RSV1; any
//! other extension a client offers may be accepted by the server, but frames with its bits are
//! refused. A server of ours accepts permessage-deflate only.

use super::deflate::{DeflateConfig, DeflateParamError, DeflateParams, EXTENSION_NAME};
use super::error::HandshakeError;

/// The extensions the server accepted (as a client parsed the answer, or as a server wrote it).
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

    /// The server's answer to a client's `Sec-WebSocket-Extensions` entries (each one offer,
    /// in the client's order of preference): the first valid permessage-deflate offer is
    /// accepted if `deflate` is set, invalid ones are skipped (a client may follow one with
    /// fallbacks), other extensions are declined (we do not implement them). Gives the
    /// negotiated set and the header value to send, if any.
    pub(crate) fn answer(offers: &[String], deflate: Option<&DeflateConfig>) -> (Self, Option<String>) {
        let Some(config) = deflate else {
            return (Self::default(), None);
        };
        let accepted = offers.iter().find_map(|offer| {
            let (name, params) = offer.split_once(';').unwrap_or((offer, ""));
            if !name.trim().eq_ignore_ascii_case(EXTENSION_NAME) {
                return None;
            }
            config.answer(params).ok()
        });
        match accepted {
            Some((params, text)) => (
                Self {
                    accepted: vec![text.clone()],
                    deflate: Some(params),
                },
                Some(text),
            ),
            None => (Self::default(), None),
        }
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

    #[test]
    fn server_answers_the_first_valid_deflate_offer() {
        let offers = |list: &[&str]| list.iter().map(|o| o.to_string()).collect::<Vec<_>>();
        let config = DeflateConfig::default();
        let (negotiated, header) = NegotiatedExtensions::answer(
            &offers(&[
                "x-webkit-deflate-frame",
                "permessage-deflate; server_max_window_bits=99",
                "Permessage-Deflate ; client_max_window_bits=10",
                "permessage-deflate",
            ]),
            Some(&config),
        );
        let text = "permessage-deflate; client_max_window_bits=10";
        assert_eq!(header.as_deref(), Some(text));
        assert_eq!(negotiated.accepted(), [text]);
        assert_eq!(negotiated.deflate().map(|p| p.client_max_window_bits), Some(10));
        assert_eq!(negotiated.reserved_bits(), 0b100);

        let declined = [
            NegotiatedExtensions::answer(&offers(&["permessage-deflate"]), None),
            NegotiatedExtensions::answer(&offers(&["x-other", "permessage-deflate; x=1"]), Some(&config)),
            NegotiatedExtensions::answer(&[], Some(&config)),
        ];
        for (negotiated, header) in declined {
            assert_eq!((negotiated, header), (NegotiatedExtensions::default(), None));
        }
    }
}
