//! `parse_close_payload` on arbitrary bytes: never panics and agrees with a direct reading of
//! RFC 6455 section 5.5.1 / 7.4.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsx_proto::{protocol::parse_close_payload, Bytes, CloseCode};

fuzz_target!(|data: &[u8]| {
    let result = parse_close_payload(Bytes::copy_from_slice(data));
    match data.len() {
        0 => assert_eq!(result, Ok(None)),
        1 => assert!(result.is_err()),
        _ => {
            let code = CloseCode(u16::from_be_bytes([data[0], data[1]]));
            let reason = std::str::from_utf8(&data[2..]);
            let sendable = matches!(code.0, 1000..=1003 | 1007..=1014 | 3000..=4999);
            assert_eq!(code.is_sendable(), sendable, "{code}");
            match result {
                Ok(Some(frame)) => {
                    assert!(sendable, "accepted code {code}");
                    assert_eq!(frame.code, code);
                    assert_eq!(Ok(frame.reason.as_str()), reason);
                    assert_eq!(frame.reason.as_bytes().as_ref(), &data[2..]);
                    // A frame that fits a control frame can be sent back as it is.
                    if data.len() <= 125 {
                        assert_eq!(frame.validate(), Ok(()));
                    }
                }
                Ok(None) => panic!("no frame from a {}-byte payload", data.len()),
                Err(_) => assert!(!sendable || reason.is_err(), "rejected a valid payload {data:02x?}"),
            }
        }
    }
});
