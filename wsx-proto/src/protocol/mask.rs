//! Client-to-server payload masking (RFC 6455 section 5.3).
//!
//! Every frame a client sends is XORed with a 4-byte key. The key must be unpredictable,
//! so keys come from a cryptographic generator seeded by the operating system, drawn in
//! batches to keep it off the per-frame path.

/// How many random bytes one refill draws (1024 mask keys; the pool is per thread, not per
/// connection).
const RANDOM_BATCH: usize = 4096;

/// Width of the block the masking loop works on; LLVM turns the fixed-size inner loop into
/// vector XORs, which is what lets masking run at close to `memcpy` speed.
const MASK_BLOCK: usize = 64;

/// XORs `payload` in place with the repeating 4-byte `key`. Masking twice is the identity.
///
/// `key` applies from the first byte of `payload`; to mask a payload in pieces, rotate the key
/// with [`rotate_mask_key`] by the number of bytes already masked.
pub fn apply_mask(payload: &mut [u8], key: [u8; 4]) {
    if payload.len() < MASK_BLOCK {
        // Small payloads: building the block key would cost more than the masking itself.
        let word = u32::from_ne_bytes(key);
        let mut words = payload.chunks_exact_mut(4);
        for chunk in &mut words {
            let masked = u32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) ^ word;
            chunk.copy_from_slice(&masked.to_ne_bytes());
        }
        for (byte, k) in words.into_remainder().iter_mut().zip(key) {
            *byte ^= k;
        }
        return;
    }
    mask_blocks(payload, key);
}

/// [`apply_mask`] for payloads of a block or more, compiled for wider vectors too and
/// dispatched once per call by what the CPU has: with AVX2 a 1 KiB payload takes half the
/// time of SSE2's 16-byte XORs, the baseline every x86-64 CPU has.
#[multiversion::multiversion(targets("x86_64+avx2", "x86_64+avx"))]
fn mask_blocks(payload: &mut [u8], key: [u8; 4]) {
    let block_key = block_key(key);
    let mut blocks = payload.chunks_exact_mut(MASK_BLOCK);
    for block in &mut blocks {
        for (byte, k) in block.iter_mut().zip(block_key.iter()) {
            *byte ^= k;
        }
    }
    // The tail is shorter than a block; the key still starts in phase because MASK_BLOCK % 4 == 0.
    for (byte, k) in blocks.into_remainder().iter_mut().zip(block_key.iter()) {
        *byte ^= k;
    }
}

/// Payloads at least this large are masked as they are copied; smaller ones are copied and
/// then masked in place, which is faster while the copy is still in the CPU's cache.
const MASK_AS_COPIED: usize = 16 * 1024;

/// Appends `payload` masked with `key` to `out`. A large payload is copied and masked in one
/// pass over memory, a piece at a time through a buffer on the stack, so the copy is never
/// read back from memory to be masked.
#[inline]
pub(crate) fn extend_masked(out: &mut bytes::BytesMut, payload: &[u8], key: [u8; 4]) {
    if payload.len() < MASK_AS_COPIED {
        let start = out.len();
        out.extend_from_slice(payload);
        apply_mask(&mut out[start..], key);
    } else {
        extend_masked_in_pieces(out, payload, key);
    }
}

fn extend_masked_in_pieces(out: &mut bytes::BytesMut, payload: &[u8], key: [u8; 4]) {
    /// A multiple of the key's length, so every piece starts in phase.
    const PIECE: usize = 4096;
    let mut piece = [0u8; PIECE];
    for source in payload.chunks(PIECE) {
        let masked = &mut piece[..source.len()];
        mask_copy(masked, source, key);
        out.extend_from_slice(masked);
    }
}

/// `dst = src ^ key`, for slices of the same length; vectorized like [`mask_blocks`].
#[multiversion::multiversion(targets("x86_64+avx2", "x86_64+avx"))]
fn mask_copy(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    let block_key = block_key(key);
    let mut dst_blocks = dst.chunks_exact_mut(MASK_BLOCK);
    let mut src_blocks = src.chunks_exact(MASK_BLOCK);
    for (d, s) in (&mut dst_blocks).zip(&mut src_blocks) {
        for ((d, s), k) in d.iter_mut().zip(s).zip(block_key.iter()) {
            *d = s ^ k;
        }
    }
    let tail = dst_blocks.into_remainder().iter_mut().zip(src_blocks.remainder());
    for ((d, s), k) in tail.zip(block_key.iter()) {
        *d = s ^ k;
    }
}

/// `key` repeated over a block.
#[inline(always)]
fn block_key(key: [u8; 4]) -> [u8; MASK_BLOCK] {
    std::array::from_fn(|i| key[i % 4])
}

