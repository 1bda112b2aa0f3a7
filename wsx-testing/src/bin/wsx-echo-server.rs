//! The scripted test server as its own process, echoing: for tests that measure the client's
//! memory, which an in-process server would blur. Prints its URL, then serves until stdin
//! closes.

fn main() {
    wsx_testing::child::serve_until_stdin_closes(&wsx_testing::TestServer::echo());
}
