//! # wsx-testing: one behaviour suite for every wsx adapter
//!
//! The same scenarios run against `wsx-tokio`, `wsx-async-std` and `wsx-blocking`:
//!
//! * [`server`]: a scripted WebSocket server on `std::net` and threads (so it works under any
//!   runtime) that records what the client sent;
//! * [`harness`]: the blocking-style API an adapter implements for the tests ([`TestAdapter`],
//!   [`TestClient`]) and the handler the scenarios drive ([`Probe`]);
//! * [`scenarios`]: the scenarios, each a `pub fn name<A: TestAdapter>()`, in one module per
//!   topic;
//! * [`behaviour_suite!`]: one `#[test]` per scenario for an adapter.
//!
//! An adapter's test file is then a few lines:
//!
//! ```ignore
//! struct MyAdapter;
//! impl wsx_testing::TestAdapter for MyAdapter { /* start, client_from_context */ }
//! wsx_testing::behaviour_suite!(MyAdapter);
//! ```
//!
//! To skip a scenario for one adapter while a bug is open, list it after `ignore`:
//! `behaviour_suite!(MyAdapter; ignore { scenario_name: "bug: why" })`.

pub mod autobahn;
pub mod harness;
pub mod interop;
pub mod memory;
pub mod ports;
pub mod scenarios;
pub mod server;
pub mod soak;
pub mod tls;

pub use crate::autobahn::{AutobahnArgs, CaseCount, Echo};
pub use crate::harness::{
    block_on, settings, Cmd, Ev, Events, Probe, TelemetryLog, TestAdapter, TestClient, TestOptions,
};
pub use crate::interop::{Peer, PeerServer, ProxyServer, PROXY_VARIABLES};
pub use crate::ports::unused_port;
pub use crate::server::{
    compressed_frame, deflate_bomb, encode, partial_frame, refused_url, BlackHole, Gate, Handshake, RecordedRequest,
    Script, ServerConn, ServerFrame, Step, TcpEnd, TestServer,
};
pub use crate::tls::{ClientPem, TestPki};
pub use wsx_proto::BufferedBytes;

