//! `Utf8Validator` fed in arbitrary pieces agrees with `std::str::from_utf8`, fails as soon as a
//! piece makes the text impossible (and not before), and is reusable after `finish`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsx_fuzz::{for_each_chunk, split_points, Input};
use wsx_proto::protocol::Utf8Validator;

/// Runs `data` through `v` in pieces; `Err(end)` when a feed failed on the piece ending at `end`.
fn run(v: &mut Utf8Validator, data: &[u8], points: &[usize]) -> Result<bool, usize> {
    let mut failed_at = None;
    let mut end = 0;
    for_each_chunk(data, points, |chunk| {
        if failed_at.is_some() {
            return;
        }
        end += chunk.len();
        match v.feed(chunk) {
            Ok(()) => {
                // Not failed yet: the text so far must still be a prefix of some valid text.
                if let Err(e) = std::str::from_utf8(&data[..end]) {
                    assert!(
                        e.error_len().is_none(),
                        "missed invalid UTF-8 ending at {end}: {data:02x?} cuts {points:?}"
                    );
                }
            }
            Err(_) => failed_at = Some(end),
        }
    });
    match failed_at {
        Some(end) => Err(end),
        None => Ok(v.finish().is_ok()),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let n = (input.byte() % 8) as usize;
    let cuts = input.take(n);
    let text = input.rest();
    let points = split_points(text, cuts);
    let expected = std::str::from_utf8(text);

    let mut v = Utf8Validator::default();
    match run(&mut v, text, &points) {
        Ok(valid) => {
            assert_eq!(valid, expected.is_ok(), "{text:02x?} cuts {points:?}");
            // `finish` resets the validator: a second message gives the same answer.
            assert_eq!(run(&mut v, text, &points), Ok(valid), "validator not reset by finish");
        }
        Err(end) => {
            // Failed early: the bytes up to the end of that piece can never become valid.
            let e = std::str::from_utf8(&text[..end]).expect_err("feed failed on valid UTF-8");
            assert!(e.error_len().is_some(), "failed on an incomplete (not invalid) prefix");
            assert!(expected.is_err());
            v.finish().ok();
        }
    }
});
