//! Helpers the in-memory test files use, shared with the session's unit tests.

use wsx_proto::protocol as proto;

#[path = "../../src/session/tests/wire.rs"]
mod wire;
pub use wire::*;
