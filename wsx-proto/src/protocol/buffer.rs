//! Byte buffers recycled per thread. A connection gives its read and write buffers back when it
//! goes quiet (nothing left in them) and takes one when it has bytes again, so a thread driving
//! a thousand connections holds a few buffers between them rather than one per connection, and
//! a busy connection does not allocate at every turn. A per-thread cache like the masking keys'
//! random pool: no locks, no threads.

use std::cell::RefCell;

use bytes::BytesMut;

/// Buffers a thread keeps for reuse, and their room in all: what a thread serving many
/// connections needs at a time (a read buffer, a send buffer or two), and little for a thread
/// that serves one.
const KEEP: usize = 4;
const KEEP_BYTES: usize = 64 << 10;
/// Smaller buffers are not worth keeping.
const MIN_KEPT: usize = 4 << 10;
/// The least a new buffer holds.
const FRESH: usize = 64 << 10;
/// Larger buffers go back to the allocator: one huge message does not pin its buffer.
const MAX_KEPT: usize = 256 << 10;

thread_local! {
    static SPARE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// Makes room for `additional` more bytes in `buf`: in its own allocation if it can, else
/// from a recycled buffer when `buf` has none (one with room for them: growing a buffer
/// copies all its old room).
#[inline]
pub fn reserve(buf: &mut BytesMut, additional: usize) {
    // In place: the room it has, or its whole allocation once the frames split off it are
    // gone (an empty view after the last frame has no room of its own).
    if buf.try_reclaim(additional) {
        return;
    }
    if buf.capacity() > 0 {
        // A larger allocation, its bytes copied over.
        buf.reserve(additional);
        return;
    }
    *buf = match take(additional) {
        Some(spare) => spare,
        // Not the exact size: a buffer that starts empty usually fills with many frames.
        None => BytesMut::with_capacity(additional.max(FRESH)),
    };
}

/// Empties `buf` and gives its room to the thread's spare buffers (or to the allocator).
pub fn recycle(buf: &mut BytesMut) {
    let mut buf = std::mem::take(buf);
    if !(MIN_KEPT..=MAX_KEPT).contains(&buf.capacity()) {
        return;
    }
    buf.clear();
    // At thread exit the cache may be gone already: the buffer is then simply freed.
    let _ = SPARE.try_with(|spare| {
        if let Ok(mut spare) = spare.try_borrow_mut() {
            let kept: usize = spare.iter().map(BytesMut::capacity).sum();
            if spare.len() < KEEP && kept + buf.capacity() <= KEEP_BYTES {
                spare.push(buf);
            }
        }
    });
}

/// Frees what `buf` holds beyond its bytes and `wanted` more (the rest of a frame in
/// progress): an empty buffer is recycled, one less than a quarter used is replaced with a
/// buffer the size of its bytes (copying a few bytes to free many, never a large frame). Call before a connection waits, so a thousand waiting connections hold
/// their unfinished frames, not their whole buffers.
pub fn compact(buf: &mut BytesMut, wanted: usize) {
    if buf.is_empty() {
        recycle(buf);
    } else if buf.capacity() > MIN_KEPT && buf.capacity() / 4 > buf.len() + wanted {
        let mut small = BytesMut::with_capacity(buf.len());
        small.extend_from_slice(buf);
        recycle(&mut std::mem::replace(buf, small));
    }
}

/// The largest spare buffer, if it has room for `wanted` bytes.
fn take(wanted: usize) -> Option<BytesMut> {
    SPARE
        .try_with(|spare| {
            let mut spare = spare.try_borrow_mut().ok()?;
            let largest = (0..spare.len()).max_by_key(|&i| spare[i].capacity())?;
            (spare[largest].capacity() >= wanted).then(|| spare.swap_remove(largest))
        })
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spares() -> usize {
        SPARE.with(|spare| spare.borrow().len())
    }

    /// Runs `check` on a thread of its own: a fresh, empty pool.
    fn on_new_thread(check: impl FnOnce() + Send + 'static) {
        std::thread::spawn(check).join().unwrap();
    }

    #[test]
    fn a_recycled_buffer_is_reused_by_the_next_reserve() {
        on_new_thread(|| {
            let mut buf = BytesMut::with_capacity(64 << 10);
            buf.extend_from_slice(b"abc");
            let ptr = buf.as_ptr();
            recycle(&mut buf);
            assert_eq!((buf.capacity(), spares()), (0, 1));
            let mut next = BytesMut::new();
            reserve(&mut next, 100);
            assert_eq!(next.as_ptr(), ptr);
            assert!(next.is_empty() && next.capacity() >= 64 << 10);
            assert_eq!(spares(), 0);
        });
    }

    #[test]
    fn only_a_few_mid_sized_buffers_are_kept() {
        on_new_thread(|| {
            for _ in 0..KEEP + 3 {
                recycle(&mut BytesMut::with_capacity(8 << 10));
            }
            assert_eq!(spares(), KEEP);
            SPARE.with(|spare| spare.borrow_mut().clear());
            recycle(&mut BytesMut::with_capacity(100));
            recycle(&mut BytesMut::with_capacity(MAX_KEPT + 1));
            assert_eq!(spares(), 0);
        });
    }

    #[test]
    fn compacting_keeps_the_bytes_and_frees_the_room() {
        on_new_thread(|| {
            let mut buf = BytesMut::with_capacity(16 << 10);
            buf.extend_from_slice(&[7; 100]);
            compact(&mut buf, 50);
            assert_eq!(&buf[..], &[7; 100][..]);
            assert!(buf.capacity() < 1024);
            assert_eq!(spares(), 1);
            // Room the frame in progress will fill is kept.
            let mut big = BytesMut::with_capacity(64 << 10);
            big.extend_from_slice(&[1; 100]);
            compact(&mut big, 60 << 10);
            assert!(big.capacity() >= 64 << 10);
            let mut empty = BytesMut::with_capacity(16 << 10);
            compact(&mut empty, 0);
            assert_eq!((empty.capacity(), spares()), (0, 2));
        });
    }

    #[test]
    fn a_spare_too_small_is_not_taken() {
        on_new_thread(|| {
            recycle(&mut BytesMut::with_capacity(8 << 10));
            let mut buf = BytesMut::new();
            reserve(&mut buf, 32 << 10);
            assert!(buf.capacity() >= 32 << 10);
            assert_eq!(spares(), 1, "the small one stays for a smaller need");
            let mut small = BytesMut::new();
            reserve(&mut small, 100);
            assert!(small.capacity() >= 8 << 10);
            assert_eq!(spares(), 0);
        });
    }

    #[test]
    fn the_thread_keeps_little() {
        on_new_thread(|| {
            recycle(&mut BytesMut::with_capacity(48 << 10));
            recycle(&mut BytesMut::with_capacity(48 << 10));
            assert_eq!(spares(), 1, "at most {KEEP_BYTES} bytes of room are kept");
        });
    }
}
