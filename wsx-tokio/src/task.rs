//! The connection task: tokio's socket and timer, given to the loop every async adapter shares
//! ([`wsx_driver::run`]). Everything else is the session's.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::time::Sleep;
use wsx_driver::{PollTimer, Session};
use wsx_proto::{ConnectSettings, Handler};

use crate::stream;

/// Runs a session until it stops. The connect future is boxed: it is large and only lives
/// while connecting, so an open (or idle) connection's task does not carry its size.
pub(crate) fn run<H: Handler>(session: Box<Session<H>>) -> impl Future<Output = ()> + Send {
    let connect = |settings: &ConnectSettings| {
        let settings = settings.clone();
        Box::pin(async move { stream::connect(&settings).await })
    };
    wsx_driver::run_owned(session, connect, TokioTimer(None))
}

/// tokio's timer, made on first use and freed when disarmed: an idle open connection holds
/// none.
pub(crate) struct TokioTimer(pub(crate) Option<Pin<Box<Sleep>>>);

impl PollTimer for TokioTimer {
    fn poll_until(&mut self, cx: &mut Context<'_>, at: Instant) -> Poll<()> {
        let at = tokio::time::Instant::from_std(at);
        let sleep = match &mut self.0 {
            Some(sleep) => {
                if sleep.deadline() != at {
                    sleep.as_mut().reset(at);
                }
                sleep
            }
            None => self.0.insert(Box::pin(tokio::time::sleep_until(at))),
        };
        sleep.as_mut().poll(cx)
    }

    fn disarm(&mut self) {
        self.0 = None;
    }
}