/// Returns the key that continues masking `offset` bytes into a payload.
pub fn rotate_mask_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    let mut rotated = key;
    rotated.rotate_left(offset % 4);
    rotated
}

thread_local! {
    /// One pool per thread, shared by every connection driven on it: no per-connection
    /// buffer, and one refill per 1024 keys whatever the number of connections.
    static RANDOM: std::cell::RefCell<RandomSource> = const { std::cell::RefCell::new(RandomSource::new()) };
}

/// A fresh, unpredictable masking key.
#[inline]
pub fn random_mask_key() -> [u8; 4] {
    RANDOM.with(|r| r.borrow_mut().mask_key())
}

/// Fills `out` with random bytes (handshake nonces).
pub(crate) fn random_fill(out: &mut [u8]) {
    RANDOM.with(|r| r.borrow_mut().fill(out))
}

/// A source of fresh, unpredictable masking keys and handshake nonces.
#[derive(Debug)]
pub(crate) struct RandomSource {
    pool: [u8; RANDOM_BATCH],
    used: usize,
}

impl RandomSource {
    pub(crate) const fn new() -> Self {
        Self {
            pool: [0; RANDOM_BATCH],
            used: RANDOM_BATCH,
        }
    }

    /// Fills `out` with random bytes.
    pub(crate) fn fill(&mut self, out: &mut [u8]) {
        for byte in out.iter_mut() {
            if self.used == RANDOM_BATCH {
                self.refill();
            }
            *byte = self.pool[self.used];
            self.used += 1;
        }
    }

    pub(crate) fn mask_key(&mut self) -> [u8; 4] {
        if self.used + 4 > RANDOM_BATCH {
            self.refill();
        }
        let mut key = [0; 4];
        key.copy_from_slice(&self.pool[self.used..self.used + 4]);
        self.used += 4;
        key
    }

    fn refill(&mut self) {
        // rand's thread generator: ChaCha12 seeded from the operating system, reseeded every
        // 64 KiB and after a fork, so keys stay unpredictable (RFC 6455 10.3) without a
        // system call per pool.
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut self.pool);
        self.used = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn byte_loop_mask(payload: &mut [u8], key: [u8; 4]) {
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= key[i % 4];
        }
    }

    #[test]
    fn rfc_example_masked_hello() {
        // RFC 6455 section 5.7: "Hello" masked with 37 fa 21 3d.
        let mut payload = *b"Hello";
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    #[test]
    fn random_keys_differ() {
        let mut rng = RandomSource::new();
        let keys: Vec<[u8; 4]> = (0..200).map(|_| rng.mask_key()).collect();
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert!(distinct.len() > 190, "keys repeat too often: {}", distinct.len());
    }

    proptest! {
        #[test]
        fn masking_twice_is_identity(data in proptest::collection::vec(any::<u8>(), 0..600), key in any::<[u8; 4]>()) {
            let mut masked = data.clone();
            apply_mask(&mut masked, key);
            apply_mask(&mut masked, key);
            prop_assert_eq!(masked, data);
        }

        #[test]
        fn matches_byte_loop(data in proptest::collection::vec(any::<u8>(), 0..600), key in any::<[u8; 4]>()) {
            let mut fast = data.clone();
            let mut slow = data;
            apply_mask(&mut fast, key);
            byte_loop_mask(&mut slow, key);
            prop_assert_eq!(fast, slow);
        }

        #[test]
        fn masked_as_copied_matches_byte_loop(
            data in proptest::collection::vec(any::<u8>(), 0..20_000),
            prefix in 0usize..8,
            key in any::<[u8; 4]>(),
        ) {
            // Appended after what the buffer holds, across several of its pieces and a tail.
            let mut out = bytes::BytesMut::from(&[7u8; 8][..prefix]);
            extend_masked(&mut out, &data, key);
            let mut slow = data;
            byte_loop_mask(&mut slow, key);
            prop_assert_eq!(&out[..prefix], &[7u8; 8][..prefix]);
            prop_assert_eq!(&out[prefix..], &slow[..]);
        }

        #[test]
        fn masking_in_pieces_matches_whole(data in proptest::collection::vec(any::<u8>(), 0..300), split in 0usize..300, key in any::<[u8; 4]>()) {
            let split = split.min(data.len());
            let mut whole = data.clone();
            apply_mask(&mut whole, key);
            let mut pieces = data;
            let (head, tail) = pieces.split_at_mut(split);
            apply_mask(head, key);
            apply_mask(tail, rotate_mask_key(key, split));
            prop_assert_eq!(pieces, whole);
        }
    }
}
