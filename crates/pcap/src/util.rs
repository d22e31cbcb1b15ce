//! Bounds-checked little helpers for reading wire formats. Nothing here can panic on input.

/// A cursor over a byte slice; every read is checked and returns `None` past the end.
#[derive(Debug, Clone)]
pub struct Rd<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Rd<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Rd { buf, pos: 0 }
    }
    pub fn at(buf: &'a [u8], pos: usize) -> Self {
        Rd { buf, pos }
    }
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    pub fn skip(&mut self, n: usize) -> Option<()> {
        self.bytes(n).map(|_| ())
    }
    pub fn u8(&mut self) -> Option<u8> {
        self.bytes(1).and_then(|b| b.first().copied())
    }
    pub fn u16(&mut self) -> Option<u16> {
        self.bytes(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    pub fn u32(&mut self) -> Option<u32> {
        self.bytes(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&mut self) -> Option<u64> {
        let lo = self.u32()? as u64;
        let hi = self.u32()? as u64;
        Some(lo | (hi << 32))
    }
    /// Align the position to `n` bytes relative to the start of the buffer.
    pub fn align(&mut self, n: usize) -> Option<()> {
        let rem = self.pos % n;
        if rem != 0 {
            self.skip(n - rem)?;
        }
        Some(())
    }
}

/// Give back the spare room of a reassembly buffer once what it held was consumed: a
/// connection that once carried a large message (an SMB write of a megabyte) must not keep
/// that much memory for the rest of the capture, as every open connection would.
pub fn release_spare(buf: &mut Vec<u8>) {
    const KEEP: usize = 64 << 10;
    if buf.capacity() > KEEP && buf.len() <= buf.capacity() / 4 {
        buf.shrink_to(buf.len().max(KEEP / 4));
    }
}

pub fn le16(b: &[u8], off: usize) -> Option<u16> {
    Rd::at(b, off).u16()
}
pub fn le32(b: &[u8], off: usize) -> Option<u32> {
    Rd::at(b, off).u32()
}
pub fn le64(b: &[u8], off: usize) -> Option<u64> {
    Rd::at(b, off).u64()
}
pub fn be16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}
pub fn be32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// `len` bytes at `off`, or `None`.
pub fn sub(b: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    b.get(off..off.checked_add(len)?)
}

/// UTF-16LE to a String (lossy), trailing NULs removed.
pub fn utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let s = String::from_utf16_lossy(&units);
    s.trim_end_matches('\0').to_string()
}

/// Single-byte text (OEM / ASCII) to a String (lossy), trailing NULs removed.
pub fn ascii(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .trim_end_matches('\0')
        .to_string()
}

/// Position of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A GUID in its textual form from its little-endian wire form (16 bytes).
pub fn guid(b: &[u8]) -> Option<String> {
    let b = b.get(..16)?;
    Some(format!(
        "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_le_bytes([b[4], b[5]]),
        u16::from_le_bytes([b[6], b[7]]),
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    ))
}

/// The 16-byte wire form of a textual GUID (inverse of [`guid`]).
pub fn guid_bytes(s: &str) -> Option<[u8; 16]> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut raw = [0u8; 16];
    for (i, slot) in raw.iter_mut().enumerate() {
        *slot = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    let mut out = raw;
    out[0] = raw[3];
    out[1] = raw[2];
    out[2] = raw[1];
    out[3] = raw[0];
    out[4] = raw[5];
    out[5] = raw[4];
    out[6] = raw[7];
    out[7] = raw[6];
    Some(out)
}

/// Readable UTF-16LE runs of at least `min` characters (for DCOM/WMI stubs whose layout is
/// not decoded in full).
pub fn utf16_strings(b: &[u8], min: usize) -> Vec<String> {
    let mut out = Vec::new();
    for start in 0..2 {
        let mut cur = String::new();
        let mut i = start;
        while let Some(c) = b.get(i..i + 2) {
            let u = u16::from_le_bytes([c[0], c[1]]);
            if (0x20..0x7f).contains(&u) {
                cur.push(u as u8 as char);
            } else {
                if cur.chars().count() >= min {
                    out.push(std::mem::take(&mut cur));
                }
                cur.clear();
            }
            i += 2;
        }
        if cur.chars().count() >= min {
            out.push(cur);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_round_trip() {
        let s = "367abb81-9844-35f1-ad32-98f038001003";
        let b = guid_bytes(s).expect("bytes");
        assert_eq!(guid(&b).as_deref(), Some(s));
        assert_eq!(b[0], 0x81);
    }

    #[test]
    fn reads_are_checked() {
        let mut r = Rd::new(&[1, 2, 3]);
        assert_eq!(r.u16(), Some(0x0201));
        assert_eq!(r.u16(), None);
        assert_eq!(le32(&[1, 2], 0), None);
        assert_eq!(sub(&[1, 2], 1, usize::MAX), None);
    }
}
