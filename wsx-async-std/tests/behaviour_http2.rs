//! The adapter-neutral behaviour suite of `wsx-testing` over HTTP/2 (through an RFC 8441
//! front), run against wsx-async-std on each executor.
// The suite's ignore list is matched by recursive macros, one level per name.
#![recursion_limit = "512"]

mod support;

mod async_std_executor {
    wsx_testing::behaviour_suite_over_http2!(crate::support::async_std_executor::Adapter);
}

mod smol_executor {
    wsx_testing::behaviour_suite_over_http2!(crate::support::smol_executor::Adapter);
}
