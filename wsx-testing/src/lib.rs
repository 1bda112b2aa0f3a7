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
//!   the tests of WebSockets over HTTP/2.
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
pub mod harness;
pub mod interop;
pub mod memory;
pub mod ports;
pub mod scenarios;
pub mod server;
pub mod soak;
pub mod tls;

pub use crate::autobahn::{AutobahnArgs, CaseCount, Echo};
pub use crate::child::{ChildServer, Counter};
pub use crate::h2front::{FrontOptions, H2Front};
pub use crate::harness::{
    block_on, settings, Cmd, Ev, Events, Probe, TelemetryLog, TestAdapter, TestClient, TestOptions,
};
pub use crate::interop::{Hypercorn, Peer, PeerServer, ProxyServer, PROXY_VARIABLES};
pub use crate::ports::unused_port;
pub use crate::server::{
    compressed_frame, deflate_bomb, encode, partial_frame, refused_url, BlackHole, Gate, Handshake, RecordedRequest,
    Script, ServerConn, ServerFrame, Step, TcpEnd, TestServer,
};
pub use crate::tls::{ClientPem, TestPki};
pub use wsx_driver::client::BufferedBytes;

include!(concat!(env!("OUT_DIR"), "/scenario_names.rs"));

/// Expands to one `#[test]` per scenario in [`scenarios`], run against `$adapter`. Every
/// `pub fn NAME<A: TestAdapter>()` in a scenario module is one (the build script finds them),
/// so a new scenario runs on every adapter without being listed.
///
/// `behaviour_suite!(Adapter; ignore { name: "reason", ... })` marks the named scenarios
/// `#[ignore = "reason"]` for this adapter (use only for a reported bug).
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
    #[doc = include_str!("../../docs/proxies.md")]
    pub struct Proxies;
    #[doc = include_str!("../../docs/reconnects-and-keepalive.md")]
    pub struct ReconnectsAndKeepalive;
    #[doc = include_str!("../../docs/runtimes.md")]
    pub struct Runtimes;
    #[doc = include_str!("../../docs/telemetry.md")]
    pub struct Telemetry;
}
