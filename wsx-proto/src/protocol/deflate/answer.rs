//! The server's side of the negotiation: answering one permessage-deflate offer (RFC 7692 7.1).

use super::{DeflateConfig, DeflateParamError, DeflateParams, WireParams, EXTENSION_NAME};

impl DeflateConfig {
    /// Answers one offer (the parameters after `permessage-deflate;`) with these settings, read
    /// with their wire meaning (`server_*` is the server's compressor). Gives what both sides
    /// compress with and the `Sec-WebSocket-Extensions` entry to send back, or why the offer is
    /// invalid (unknown, repeated or ill-valued parameters: the caller declines that offer).
    pub(crate) fn answer(&self, offer_params: &str) -> Result<(DeflateParams, String), DeflateParamError> {
        let offer = WireParams::parse(offer_params)?;
        let mut answer = EXTENSION_NAME.to_owned();

        let server_no_context_takeover = offer.server_no_context_takeover || self.server_no_context_takeover;
        if server_no_context_takeover {
            answer.push_str("; server_no_context_takeover");
        }
        // RFC 7692 7.1.1.2 lets the server ask this unasked.
        let client_no_context_takeover = offer.client_no_context_takeover || self.client_no_context_takeover;
        if client_no_context_takeover {
            answer.push_str("; client_no_context_takeover");
        }

        // The client's value is a ceiling; ours may only lower it.
        let server_max_window_bits = match (offer.server_max_window_bits, self.server_max_window_bits) {
            (Some(asked), Some(ours)) => Some(asked.min(ours)),
            (asked, ours) => asked.or(ours),
        };
        if let Some(bits) = server_max_window_bits {
            answer.push_str(&format!("; server_max_window_bits={bits}"));
        }

        // Never answered unless offered (7.1.2.2): the client may not be able to limit itself.
        let client_max_window_bits = match offer.client_max_window_bits {
            None => None,
            Some(offered) => match (self.client_max_window_bits, offered) {
                (Some(ours), Some(offered)) => Some(ours.min(offered)),
                (ours, offered) => ours.or(offered),
            },
        };
        if let Some(bits) = client_max_window_bits {
            answer.push_str(&format!("; client_max_window_bits={bits}"));
        }

        let params = DeflateParams {
            client_no_context_takeover,
            server_no_context_takeover,
            client_max_window_bits: client_max_window_bits.unwrap_or(15),
            server_max_window_bits: server_max_window_bits.unwrap_or(15),
            level: self.level,
            threshold: self.threshold,
        };
        Ok((params, answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer's text and its (client, server) windows and no-context-takeover flags.
    fn answer(config: &DeflateConfig, offer: &str) -> (String, (u8, u8), (bool, bool)) {
        let (params, text) = config.answer(offer).unwrap();
        (
            text,
            (params.client_max_window_bits, params.server_max_window_bits),
            (params.client_no_context_takeover, params.server_no_context_takeover),
        )
    }

    #[test]
    fn plain_offer_gets_a_plain_answer() {
        assert_eq!(
            answer(&DeflateConfig::default(), ""),
            ("permessage-deflate".to_owned(), (15, 15), (false, false))
        );
        let (params, _) = DeflateConfig::default().level(3).threshold(10).answer("").unwrap();
        assert_eq!((params.level, params.threshold), (3, 10));
    }

    #[test]
    fn no_context_takeover_from_either_side() {
        let defaults = DeflateConfig::default();
        assert_eq!(
            answer(&defaults, "server_no_context_takeover"),
            (
                "permessage-deflate; server_no_context_takeover".to_owned(),
                (15, 15),
                (false, true)
            )
        );
        assert_eq!(
            answer(&defaults.clone().server_no_context_takeover(true), ""),
            (
                "permessage-deflate; server_no_context_takeover".to_owned(),
                (15, 15),
                (false, true)
            )
        );
        assert_eq!(
            answer(&defaults, "client_no_context_takeover"),
            (
                "permessage-deflate; client_no_context_takeover".to_owned(),
                (15, 15),
                (true, false)
            )
        );
        // Unasked: the server may always tell the client to drop its context.
        assert_eq!(
            answer(&defaults.clone().client_no_context_takeover(true), ""),
            (
                "permessage-deflate; client_no_context_takeover".to_owned(),
                (15, 15),
                (true, false)
            )
        );
    }

    #[test]
    fn server_window_is_the_smaller_of_both() {
        let cases = [
            (None, "", None),
            (None, "server_max_window_bits=10", Some(10)),
            (Some(12), "", Some(12)),
            (Some(12), "server_max_window_bits=10", Some(10)),
            (Some(9), "server_max_window_bits=10", Some(9)),
            // Accepted although our compressor cannot use it: we then send uncompressed.
            (None, "server_max_window_bits=8", Some(8)),
        ];
        for (ours, offer, expected) in cases {
            let config = DeflateConfig::default().server_max_window_bits(ours);
            let (params, text) = config.answer(offer).unwrap();
            let expected_text = match expected {
                Some(bits) => format!("permessage-deflate; server_max_window_bits={bits}"),
                None => "permessage-deflate".to_owned(),
            };
            assert_eq!(text, expected_text, "ours {ours:?}, offer {offer:?}");
            assert_eq!(params.server_max_window_bits, expected.unwrap_or(15));
            assert_eq!(params.client_max_window_bits, 15);
        }
    }

    #[test]
    fn client_window_is_answered_only_when_offered() {
        let cases = [
            // Not offered: never answered, whatever we would like.
            (None, "", None),
            (Some(10), "", None),
            // Offered without a value: ours if set.
            (None, "client_max_window_bits", None),
            (Some(10), "client_max_window_bits", Some(10)),
            // Offered with a value: the smaller, or the client's own.
            (None, "client_max_window_bits=12", Some(12)),
            (Some(10), "client_max_window_bits=12", Some(10)),
            (Some(13), "client_max_window_bits=12", Some(12)),
            (None, "client_max_window_bits=8", Some(8)),
        ];
        for (ours, offer, expected) in cases {
            let config = DeflateConfig::default().client_max_window_bits(ours);
            let (params, text) = config.answer(offer).unwrap();
            let expected_text = match expected {
                Some(bits) => format!("permessage-deflate; client_max_window_bits={bits}"),
                None => "permessage-deflate".to_owned(),
            };
            assert_eq!(text, expected_text, "ours {ours:?}, offer {offer:?}");
            assert_eq!(params.client_max_window_bits, expected.unwrap_or(15));
            assert_eq!(params.server_max_window_bits, 15);
        }
    }

    #[test]
    fn everything_at_once_in_a_fixed_order() {
        let config = DeflateConfig::default()
            .server_no_context_takeover(true)
            .client_max_window_bits(Some(12));
        assert_eq!(
            answer(
                &config,
                " Client_Max_Window_Bits=\"14\" ; client_no_context_takeover; server_max_window_bits=11"
            ),
            (
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=11; client_max_window_bits=12"
                    .to_owned(),
                (12, 11),
                (true, true)
            )
        );
    }

    #[test]
    fn invalid_offers_are_refused() {
        let invalid = |param: &str, value: &str| DeflateParamError::InvalidValue {
            param: param.into(),
            value: value.into(),
        };
        let cases = [
            ("x_param", DeflateParamError::UnknownParameter("x_param".into())),
            (
                "client_max_window_bits; client_max_window_bits=10",
                DeflateParamError::DuplicateParameter("client_max_window_bits".into()),
            ),
            (
                "client_no_context_takeover=1",
                invalid("client_no_context_takeover", "1"),
            ),
            ("server_max_window_bits", invalid("server_max_window_bits", "")),
            ("server_max_window_bits=16", invalid("server_max_window_bits", "16")),
            ("server_max_window_bits=7", invalid("server_max_window_bits", "7")),
            ("client_max_window_bits=010", invalid("client_max_window_bits", "010")),
            ("client_max_window_bits=", invalid("client_max_window_bits", "")),
        ];
        for (offer, error) in cases {
            assert_eq!(DeflateConfig::default().answer(offer), Err(error), "{offer}");
        }
    }

    #[test]
    fn every_answer_is_one_the_offering_client_accepts() {
        let windows = [None, Some(9), Some(12), Some(15)];
        for client_bits in windows {
            for server_bits in [None, Some(8), Some(10), Some(15)] {
                for flags in 0..4 {
                    let client = DeflateConfig::default()
                        .client_no_context_takeover(flags & 1 != 0)
                        .server_no_context_takeover(flags & 2 != 0)
                        .client_max_window_bits(client_bits)
                        .server_max_window_bits(server_bits);
                    let offer = client.offer();
                    let offer_params = offer.split_once(';').map_or("", |(_, params)| params);
                    for ours in windows {
                        let server = DeflateConfig::default()
                            .client_max_window_bits(ours)
                            .server_max_window_bits(ours)
                            .server_no_context_takeover(flags & 1 != 0);
                        let (server_params, text) = server.answer(offer_params).unwrap();
                        let answer_params = text.split_once(';').map_or("", |(_, params)| params);
                        let client_params = client.accept(answer_params).unwrap();
                        assert_eq!(client_params, server_params, "offer {offer:?}, answer {text:?}");
                    }
                }
            }
        }
    }
}
