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
//! * [`behaviour_suite!`]: one `#[test]` per scenario for an adapter;
//! * [`h2front`]: an RFC 8441 front ([`H2Front`]) that reaches those servers over HTTP/2, for
//!   the tests of WebSockets over HTTP/2; [`haproxy`]: the same job done by a real proxy.
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

/// The workspace README's Rust examples, compiled as doc tests here (this crate is never
/// published, so it may read a file outside its own directory; the published crates must not).
/// Their crates are this crate's dev-dependencies.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme_examples {}

pub mod autobahn;
pub mod child;
pub mod h2front;
pub mod haproxy;
pub mod harness;
pub mod interop;
pub mod interop_clients;
pub mod memory;
mod over_http2;
pub mod ports;
pub mod raw_client;
pub mod scenarios;
pub mod server;
pub mod serving;
pub mod soak;
pub mod tls;

pub use crate::autobahn::{AutobahnArgs, AutobahnServerArgs, CaseCount, Echo};
pub use crate::child::{ChildServer, Counter};
pub use crate::h2front::{FrontOptions, H2Front};
pub use crate::haproxy::HaProxy;
pub use crate::harness::{
    block_on, settings, Cmd, Ev, Events, Probe, TelemetryLog, TestAdapter, TestClient, TestOptions,
};
pub use crate::interop::{Hypercorn, Peer, PeerServer, ProxyServer, PROXY_VARIABLES};
pub use crate::interop_clients::{run_browser_client, run_echo_client, BrowserRun};
pub use crate::over_http2::OverHttp2;
pub use crate::ports::unused_port;
pub use crate::raw_client::{HttpAnswer, RawClient};
pub use crate::server::{
    compressed_frame, deflate_bomb, encode, partial_frame, refused_url, BlackHole, Gate, Handshake, RecordedRequest,
    Script, ServerConn, ServerFrame, Step, TcpEnd, TestServer,
};
pub use crate::serving::{probes, Decide, TestListener, TestServing};
pub use crate::tls::{ClientPem, TestPki};
pub use wsx_driver::client::BufferedBytes;

include!(concat!(env!("OUT_DIR"), "/scenario_names.rs"));

/// [`behaviour_suite!`] over HTTP/2: `$adapter`'s clients through an RFC 8441 front
/// ([`OverHttp2`]). Every scenario runs but those about what the front stands in for
/// (connecting, TLS and proxies on the way to the scenario's server, a server that botches its
/// handshake, the Host and URL it sees), and the HTTP/2 scenarios, which start servers of
/// their own: those are ignored here, with the reason. The ignore list is matched by
/// recursive macros: the test crate needs `#![recursion_limit = "512"]`.
#[macro_export]
macro_rules! behaviour_suite_over_http2 {
    ($adapter:ty) => {
        $crate::behaviour_suite!($crate::OverHttp2<$adapter>; ignore {
            async_start_initial_failure_terminates: "connects to a refusing address: the front answers for it (502); connecting is tested over HTTP/1.1",
            connect_passes_refusing_addresses_of_both_families: "the happy-eyeballs race is the TCP connection's, to the front here; tested over HTTP/1.1",
            connect_timeout_covers_a_stalled_proxy: "a proxy before the front; tested over HTTP/1.1",
            connect_timeout_ends_a_race_that_nobody_wins: "the happy-eyeballs race is the TCP connection's, to the front here; tested over HTTP/1.1",
            connection_refused: "connects to a refusing address: the front answers for it (502); tested over HTTP/1.1",
            every_address_refusing_is_a_typed_error: "the happy-eyeballs race is the TCP connection's, to the front here; tested over HTTP/1.1",
            happy_eyeballs_passes_an_address_that_never_answers: "the happy-eyeballs race is the TCP connection's, to the front here; tested over HTTP/1.1",
            initial_failure_handled_when_asked: "connects to a refusing address: the front answers for it (502); tested over HTTP/1.1",
            initial_failure_returned: "connects to a refusing address: the front answers for it (502); tested over HTTP/1.1",
            reconnect_after_a_delay_waits_between_attempts: "connects to a refusing address: the front answers for it (502); tested over HTTP/1.1",
            reconnect_attempts_count_failures: "connects to a refusing address: the front answers for it (502); tested over HTTP/1.1",
            reconnect_attempts_reset_after_success: "checks the URL handle_disconnect sees, which is the front's",
            request_headers_reach_server: "checks the Host the server sees, which is the front's",
            handshake_hangup_incomplete: "the front answers for a server that botches its handshake (502)",
            handshake_wrong_accept: "the front answers for a server that botches its handshake (502)",
            http2_client_certificate_over_tls: "starts its own HTTP/2 server",
            http2_clients_of_an_origin_share_one_connection: "starts its own HTTP/2 server",
            http2_dropped_connection_reconnects_on_a_new_one: "starts its own HTTP/2 server",
            http2_goaway_moves_new_clients_to_a_fresh_connection: "starts its own HTTP/2 server",
            http2_h2c_with_hypercorn: "starts its own HTTP/2 server",
            http2_haproxy_h2c_echo_and_close: "starts its own HTTP/2 server",
            http2_haproxy_tls_prefer: "starts its own HTTP/2 server",
            http2_haproxy_deflate_with_python_websockets: "starts its own HTTP/2 server",
            http2_of_an_http11_server_required_or_preferred: "starts its own HTTP/2 server",
            http2_refused_connect_has_its_status_and_headers: "starts its own HTTP/2 server",
            http2_refused_connect_is_a_rejection: "starts its own HTTP/2 server",
            http2_stalled_stream_beside_a_flowing_one: "starts its own HTTP/2 server",
            http2_stream_reset_reconnects_on_a_new_stream: "starts its own HTTP/2 server",
            http2_through_proxies: "starts its own HTTP/2 server",
            http2_tls_prefer_with_hypercorn: "starts its own HTTP/2 server",
            http2_without_extended_connect_required_or_preferred: "starts its own HTTP/2 server",
            mtls_client_certificate_accepted_missing_or_wrong: "TLS to the scenario's server: the front reaches it in cleartext",
            mtls_unparsable_identity_is_invalid_certificate: "TLS to the scenario's server: the front reaches it in cleartext",
            tls_hostname_mismatch_fails: "TLS to the scenario's server: the front reaches it in cleartext",
            tls_insecure_mode_succeeds: "TLS to the scenario's server: the front reaches it in cleartext",
            tls_native_roots_with_and_without_the_test_ca: "TLS to the scenario's server: the front reaches it in cleartext",
            tls_trusted_ca_echoes: "TLS to the scenario's server: the front reaches it in cleartext",
            tls_untrusted_ca_fails: "TLS to the scenario's server: the front reaches it in cleartext",
            proxy_failures_are_typed: "a proxy before the front; tested over HTTP/1.1",
            proxy_http_connect_with_auth: "a proxy before the front; tested over HTTP/1.1",
            proxy_socks5_with_auth: "a proxy before the front; tested over HTTP/1.1",
        });
    };
}

