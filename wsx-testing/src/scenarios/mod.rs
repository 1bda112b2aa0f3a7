//! The behaviour scenarios, generic over the adapter. [`behaviour_suite!`](crate::behaviour_suite)
//! turns each into a `#[test]`.
//!
//! Every scenario starts its own [`TestServer`], drives a [`Probe`] handler through the
//! adapter's blocking test API, and checks what both ends saw. Waits are bounded by generous
//! timeouts ([`T`]); protocol timeouts are set short (300 ms) so the suite stays fast, except
//! where the point is that something happens *before* a long timeout: then the timeout is long
//! and the bound on the wait tight ([`AT_ONCE`]).
//!
//! Scripted servers force the order of events (e.g. the server acts only once it has received
//! the client's close frame), so no outcome depends on a race.
//!
//! The scenarios live in one module per topic; every one is re-exported here, as the
//! [`behaviour_suite!`](crate::behaviour_suite) macro calls `scenarios::NAME`.

mod backpressure;
mod callbacks;
mod close;
mod deflate;
mod dial;
mod dropped;
mod errors;
mod handshake;
mod http2;
mod http2_haproxy;
mod http2_streams;
mod keepalive;
mod messages;
mod operations;
mod panics;
mod proxy;
mod reconnect;
mod serving;
mod serving_clients;
mod tls;

pub use self::backpressure::*;
pub use self::callbacks::*;
pub use self::close::*;
pub use self::deflate::*;
pub use self::dial::*;
pub use self::dropped::*;
pub use self::errors::*;
pub use self::handshake::*;
pub use self::http2::*;
pub use self::http2_haproxy::*;
pub use self::http2_streams::*;
pub use self::keepalive::*;
pub use self::messages::*;
pub use self::operations::*;
pub use self::panics::*;
pub use self::proxy::*;
pub use self::reconnect::*;
pub use self::serving::*;
pub use self::serving_clients::*;
pub use self::tls::*;

use std::time::{Duration, Instant};

use wsx_proto::{client::Status, close::CloseFrame, close::CloseStatus, CloseCode, CloseReason, Error};

use crate::harness::{Ev, Events, Probe, TestAdapter, TestClient, TestOptions};
use crate::server::{ServerFrame, TcpEnd, TestServer};

/// The generous bound on every wait.
pub const T: Duration = Duration::from_secs(5);
/// The short protocol timeout used for handshake and close timeout scenarios.
pub const SHORT: Duration = Duration::from_millis(300);

type ClientOf<A> = <A as TestAdapter>::Client<Probe<A>>;

fn start<A: TestAdapter>(url: &str, probe: Probe<A>) -> ClientOf<A> {
    A::start(url, probe, TestOptions::default()).expect("the client should connect")
}

fn coded(code: u16, reason: &str) -> CloseStatus {
    CloseStatus::Coded(CloseFrame::new(CloseCode(code), reason))
}

/// Waits for the final reason, and checks that `terminate` ran exactly once, last, with it,
/// and that the status says so.
fn finish<A: TestAdapter>(client: &ClientOf<A>, events: &mut Events) -> CloseReason {
    let reason = client
        .wait(T)
        .unwrap_or_else(|| panic!("the client should stop; its status is {:?}", client.status()));
    let terminated = events.wait_for("terminate", T, |ev| match ev {
        Ev::Terminate(r) => Some(r.clone()),
        _ => None,
    });
    assert_eq!(terminated, reason, "terminate's reason differs from wait()'s");
    let all = events.drain(Duration::from_millis(500));
    assert_eq!(
        all.iter().filter(|e| matches!(e, Ev::Terminate(_))).count(),
        1,
        "terminate must run exactly once: {all:#?}"
    );
    assert!(
        matches!(all.last(), Some(Ev::Terminate(_))),
        "terminate must be the last callback: {all:#?}"
    );
    assert_eq!(client.status(), Status::Terminated(reason.clone()));
    reason
}

/// Closes with 1000 from the client; checks the server saw 1000 and the reason is local normal.
fn close_normally<A: TestAdapter>(client: &ClientOf<A>, server: &TestServer, events: &mut Events) {
    client.close().expect("close");
    let close = server.expect_close(T);
    assert_eq!(close.close_code(), Some(1000));
    assert_eq!(finish::<A>(client, events), CloseReason::Local(CloseStatus::Normal));
}

/// Polls `cond` until true or `T` passes.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + T;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn disconnects(events: &Events) -> Vec<(CloseReason, u32, String)> {
    events
        .all()
        .iter()
        .filter_map(|e| match e {
            Ev::Disconnect { reason, attempt, url } => Some((reason.clone(), *attempt, url.clone())),
            _ => None,
        })
        .collect()
}

fn connected(events: &mut Events) -> u32 {
    events.wait_for("handle_connect", T, |ev| match ev {
        Ev::Connected { count, .. } => Some(*count),
        _ => None,
    })
}

fn is_io(reason: &CloseReason) -> bool {
    matches!(reason, CloseReason::Error(Error::Io(_)))
}

/// The bound on "at once": a reaction that must not wait for a (5 s) timeout.
pub const AT_ONCE: Duration = Duration::from_millis(1500);
/// The close timeout of scenarios that check the client does not wait for it.
pub const LONG_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Waits for the final reason, at most `bound` from `since`; panics naming `what` otherwise.
fn wait_within<A: TestAdapter>(client: &ClientOf<A>, since: Instant, bound: Duration, what: &str) -> CloseReason {
    let left = bound.saturating_sub(since.elapsed());
    let reason = client.wait(left);
    let took = since.elapsed();
    match reason {
        Some(reason) if took <= bound => reason,
        Some(reason) => panic!("{what}: wait() gave {reason:?} only after {took:?} (bound {bound:?})"),
        None => panic!(
            "{what}: wait() gave nothing within {bound:?} (status {:?})",
            client.status()
        ),
    }
}

/// Checks that the client closed TCP connection `conn` itself, at most `bound` after the server
/// received its close frame `close`.
fn client_closes_tcp_soon(server: &TestServer, conn: usize, close: &ServerFrame, bound: Duration) -> TcpEnd {
    let left = bound.saturating_sub(close.at.elapsed());
    let end = server.tcp_end(conn, left).unwrap_or_else(|| {
        panic!("the client did not close TCP within {bound:?} of its close frame (the server holds it open)")
    });
    let after = end.at.saturating_duration_since(close.at);
    assert!(
        after <= bound,
        "the client closed TCP {after:?} after its close frame (bound {bound:?})"
    );
    end
}
