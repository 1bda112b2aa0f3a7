//! The adapter-neutral behaviour suite of `wsx-testing`, and its server suite, run against
//! wsx-async-std twice: on async-std's executor and on smol's.

mod support;

mod async_std_executor {
    wsx_testing::behaviour_suite!(crate::support::async_std_executor::Adapter);
    wsx_testing::server_suite!(crate::support::async_std_executor::Adapter);
}

mod smol_executor {
    wsx_testing::behaviour_suite!(crate::support::smol_executor::Adapter);
    wsx_testing::server_suite!(crate::support::smol_executor::Adapter);
}
