//! A client of one adapter against the server of another, for every pair of different
//! adapters (each adapter's own pair runs in its `server_suite!`): the same callbacks at both
//! ends, whichever runtime runs them. The adapters' test support is their own test crates'.

#[path = "../../wsx-blocking/tests/support/mod.rs"]
#[allow(dead_code)]
mod blocking_support;
#[path = "../../wsx-tokio/tests/support/mod.rs"]
#[allow(dead_code)]
mod tokio_support;

use blocking_support::Threads;
use tokio_support::Tokio;

wsx_testing::pair_suite!(tokio_client_blocking_server: Tokio => Threads);
wsx_testing::pair_suite!(blocking_client_tokio_server: Threads => Tokio);
