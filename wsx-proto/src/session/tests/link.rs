//! A [`Link`] for tests on one thread: the client handle's half of a session, with no queue
//! locks and no waiting. What a real sender would wait for has already happened or never
//! will (nothing else runs), so a "blocking" call here returns at once: a `send_frame` whose
//! outcome is not known yet has timed out.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use bytes::BytesMut;

use crate::client::Status;
use crate::close::{CloseFrame, CloseReason};
use crate::config::CAST_QUEUE_LIMIT;
use crate::protocol::{encode_frame, random_mask_key, OpCode};
use crate::session::{Command, Encoded, Link, Waiter};
use crate::telemetry::StatsSnapshot;
use crate::{CloseCode, Frame, SendError};

/// What a test's client handle and its session share.
#[derive(Clone)]
pub(super) struct TestLink<C> {
    shared: Rc<RefCell<Shared<C>>>,
}

struct Shared<C> {
    commands: VecDeque<Command<C, TestWaiter>>,
    encoded: BytesMut,
    closed: bool,
    casts_queued: usize,
    status: Status,
    started: Option<Result<(), CloseReason>>,
    send_buffer: usize,
    queued_sends: usize,
    unwritten: usize,
    encode_limit: usize,
    stats: [u64; 4],
}

impl<C: 'static> TestLink<C> {
    pub(super) fn new(send_buffer: usize) -> Self {
        Self {
            shared: Rc::new(RefCell::new(Shared {
                commands: VecDeque::new(),
                encoded: BytesMut::new(),
                closed: false,
                casts_queued: 0,
                status: Status::Connecting,
                started: None,
                send_buffer,
                queued_sends: 0,
                unwritten: 0,
                encode_limit: 0,
                stats: [0; 4],
            })),
        }
    }

    fn push(&self, command: Command<C, TestWaiter>) -> Result<(), SendError> {
        let mut shared = self.shared.borrow_mut();
        if shared.closed {
            drop(shared);
            return Err(SendError::ConnectionFailed(self.terminated()));
        }
        shared.commands.push_back(command);
        Ok(())
    }

    pub(super) fn cast(&self, msg: C) -> Result<(), SendError> {
        if self.shared.borrow().casts_queued >= CAST_QUEUE_LIMIT {
            return Err(SendError::QueueFull);
        }
        self.push(Command::Cast(msg))?;
        self.shared.borrow_mut().casts_queued += 1;
        Ok(())
    }

    pub(super) fn close(&self) -> Result<(), SendError> {
        self.push(Command::Close(Some(CloseFrame::new(CloseCode::NORMAL, ""))))
    }

    fn check_sendable(&self) -> Result<(), SendError> {
        match &self.shared.borrow().status {
            Status::Connected => Ok(()),
            Status::Connecting => Err(SendError::NotConnected),
            Status::Terminated(reason) => Err(SendError::ConnectionFailed(Some(reason.clone()))),
        }
    }

    /// A pipelined send: its budget taken (never waiting: one frame may overdraw it), and
    /// small whole messages encoded here, as a sender does.
    pub(super) fn send_blocking(&self, frame: Frame) -> Result<(), SendError> {
        self.check_sendable()?;
        let mut shared = self.shared.borrow_mut();
        let cost = (frame.payload_len() + 14).min(shared.send_buffer);
        shared.queued_sends += cost;
        let payload = match &frame {
            Frame::Text(text) => Some((OpCode::Text, text.as_bytes().clone())),
            Frame::Binary(bytes) => Some((OpCode::Binary, bytes.clone())),
            _ => None,
        };
        match payload {
            Some((opcode, payload)) if payload.len() <= shared.encode_limit => {
                let start = shared.encoded.len();
                encode_frame(&mut shared.encoded, true, opcode, &payload, Some(random_mask_key()));
                let run = Encoded {
                    len: shared.encoded.len() - start,
                    frames: 1,
                    payload: payload.len() as u64,
                    cost,
                };
                shared.commands.push_back(Command::Encoded(run));
            }
            _ => shared.commands.push_back(Command::Send(frame, cost)),
        }
        Ok(())
    }

    pub(super) fn send_all_blocking(&self, frames: impl IntoIterator<Item = Frame>) -> Result<(), SendError> {
        frames.into_iter().try_for_each(|frame| self.send_blocking(frame))
    }

    /// `send_frame`: nothing runs the session meanwhile, so the frame times out unwritten and
    /// is withdrawn.
    pub(super) fn send_frame_blocking(&self, frame: Frame, _timeout: Duration) -> Result<(), SendError> {
        self.check_sendable()?;
        let waiter = TestWaiter::default();
        self.push(Command::SendFrame(frame, waiter.clone()))?;
        waiter.withdraw()
    }

    pub(super) fn started_blocking(&self) -> Result<(), CloseReason> {
        self.shared
            .borrow()
            .started
            .clone()
            .expect("the start's outcome is known")
    }

    pub(super) fn status(&self) -> Status {
        self.shared.borrow().status.clone()
    }

    pub(super) fn terminated(&self) -> Option<CloseReason> {
        match &self.shared.borrow().status {
            Status::Terminated(reason) => Some(reason.clone()),
            _ => None,
        }
    }

    pub(super) fn stats(&self) -> StatsSnapshot {
        let [frames_in, frames_out, bytes_in, bytes_out] = self.shared.borrow().stats;
        StatsSnapshot::new(frames_in, frames_out, bytes_in, bytes_out)
    }

    pub(super) fn queued_sends(&self) -> usize {
        self.shared.borrow().queued_sends
    }

    pub(super) fn unwritten(&self) -> usize {
        self.shared.borrow().unwritten
    }
}

