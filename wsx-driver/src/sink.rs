//! The batch send paths: `send_all` and a `futures::Sink`. Frames are queued many at a time
//! (one lock and one wake-up of the connection task per batch, not per frame), within the
//! send budget.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_sink::Sink;

use crate::gate::GateListener;
use wsx_proto::session::Link;
use wsx_proto::Frame;
use wsx_proto::SendError;

use crate::handle::ClientHandle;
use crate::outbox::Batch;
use wsx_proto::Handler;

/// Frames a batch holds before it is handed to the connection task anyway.
const BATCH: usize = 256;

/// Budget a sink takes at a time and spends on frames locally: one atomic update per chunk,
/// not per frame. What is left goes back at every flush.
const BUDGET_CHUNK: usize = 16 * 1024;

impl<H: Handler> ClientHandle<H> {
    /// Queues every frame in order, in batches, waiting while the send budget is spent
    /// (async adapters). A frame that cannot be sent stops it: the frames before it are
    /// queued, the error is returned.
    pub async fn send_all(&self, frames: impl IntoIterator<Item = Frame>) -> Result<(), SendError> {
        let mut batch = Batch::new();
        for frame in frames {
            let cost = self.admit(&frame, &mut batch)?;
            if !self.take_budget_now(cost) {
                // Hand over what is held first: its bytes are what frees the budget.
                self.push_batch(&mut batch)?;
                self.take_budget(cost).await?;
            }
            self.add(&mut batch, frame, cost)?;
        }
        self.push_batch(&mut batch)
    }

    /// [`send_all`](Self::send_all), blocking this thread while the budget is
    /// spent.
    pub fn send_all_blocking(&self, frames: impl IntoIterator<Item = Frame>) -> Result<(), SendError> {
        let mut batch = Batch::new();
        for frame in frames {
            let cost = self.admit(&frame, &mut batch)?;
            if !self.take_budget_now(cost) {
                self.push_batch(&mut batch)?;
                self.take_budget_blocking(cost)?;
            }
            self.add(&mut batch, frame, cost)?;
        }
        self.push_batch(&mut batch)
    }

    /// Checks a frame of a batch; on error the batch so far is queued first.
    fn admit(&self, frame: &Frame, batch: &mut Batch<H>) -> Result<usize, SendError> {
        if let Err(e) = self.check_sendable(frame) {
            self.push_batch(batch)?;
            return Err(e);
        }
        Ok(self.cost(frame))
    }

    fn add(&self, batch: &mut Batch<H>, frame: Frame, cost: usize) -> Result<(), SendError> {
        batch.push(frame, cost, self.encode_rule());
        if batch.len() >= BATCH {
            self.push_batch(batch)?;
        }
        Ok(())
    }

    /// A [`Sink`] of frames for this client, for `SinkExt::send_all`, `feed` and `send`:
    /// `start_send` collects frames, `poll_flush` hands them to the connection task in one
    /// go (they are written as soon as the socket takes them), and `poll_ready` waits while
    /// the send budget is spent. Closing the sink flushes it; it does not close the connection.
    pub fn sink(&self) -> ClientSink<H> {
        ClientSink {
            handle: self.clone(),
            batch: Batch::new(),
            reserved: 0,
            listener: None,
        }
    }
}

/// What [`ClientHandle::sink`] returns.
pub struct ClientSink<H: Handler> {
    handle: ClientHandle<H>,
    /// Frames started and not yet handed over.
    batch: Batch<H>,
    /// Budget taken and not yet spent on a frame (given back at every flush).
    reserved: usize,
    /// Set while `poll_ready` waits for budget.
    listener: Option<GateListener>,
}

impl<H: Handler> std::fmt::Debug for ClientSink<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSink")
            .field("batched", &self.batch.len())
            .finish_non_exhaustive()
    }
}

impl<H: Handler> ClientSink<H> {
    fn give_back_reserved(&mut self) {
        if self.reserved > 0 {
            self.handle.release_budget(std::mem::take(&mut self.reserved));
        }
    }
}

impl<H: Handler> Unpin for ClientSink<H> {}

impl<H: Handler> Sink<Frame> for ClientSink<H> {
    type Error = SendError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        let this = &mut *self;
        loop {
            if this.reserved > 0 || this.handle.budget_left()? > 0 {
                this.listener = None;
                return Poll::Ready(Ok(()));
            }
            match &mut this.listener {
                None => {
                    // Spent: what this sink holds must go, or nothing frees the budget.
                    this.handle.push_batch(&mut this.batch)?;
                    this.listener = Some(this.handle.listen_budget());
                }
                Some(listener) => {
                    std::task::ready!(Pin::new(listener).poll(cx));
                    this.listener = None;
                }
            }
        }
    }

    /// Takes what is left of the budget, up to the frame's cost: one frame larger than what
    /// is left still goes, so memory stays within the budget plus one frame.
    fn start_send(mut self: Pin<&mut Self>, frame: Frame) -> Result<(), SendError> {
        let this = &mut *self;
        this.handle.check_sendable(&frame)?;
        let wanted = this.handle.cost(&frame);
        if this.reserved < wanted {
            this.reserved += this
                .handle
                .take_budget_up_to(BUDGET_CHUNK.max(wanted - this.reserved))?;
        }
        let cost = wanted.min(this.reserved);
        this.reserved -= cost;
        this.batch.push(frame, cost, this.handle.encode_rule());
        if this.batch.len() >= BATCH {
            this.handle.push_batch(&mut this.batch)?;
        }
        Ok(())
    }

    fn poll_flush(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        let this = &mut *self;
        this.give_back_reserved();
        Poll::Ready(this.handle.push_batch(&mut this.batch))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        self.poll_flush(cx)
    }
}

impl<H: Handler> Drop for ClientSink<H> {
    /// Frames started but not flushed still go: nothing accepted is silently dropped.
    fn drop(&mut self) {
        self.give_back_reserved();
        let _ = self.handle.push_batch(&mut self.batch);
    }
}
