//! The soak of `wsx-testing` (1,000 clients, a server that keeps dropping them) on wsx-tokio,
//! in a process of its own so that its fd, thread and memory counts see nothing else.

mod support;

fn main() {
    wsx_testing::soak::main(&[("wsx-tokio", wsx_testing::soak::run::<support::Tokio>)]);
}
