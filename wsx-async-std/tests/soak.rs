//! The soak of `wsx-testing` (1,000 clients, a server that keeps dropping them) on
//! wsx-async-std, on async-std's executor and then on smol's, in a process of its own so that
//! its fd, thread and memory counts see nothing else.

mod support;

fn main() {
    wsx_testing::soak::main(&[
        (
            "wsx-async-std (async-std)",
            wsx_testing::soak::run::<support::async_std_executor::Adapter>,
        ),
        (
            "wsx-async-std (smol)",
            wsx_testing::soak::run::<support::smol_executor::Adapter>,
        ),
    ]);
}
