//! The proxy taken from the environment, on wsx-blocking, in a test binary of its own: it sets
//! process environment variables, which no other test may see or race with.

mod support;

#[test]
fn proxy_from_the_environment() {
    wsx_testing::scenarios::proxy_from_the_environment::<support::Threads>(wsx_testing::scenarios::OwnProcess);
}
