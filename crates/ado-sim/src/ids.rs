//! Deterministic randomness for the simulator: every id, name and choice comes from one seeded
//! generator, so the same seed produces the same organization and the same activity.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// The simulator's seeded random source (a thin wrapper so only this file knows the `rand` API).
#[derive(Debug)]
pub struct SimRng(StdRng);

impl SimRng {
    pub fn new(seed: u64) -> Self {
        Self(StdRng::seed_from_u64(seed))
    }

    /// A derived generator for an independent stream (e.g. one per subscription), so consuming one
    /// stream does not shift another.
    pub fn derive(seed: u64, stream: &str) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in stream.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Self::new(seed ^ h)
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            self.0.random_range(lo..=hi)
        }
    }

    /// Uniform index below `n` (0 when `n` is 0).
    pub fn index(&mut self, n: usize) -> usize {
        if n <= 1 { 0 } else { self.0.random_range(0..n) }
    }

    /// True with probability `p` (clamped to 0..=1).
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            self.0.random_bool(p)
        }
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// Index chosen with the given non-negative weights (the first index when all are zero).
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        if total == 0 {
            return 0;
        }
        let mut roll = self.between(0, total - 1);
        for (i, w) in weights.iter().enumerate() {
            let w = u64::from(*w);
            if roll < w {
                return i;
            }
            roll -= w;
        }
        weights.len() - 1
    }

    /// A lowercase GUID string (random version-4 layout).
    pub fn guid(&mut self) -> String {
        let mut b: [u8; 16] = self.0.random();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode(b);
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// A 40-hex-digit git object id.
    pub fn sha(&mut self) -> String {
        let b: [u8; 20] = self.0.random();
        hex::encode(b)
    }

    /// A short base64-ish token such as an identity descriptor suffix.
    pub fn token(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| ALPHABET[self.index(ALPHABET.len())] as char)
            .collect()
    }
}

/// The all-zero object id git uses for "no object" (branch creation / deletion).
pub const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

/// The all-zero GUID (implicit default stage/job ids, test notifications).
pub const ZERO_GUID: &str = "00000000-0000-0000-0000-000000000000";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_well_formed_ids() {
        let (mut a, mut b) = (SimRng::new(7), SimRng::new(7));
        assert_eq!(a.guid(), b.guid());
        assert_eq!(a.sha(), b.sha());
        let g = SimRng::new(1).guid();
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "4");
        assert_eq!(SimRng::new(1).sha().len(), 40);
        assert_ne!(SimRng::derive(1, "a").guid(), SimRng::derive(1, "b").guid());
        assert_eq!(SimRng::new(3).weighted(&[0, 0, 5]), 2);
    }
}
