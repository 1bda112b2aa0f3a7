//! `FrameHeader::parse` on arbitrary bytes: never panics, and a parsed header is consistent with
//! its bytes and survives an `encode` round trip.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use wsx_proto::{protocol::FrameHeader, protocol::MAX_HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let parsed = FrameHeader::parse(data);
    // Only the first MAX_HEADER_LEN bytes can matter.
    if data.len() > MAX_HEADER_LEN {
        assert_eq!(
            FrameHeader::parse(&data[..MAX_HEADER_LEN]),
            parsed,
            "parse looked past the header"
        );
    }
    let (header, len) = match parsed {
        Ok(Some(h)) => h,
        Ok(None) => {
            assert!(
                data.len() < MAX_HEADER_LEN,
                "needs more than {MAX_HEADER_LEN} bytes: {data:02x?}"
            );
            return;
        }
        Err(_) => return,
    };

    // The header is what its bytes say.
    assert!((2..=MAX_HEADER_LEN).contains(&len), "header length {len}");
    assert!(len <= data.len());
    let ext = match data[1] & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let masked = data[1] & 0x80 != 0;
    assert_eq!(len, 2 + ext + if masked { 4 } else { 0 });
    assert_eq!(header.fin, data[0] & 0x80 != 0);
    assert_eq!(header.rsv, (data[0] >> 4) & 0x07);
    assert_eq!(header.opcode.as_u8(), data[0] & 0x0f);
    assert_eq!(header.mask.is_some(), masked);
    if let Some(key) = header.mask {
        assert_eq!(&key[..], &data[len - 4..len]);
    }
    assert!(header.payload_len < 1 << 63);
    if header.opcode.is_control() {
        assert!(
            header.fin && header.payload_len <= 125,
            "bad control header accepted: {header:?}"
        );
    }

    // Every strict prefix needs more bytes; the exact header parses the same.
    for k in 0..len {
        assert_eq!(FrameHeader::parse(&data[..k]), Ok(None), "prefix of {k} bytes");
    }
    assert_eq!(FrameHeader::parse(&data[..len]), Ok(Some((header, len))));

    // Round trip: encode uses the shortest length form and parses back to the same header.
    let mut out = BytesMut::new();
    header.encode(&mut out);
    let minimal =
        2 + match header.payload_len {
            0..=125 => 0,
            126..=0xffff => 2,
            _ => 8,
        } + if masked { 4 } else { 0 };
    assert_eq!(out.len(), minimal, "encode of {header:?}: {:02x?}", &out[..]);
    assert!(out.len() <= len);
    assert_eq!(
        FrameHeader::parse(&out),
        Ok(Some((header, out.len()))),
        "round trip of {header:?}"
    );
    // Non-minimal length forms are accepted on parse; the re-encoding is canonical.
    if out.len() == len {
        assert_eq!(&out[..], &data[..len]);
    }
});