/// Expands to one `#[test]` per scenario in [`scenarios`], run against `$adapter`.
///
/// `behaviour_suite!(Adapter; ignore { name: "reason", ... })` marks the named scenarios
/// `#[ignore = "reason"]` for this adapter (use only for a reported bug).
#[macro_export]
macro_rules! behaviour_suite {
    ($adapter:ty $(; ignore { $($ignored:ident : $reason:literal),* $(,)? })?) => {
        $crate::__wsx_behaviour_tests! {
            $adapter;
            [$($($ignored : $reason),*)?];
            echo_text_via_handle_frame,
            echo_binary_via_handle_frame,
            send_frame_round_trip,
            pipelined_send_keeps_order,
            send_all_and_sink_keep_order,
            large_messages_intact,
            fragments_delivered_when_enabled,
            fragments_reassembled_by_default,
            send_fragments,
            outgoing_frame_size_splits,
            frames_in_handshake_packet_delivered,
            burst_of_frames_in_order,
            message_too_big_closes_1009,
            deflate_python_websockets,
            deflate_python_websockets_no_context_takeover_9_bits,
            deflate_node_ws,
            deflate_node_ws_no_context_takeover_10_bits,
            deflate_bomb_closes_1009,
            deflate_threshold_and_opt_out,
            keepalive_pings_keep_a_quiet_connection_up,
            keepalive_pong_timeout_ends_the_connection,
            keepalive_pings_go_out_while_sending_at_full_speed,
            idle_timeout_ends_a_silent_connection,
            reconnect_after_a_delay_waits_between_attempts,
            close_during_a_reconnect_delay_stops_at_once,
            mtls_client_certificate_accepted_missing_or_wrong,
            mtls_unparsable_identity_is_invalid_certificate,
            tls_native_roots_with_and_without_the_test_ca,
            proxy_http_connect_with_auth,
            proxy_socks5_with_auth,
            proxy_failures_are_typed,
            connect_timeout_covers_a_stalled_proxy,
            connect_tries_every_resolved_address,
            happy_eyeballs_passes_an_address_that_never_answers,
            connect_passes_refusing_addresses_of_both_families,
            every_address_refusing_is_a_typed_error,
            connect_timeout_ends_a_race_that_nobody_wins,
            handle_connect_sees_response,
            request_headers_reach_server,
            unoffered_subprotocol_fails,
            invalid_request_headers_refused,
            cast_reply_frame,
            cast_before_connect_delivered,
            cast_from_callback_delivered,
            handle_info_via_send_after,
            default_ping_replies_pong,
            handle_pong_called,
            reply_continue_sends_nothing,
            reply_close,
            reply_close_with_code,
            reply_close_with_invalid_code,
            client_close_with,
            remote_close_normal,
            remote_close_without_code,
            remote_close_with_code,
            dropped_mid_frame,
            local_close_times_out,
            local_close_completes_when_server_keeps_tcp,
            remote_close_completes_when_server_keeps_tcp,
            crossed_close_reports_both,
            close_echo_with_own_reason_is_local,
            close_echo_normal_is_local,
            remote_close_server_holds_tcp_ends_soon,
            local_close_server_holds_tcp_ends_soon,
            reset_mid_frame_is_dropped,
            local_close_then_server_resets_is_dropped,
            local_close_then_server_eof_is_dropped,
            torn_frame_reset_while_closing_is_deterministic,
            send_frame_while_closing_not_connected,
            protocol_error_without_close_reply,
            masked_server_frame_is_protocol_error,
            invalid_utf8_is_protocol_error,
            reserved_opcode_is_protocol_error,
            oversize_frame_header_fails_at_once,
            invalid_utf8_fails_at_once,
            bad_frame_then_flood_fails_at_once,
            handshake_rejected_404,
            handshake_rejected_500,
            handshake_wrong_accept,
            handshake_times_out,
            handshake_hangup_incomplete,
            connection_refused,
            bad_url,
            async_start_returns_at_once,
            close_while_connecting_not_lost,
            initial_failure_returned,
            async_start_initial_failure_terminates,
            initial_failure_handled_when_asked,
            reconnect_after_remote_close,
            reconnect_attempts_count_failures,
            reconnect_attempts_reset_after_success,
            reconnect_with_new_settings,
            send_after_survives_reconnect,
            send_frame_not_connected,
            operations_after_termination_fail,
            operations_right_after_wait_fail,
            send_frame_encode_error,
            send_frame_from_callback_fails,
            stats_count_frames_and_bytes,
            telemetry_events,
            tls_trusted_ca_echoes,
            tls_untrusted_ca_fails,
            tls_hostname_mismatch_fails,
            tls_insecure_mode_succeeds,
            server_that_never_reads_keeps_memory_bounded,
            panic_in_handle_frame_fails_connection,
            panic_in_handle_cast_fails_connection,
            panic_with_non_string_payload,
            slow_panicking_callback_still_sends_its_close,
            panic_in_handle_connect_fails_start,
            panic_on_frame_in_handshake_packet,
            panic_in_handle_disconnect_skips_terminate,
            panic_in_terminate_keeps_reason,
            panic_in_one_client_spares_others,
        }
    };
}

/// Implementation detail of [`behaviour_suite!`]: one test per scenario name.
#[doc(hidden)]
#[macro_export]
macro_rules! __wsx_behaviour_tests {
    ($adapter:ty; $ignore:tt; $($name:ident),* $(,)?) => {
        $(
            $crate::__wsx_behaviour_test!($adapter; $name; $ignore);
        )*
    };
}

/// Implementation detail of [`behaviour_suite!`]: one test, `#[ignore]`d if its name is in the
/// list.
#[doc(hidden)]
#[macro_export]
macro_rules! __wsx_behaviour_test {
    ($adapter:ty; $name:ident; []) => {
        #[test]
        fn $name() {
            $crate::scenarios::$name::<$adapter>();
        }
    };
    ($adapter:ty; $name:ident; [$ignored:ident : $reason:literal $(, $rest:ident : $rest_reason:literal)*]) => {
        $crate::__wsx_if_same_ident! {
            ($) $name $ignored
            {
                #[test]
                #[ignore = $reason]
                fn $name() {
                    $crate::scenarios::$name::<$adapter>();
                }
            }
            {
                $crate::__wsx_behaviour_test!($adapter; $name; [$($rest : $rest_reason),*]);
            }
        }
    };
}

/// Implementation detail: `macro_rules` cannot compare identifiers directly, so this defines a
/// throwaway macro whose only literal pattern is `$a` and applies it to `$b`. `($)` passes a
/// literal `$` token in for the fallback pattern's metavariable.
#[doc(hidden)]
#[macro_export]
macro_rules! __wsx_if_same_ident {
    (($d:tt) $a:ident $b:ident { $($then:tt)* } { $($else:tt)* }) => {
        macro_rules! __wsx_ident_is {
            ($a) => { $($then)* };
            ($d other:ident) => { $($else)* };
        }
        __wsx_ident_is!($b);
    };
}
