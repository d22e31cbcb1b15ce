//! TCP stream reassembly, one [`HalfStream`] per direction of a connection.
//!
//! Survives out-of-order segments, retransmissions, overlapping segments (first copy wins),
//! gaps (bytes never captured) and captures that start mid-stream (the first segment seen
//! fixes the sequence origin). Out-of-order data is buffered up to [`MAX_PENDING`] bytes per
//! direction; past that the missing range is declared a gap and delivery goes on, so memory
//! per flow stays bounded.

use std::collections::BTreeMap;

use crate::emit::FrameRef;

/// Most out-of-order bytes buffered per direction before a gap is declared.
pub const MAX_PENDING: usize = 4 << 20;
/// Sequence jumps larger than this are treated as a new stream (resynchronisation).
const MAX_JUMP: i64 = 64 << 20;

/// What a direction delivers to the application parser, in stream order.
#[derive(Debug)]
pub enum Chunk<'a> {
    Data(&'a [u8], FrameRef),
    /// `n` bytes were never seen (0 = unknown amount, after a resynchronisation).
    Gap(u64, FrameRef),
}

#[derive(Debug, Default)]
pub struct HalfStream {
    next_seq: Option<u32>,
    /// Stream offset of `next_seq`.
    base: u64,
    pending: BTreeMap<u64, (Vec<u8>, FrameRef)>,
    pending_bytes: usize,
    pub bytes: u64,
    pub gap_bytes: u64,
    pub gaps: u64,
    pub retransmitted: u64,
    pub out_of_order: u64,
}

impl HalfStream {
    pub fn syn(&mut self, seq: u32) {
        if self.next_seq.is_none() {
            self.next_seq = Some(seq.wrapping_add(1));
        }
    }

    /// Add one segment; in-order data (and any buffered data it unblocks) goes to `out`.
    pub fn segment(
        &mut self,
        seq: u32,
        data: &[u8],
        frame: FrameRef,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        if data.is_empty() {
            return;
        }
        let next = *self.next_seq.get_or_insert(seq);
        let delta = seq.wrapping_sub(next) as i32 as i64;
        if !(-MAX_JUMP..=MAX_JUMP).contains(&delta) {
            // A different stream (port reuse) or garbage: start over from here.
            self.flush(frame, out);
            self.gaps += 1;
            out(Chunk::Gap(0, frame));
            self.next_seq = Some(seq);
            return self.segment(seq, data, frame, out);
        }
        let len = data.len() as u64;
        if delta < 0 {
            let behind = delta.unsigned_abs();
            if behind >= len {
                self.retransmitted += 1;
                return;
            }
            self.retransmitted += 1;
            let fresh = data.get(behind as usize..).unwrap_or_default();
            return self.segment(next, fresh, frame, out);
        }
        if delta > 0 {
            self.out_of_order += 1;
            let at = self.base + delta as u64;
            let keep = match self.pending.get(&at) {
                Some((old, _)) => old.len() < data.len(),
                None => true,
            };
            if keep {
                if let Some((old, _)) = self.pending.insert(at, (data.to_vec(), frame)) {
                    self.pending_bytes -= old.len();
                }
                self.pending_bytes += data.len();
            }
            while self.pending_bytes > MAX_PENDING {
                if !self.skip_to_first_pending(out) {
                    break;
                }
            }
            return;
        }
        self.deliver(data, frame, out);
        self.drain(out);
    }

    fn deliver(&mut self, data: &[u8], frame: FrameRef, out: &mut dyn FnMut(Chunk<'_>)) {
        self.base += data.len() as u64;
        self.bytes += data.len() as u64;
        self.next_seq = self.next_seq.map(|s| s.wrapping_add(data.len() as u32));
        out(Chunk::Data(data, frame));
    }

    fn drain(&mut self, out: &mut dyn FnMut(Chunk<'_>)) {
        while let Some((&at, _)) = self.pending.first_key_value() {
            if at > self.base {
                break;
            }
            let Some((data, frame)) = self.pending.remove(&at) else {
                break;
            };
            self.pending_bytes -= data.len();
            let skip = (self.base - at) as usize;
            if let Some(fresh) = data.get(skip..) {
                if !fresh.is_empty() {
                    self.deliver(fresh, frame, out);
                }
            }
        }
    }

    /// Declare the bytes before the first buffered segment lost and deliver from there.
    fn skip_to_first_pending(&mut self, out: &mut dyn FnMut(Chunk<'_>)) -> bool {
        let Some((&at, (_, frame))) = self.pending.first_key_value() else {
            return false;
        };
        let frame = *frame;
        let gap = at.saturating_sub(self.base);
        if gap > 0 {
            self.gaps += 1;
            self.gap_bytes += gap;
            out(Chunk::Gap(gap, frame));
            self.base = at;
            self.next_seq = self.next_seq.map(|s| s.wrapping_add(gap as u32));
        }
        self.drain(out);
        true
    }

    /// End of stream: whatever is still buffered is delivered after declaring the gaps.
    pub fn flush(&mut self, _frame: FrameRef, out: &mut dyn FnMut(Chunk<'_>)) {
        while self.skip_to_first_pending(out) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fr(n: u64) -> FrameRef {
        FrameRef {
            number: n,
            ts_us: 0,
            offset: 0,
        }
    }

    fn collect(h: &mut HalfStream, segs: &[(u32, &[u8])]) -> (Vec<u8>, u64) {
        let mut data = Vec::new();
        let mut gaps = 0;
        for (i, (seq, d)) in segs.iter().enumerate() {
            h.segment(*seq, d, fr(i as u64 + 1), &mut |c| match c {
                Chunk::Data(b, _) => data.extend_from_slice(b),
                Chunk::Gap(n, _) => gaps += n,
            });
        }
        h.flush(fr(99), &mut |c| match c {
            Chunk::Data(b, _) => data.extend_from_slice(b),
            Chunk::Gap(n, _) => gaps += n,
        });
        (data, gaps)
    }

    #[test]
    fn out_of_order_retransmission_and_overlap() {
        let mut h = HalfStream::default();
        h.syn(999);
        let (d, gaps) = collect(
            &mut h,
            &[
                (1000, b"abc"),
                (1006, b"ghi"),
                (1003, b"def"),
                (1003, b"def"),    // retransmission
                (1004, b"efghij"), // overlap, new tail
            ],
        );
        assert_eq!(d, b"abcdefghij");
        assert_eq!(gaps, 0);
    }

    #[test]
    fn gaps_are_reported_and_wraparound_works() {
        let mut h = HalfStream::default();
        let start = u32::MAX - 1;
        let (d, gaps) = collect(&mut h, &[(start, b"ab"), (start.wrapping_add(5), b"xyz")]);
        assert_eq!(d, b"abxyz");
        assert_eq!(gaps, 3);
    }
}