impl<C: 'static> Link for TestLink<C> {
    type Cast = C;
    type Waiter = TestWaiter;

    fn take_commands(&self, batch: &mut VecDeque<Command<C, TestWaiter>>, encoded: &mut BytesMut) {
        let mut shared = self.shared.borrow_mut();
        batch.extend(shared.commands.drain(..));
        encoded.extend_from_slice(&shared.encoded);
        shared.encoded.clear();
    }

    fn cast_taken(&self) {
        self.shared.borrow_mut().casts_queued -= 1;
    }

    fn release_idle_buffers(&self, _keep_commands: usize) {}

    fn set_status(&self, status: Status) {
        self.shared.borrow_mut().status = status;
    }

    fn set_started(&self, outcome: Result<(), CloseReason>) {
        self.shared.borrow_mut().started.get_or_insert(outcome);
    }

    fn finish(&self, reason: &CloseReason) {
        let left = {
            let mut shared = self.shared.borrow_mut();
            shared.closed = true;
            shared.status = Status::Terminated(reason.clone());
            shared.started.get_or_insert(Err(reason.clone()));
            std::mem::take(&mut shared.commands)
        };
        for command in left {
            if let Command::SendFrame(_, waiter) = command {
                waiter.fill(Err(SendError::ConnectionFailed(Some(reason.clone()))));
            }
        }
    }

    fn release_budget(&self, cost: usize) {
        self.shared.borrow_mut().queued_sends -= cost;
    }

    fn set_unwritten(&self, bytes: usize) {
        self.shared.borrow_mut().unwritten = bytes;
    }

    fn set_encode_limit(&self, limit: usize) {
        self.shared.borrow_mut().encode_limit = limit;
    }

    fn send_buffer(&self) -> usize {
        self.shared.borrow().send_buffer
    }

    fn count_in(&self, frame: &Frame) {
        let stats = &mut self.shared.borrow_mut().stats;
        stats[0] += 1;
        stats[2] += frame.payload_len() as u64;
    }

    fn count_out(&self, frames: u64, payload: u64) {
        let stats = &mut self.shared.borrow_mut().stats;
        stats[1] += frames;
        stats[3] += payload;
    }

    fn uncount_out(&self, payload: u64) {
        let stats = &mut self.shared.borrow_mut().stats;
        stats[1] -= 1;
        stats[3] -= payload;
    }

    fn in_callback<R>(&self, callback: impl FnOnce() -> R) -> R {
        callback()
    }

    fn wall_clock(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH
    }
}

/// A `send_frame` caller on the test's thread.
#[derive(Debug, Clone, Default)]
pub(super) struct TestWaiter(Rc<RefCell<WaiterState>>);

#[derive(Debug, Default)]
enum WaiterState {
    #[default]
    Waiting,
    Started,
    Writing,
    Committed,
    Done(Result<(), SendError>),
    Withdrawn,
}

impl TestWaiter {
    /// The caller's timeout: withdrawn unless it can no longer be.
    fn withdraw(&self) -> Result<(), SendError> {
        let mut state = self.0.borrow_mut();
        match std::mem::replace(&mut *state, WaiterState::Withdrawn) {
            WaiterState::Done(outcome) => outcome,
            WaiterState::Committed | WaiterState::Writing => Err(SendError::TimeoutCommitted),
            _ => Err(SendError::Timeout),
        }
    }
}

impl Waiter for TestWaiter {
    fn start(&self) -> bool {
        let mut state = self.0.borrow_mut();
        match *state {
            WaiterState::Waiting => {
                *state = WaiterState::Started;
                true
            }
            WaiterState::Withdrawn => false,
            _ => true,
        }
    }

    fn commit(&self) {
        let mut state = self.0.borrow_mut();
        if let WaiterState::Started | WaiterState::Writing = *state {
            *state = WaiterState::Committed;
        }
    }

    fn begin_write(&self) -> bool {
        let mut state = self.0.borrow_mut();
        match *state {
            WaiterState::Started => {
                *state = WaiterState::Writing;
                true
            }
            WaiterState::Withdrawn => false,
            _ => true,
        }
    }

    fn end_write(&self, written: bool) {
        let mut state = self.0.borrow_mut();
        if let WaiterState::Writing = *state {
            *state = if written {
                WaiterState::Committed
            } else {
                WaiterState::Started
            };
        }
    }

    fn is_withdrawn(&self) -> bool {
        matches!(*self.0.borrow(), WaiterState::Withdrawn)
    }

    fn fill(&self, outcome: Result<(), SendError>) {
        let mut state = self.0.borrow_mut();
        if !matches!(*state, WaiterState::Done(_) | WaiterState::Withdrawn) {
            *state = WaiterState::Done(outcome);
        }
    }

    fn same(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}
