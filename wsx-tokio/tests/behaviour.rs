//! The adapter-neutral behaviour suite of `wsx-testing`, run against wsx-tokio.

mod support;

wsx_testing::behaviour_suite!(support::Tokio);

wsx_testing::server_suite!(support::Tokio);
