//! Reading into a buffer's spare room without zeroing it first: std's `Read` wants
//! initialized memory, and zeroing (or copying out of a zeroed scratch) cost a pass over every
//! received byte.

use std::io;
use std::mem::MaybeUninit;

use bytes::BytesMut;

/// Reserves `room` bytes in `buf` and lets `read` fill a prefix of them: `read` gets `room`
/// bytes of uninitialized spare room and returns the prefix it initialized (as rustix's
/// `read(fd, &mut [MaybeUninit<u8>])` does). Returns how many bytes were appended.
///
/// A returned slice that is not a prefix of the spare room is an error, not undefined
/// behaviour.
pub fn read_into_spare(
    buf: &mut BytesMut,
    room: usize,
    read: impl for<'a> FnOnce(&'a mut [MaybeUninit<u8>]) -> io::Result<&'a mut [u8]>,
) -> io::Result<usize> {
    wsx_proto::protocol::buffer::reserve(buf, room);
    let spare = &mut buf.spare_capacity_mut()[..room];
    let (start, capacity) = (spare.as_ptr() as usize, spare.len());
    let filled = read(spare)?;
    if filled.as_ptr() as usize != start || filled.len() > capacity {
        return Err(io::Error::other("read returned memory outside the spare room"));
    }
    let n = filled.len();
    // SAFETY: `filled` is a `&mut [u8]`, so its `n` bytes are initialized, and the check above
    // proved it starts where the spare room starts and fits in it: bytes `len..len + n` of
    // `buf` are initialized and within its capacity.
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_the_prefix_the_reader_filled() {
        let mut buf = BytesMut::from(&b"ab"[..]);
        let n = read_into_spare(&mut buf, 8, |spare| {
            let (head, _) = spare.split_at_mut(3);
            Ok(write_all(head, b"cde"))
        })
        .unwrap();
        assert_eq!((n, &buf[..]), (3, &b"abcde"[..]));
    }

    #[test]
    fn the_reader_gets_room_bytes_however_much_is_spare() {
        let mut buf = BytesMut::with_capacity(4096);
        let n = read_into_spare(&mut buf, 8, |spare| {
            assert_eq!(spare.len(), 8);
            Ok(write_all(spare, b"12345678"))
        })
        .unwrap();
        assert_eq!((n, &buf[..]), (8, &b"12345678"[..]));
    }

    #[test]
    fn a_slice_elsewhere_is_refused() {
        let mut buf = BytesMut::new();
        let other: &'static mut [u8] = Box::leak(Box::new([0u8; 4]));
        let err = read_into_spare(&mut buf, 8, |_| Ok(other)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Other);
        assert!(buf.is_empty());
        let err = read_into_spare(&mut buf, 8, |spare| {
            let (_, tail) = spare.split_at_mut(1);
            Ok(write_all(tail, b"x"))
        })
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Other);
        assert!(buf.is_empty());
    }

    #[test]
    fn errors_append_nothing() {
        let mut buf = BytesMut::from(&b"ab"[..]);
        let err = read_into_spare(&mut buf, 8, |_| Err(io::ErrorKind::WouldBlock.into())).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(&buf[..], b"ab");
    }

    fn write_all<'a>(out: &'a mut [MaybeUninit<u8>], data: &[u8]) -> &'a mut [u8] {
        out[..data.len()].write_copy_of_slice(data)
    }
}
