//! Round trips the way a callback client converses: `handle_frame` answers each echo with the
//! next message (WebSockex's `{:reply, frame, state}`), so a trip never leaves the connection's
//! task or thread. The drivers of all three wsx adapters run it; `wsx-tokio-send` keeps the
//! other way (`Client::send`, then wait for the echo in the caller's task).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use wsx_tokio::{frame::Utf8Bytes, CloseReason, Context, Frame, Handler, Reply, Response};

use crate::window::Window;
use crate::{Latencies, Measurement, Params, Result, TEXT16};

/// The round-trip handler: starts the first trip once connected, times every trip, answers
/// each echo with the next message, and hands the measurement over after the last.
pub struct Pinger {
    trips: Option<Latencies>,
    warmup: u64,
    total: u64,
    echoed: u64,
    sent_at: Instant,
    start: Instant,
    finished: Finished,
}

/// Where the driver waits for a [`Pinger`]'s measurement, or for why the connection ended
/// before the last trip.
#[derive(Clone)]
pub struct Finished {
    outcome: Arc<Mutex<Option<Result<Measurement, String>>>>,
    done: Arc<Window>,
}

impl Pinger {
    /// A pinger for `p.warmup` unrecorded trips then `p.rtt_count` recorded ones.
    pub fn new(p: &Params) -> (Self, Finished) {
        let finished = Finished {
            outcome: Arc::default(),
            done: Arc::new(Window::new(1)),
        };
        let now = Instant::now();
        let pinger = Self {
            trips: Some(Latencies::with_capacity(p.rtt_count)),
            warmup: p.warmup as u64,
            total: (p.warmup + p.rtt_count) as u64,
            echoed: 0,
            sent_at: now,
            start: now,
            finished: finished.clone(),
        };
        (pinger, finished)
    }

    fn next(&mut self) -> Reply {
        self.sent_at = Instant::now();
        Reply::Frame(Frame::Text(Utf8Bytes::from_static(TEXT16)))
    }
}

impl Handler for Pinger {
    type Cast = ();
    type Info = ();

    fn handle_connect(&mut self, _response: &Response, ctx: &mut Context<'_, Self>) {
        // The first trip starts from the connection's own turn, like every other.
        ctx.send_info(());
    }

    fn handle_info(&mut self, _msg: (), _ctx: &mut Context<'_, Self>) -> Reply {
        if self.warmup == 0 {
            self.start = Instant::now();
        }
        self.next()
    }

    fn handle_frame(&mut self, _frame: Frame, _ctx: &mut Context<'_, Self>) -> Reply {
        let now = Instant::now();
        self.echoed += 1;
        if self.echoed > self.warmup {
            if let Some(trips) = &mut self.trips {
                trips.record(now - self.sent_at);
            }
        }
        if self.echoed == self.warmup {
            self.start = now;
        }
        if self.echoed < self.total {
            return self.next();
        }
        if let Some(trips) = self.trips.take() {
            let secs = (now - self.start).as_secs_f64();
            self.finished.hand_over(Ok(trips.finish(secs)));
        }
        Reply::Continue
    }

    fn terminate(&mut self, reason: &CloseReason) {
        // A connection lost mid-run must not leave the driver waiting for ever.
        if self.trips.take().is_some() {
            let trip = self.echoed + 1;
            self.finished
                .hand_over(Err(format!("the connection ended before round trip {trip}: {reason}")));
        }
    }
}

impl Finished {
    /// Waits (async) for the last trip.
    pub async fn wait(&self) -> Result<Measurement> {
        self.done.until(1).await;
        self.take()
    }

    /// Waits (blocking the thread) for the last trip.
    pub fn wait_blocking(&self) -> Result<Measurement> {
        self.done.until_blocking(1);
        self.take()
    }

    fn hand_over(&self, outcome: Result<Measurement, String>) {
        *self.outcome.lock().unwrap() = Some(outcome);
        self.done.on_echo();
    }

    fn take(&self) -> Result<Measurement> {
        let taken = self.outcome.lock().unwrap().take();
        Ok(taken.ok_or("the pinger finished without a measurement")??)
    }
}
