//! The adapter-neutral behaviour suite of `wsx-testing`, run against wsx-blocking.

mod support;

wsx_testing::behaviour_suite!(support::Threads);
wsx_testing::server_suite!(support::Threads);