/// Expands to one `#[test]` per scenario in [`scenarios`], run against `$adapter`. Every
/// `pub fn NAME<A: TestAdapter>()` in a scenario module is one (the build script finds them),
/// so a new scenario runs on every adapter without being listed.
///
/// `behaviour_suite!(Adapter; ignore { name: "reason", ... })` marks the named scenarios
/// `#[ignore = "reason"]` for this adapter (a reported bug, or a scenario that cannot apply).
#[macro_export]
macro_rules! behaviour_suite {
    ($adapter:ty $(; ignore { $($ignored:ident : $reason:literal),* $(,)? })?) => {
        $crate::__wsx_scenario_names! {
            $crate::__wsx_behaviour_tests;
            $adapter;
            [$($($ignored : $reason),*)?]
        }
    };
}

/// Expands to one `#[test]` per server scenario (`pub fn NAME<S: TestServing>()`) and per
/// client-and-server scenario (`pub fn NAME<C: TestAdapter, S: TestServing>()`, with
/// `$adapter` at both ends), run against `$adapter`'s server.
#[macro_export]
macro_rules! server_suite {
    ($adapter:ty) => {
        $crate::__wsx_server_names! { $crate::__wsx_server_tests; $adapter }
        $crate::__wsx_pair_names! { $crate::__wsx_pair_tests; $adapter, $adapter }
    };
}

/// Expands to a module `$module` with one `#[test]` per client-and-server scenario, a
/// `$client` adapter's client against a `$server` adapter's server.
#[macro_export]
macro_rules! pair_suite {
    ($module:ident: $client:ty => $server:ty) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $crate::__wsx_pair_names! { $crate::__wsx_pair_tests; $client, $server }
        }
    };
}

/// Implementation detail of [`server_suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __wsx_server_tests {
    ($adapter:ty; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::scenarios::$name::<$adapter>();
            }
        )*
    };
}

/// Implementation detail of [`server_suite!`] and [`pair_suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __wsx_pair_tests {
    ($client:ty, $server:ty; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::scenarios::$name::<$client, $server>();
            }
        )*
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

/// The guides' code blocks (`docs/*.md`), compiled (and run unless marked `no_run`) as doc
/// tests: this crate has every adapter at hand.
#[cfg(doctest)]
pub mod guides {
    #[doc = include_str!("../../docs/backpressure.md")]
    pub struct Backpressure;
    #[doc = include_str!("../../docs/compression.md")]
    pub struct Compression;
    #[doc = include_str!("../../docs/connecting.md")]
    pub struct Connecting;
    #[doc = include_str!("../../docs/embedding.md")]
    pub struct Embedding;
    #[doc = include_str!("../../docs/http2.md")]
    pub struct Http2;
    #[doc = include_str!("../../docs/proxies.md")]
    pub struct Proxies;
    #[doc = include_str!("../../docs/reconnects-and-keepalive.md")]
    pub struct ReconnectsAndKeepalive;
    #[doc = include_str!("../../docs/runtimes.md")]
    pub struct Runtimes;
    #[doc = include_str!("../../docs/server.md")]
    pub struct Server;
    #[doc = include_str!("../../docs/telemetry.md")]
    pub struct Telemetry;
}
