//! The proxy taken from the environment, on wsx-async-std under async-std and then smol, in a
//! test binary of its own: it sets process environment variables, which no other test may
//! see or race with (hence one test for both executors, one after the other).

mod support;

#[test]
fn proxy_from_the_environment() {
    wsx_testing::scenarios::proxy_from_the_environment::<support::async_std_executor::Adapter>(
        wsx_testing::scenarios::OwnProcess,
    );
    wsx_testing::scenarios::proxy_from_the_environment::<support::smol_executor::Adapter>(
        wsx_testing::scenarios::OwnProcess,
    );
}
