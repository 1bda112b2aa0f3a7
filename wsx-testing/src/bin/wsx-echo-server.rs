//! The scripted test server as its own process, echoing: for tests that measure the client's
//! memory, which an in-process server would blur. Prints its URL, then serves until stdin
//! closes.

fn main() {
    let server = wsx_testing::TestServer::echo();
    println!("{}", server.url());
    let mut line = String::new();
    while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
        line.clear();
    }
}
