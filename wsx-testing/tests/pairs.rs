//! A client of one adapter against the server of another, for every pair of different
//! adapters (each adapter's own pair runs in its `server_suite!`): the same callbacks at both
//! ends, whichever runtime runs them. The adapters' test support is their own test crates'.

#[path = "../../wsx-async-std/tests/support/mod.rs"]
#[allow(dead_code)]
mod async_std_support;
#[path = "../../wsx-blocking/tests/support/mod.rs"]
#[allow(dead_code)]
mod blocking_support;
#[path = "../../wsx-tokio/tests/support/mod.rs"]
#[allow(dead_code)]
mod tokio_support;

use async_std_support::async_std_executor::Adapter as AsyncStd;
use async_std_support::smol_executor::Adapter as Smol;
use blocking_support::Threads;
use tokio_support::Tokio;

wsx_testing::pair_suite!(tokio_client_blocking_server: Tokio => Threads);
wsx_testing::pair_suite!(tokio_client_async_std_server: Tokio => AsyncStd);
wsx_testing::pair_suite!(tokio_client_smol_server: Tokio => Smol);
wsx_testing::pair_suite!(blocking_client_tokio_server: Threads => Tokio);
wsx_testing::pair_suite!(blocking_client_async_std_server: Threads => AsyncStd);
wsx_testing::pair_suite!(blocking_client_smol_server: Threads => Smol);
wsx_testing::pair_suite!(async_std_client_tokio_server: AsyncStd => Tokio);
wsx_testing::pair_suite!(async_std_client_blocking_server: AsyncStd => Threads);
wsx_testing::pair_suite!(async_std_client_smol_server: AsyncStd => Smol);
wsx_testing::pair_suite!(smol_client_tokio_server: Smol => Tokio);
wsx_testing::pair_suite!(smol_client_blocking_server: Smol => Threads);
wsx_testing::pair_suite!(smol_client_async_std_server: Smol => AsyncStd);
