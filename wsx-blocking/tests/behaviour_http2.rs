//! The adapter-neutral behaviour suite of `wsx-testing` over HTTP/2 (through an RFC 8441
//! front), run against wsx-blocking.
// The suite's ignore list is matched by recursive macros, one level per name.
#![recursion_limit = "512"]

mod support;

wsx_testing::behaviour_suite_over_http2!(support::Threads);
