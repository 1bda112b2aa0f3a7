//! The soak of `wsx-testing` (1,000 clients, a server that keeps dropping them) on
//! wsx-blocking, in a process of its own so that its fd, thread and memory counts see nothing
//! else.

mod support;

fn main() {
    wsx_testing::soak::main(&[("wsx-blocking", wsx_testing::soak::run::<support::Threads>)]);
}
