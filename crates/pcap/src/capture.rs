//! Capture files: classic pcap (both byte orders, micro- and nanosecond) and pcapng (sections,
//! interfaces with their link types and time resolutions), read with `pcap-parser`.
//!
//! Frames are handed out one by one with their 1-based number (as Wireshark counts them),
//! time and byte offset. The file is streamed: one record (pcap) or block (pcapng) at a time
//! in one reused buffer, so memory is bounded by the largest record, never by the file.
//! A damaged block is reported with its position; pcapng reading goes on at the next block
//! (block lengths allow it), classic pcap stops at the damage (records have no marker to
//! resynchronise on) and says so.

use std::io::Read;

use pcap_parser::pcap::{parse_pcap_frame, parse_pcap_frame_be, parse_pcap_header};
use pcap_parser::pcapng::{parse_block_be, parse_block_le, Block};

use crate::error::CaptureIssue;

/// Which container a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    Pcap,
    PcapNg,
}

/// The container format from the first bytes, or `None` when it is no capture.
pub fn detect(head: &[u8]) -> Option<CaptureFormat> {
    let m = head.get(..4)?;
    match m {
        [0xd4, 0xc3, 0xb2, 0xa1]
        | [0xa1, 0xb2, 0xc3, 0xd4]
        | [0x4d, 0x3c, 0xb2, 0xa1]
        | [0xa1, 0xb2, 0x3c, 0x4d] => Some(CaptureFormat::Pcap),
        [0x0a, 0x0d, 0x0d, 0x0a] => Some(CaptureFormat::PcapNg),
        _ => None,
    }
}

/// One captured frame.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// 1-based frame number, as Wireshark counts.
    pub number: u64,
    /// Microseconds since the Unix epoch, UTC.
    pub ts_us: i64,
    /// Byte offset of the record (pcap record header / pcapng block) in the file.
    pub offset: u64,
    /// Link type (LINKTYPE_* value).
    pub linktype: i32,
    pub data: &'a [u8],
    /// Length of the packet on the wire (more than `data.len()` when cut by the snap length).
    pub orig_len: u32,
}

/// Largest record or block read: far above any snap length (256 KiB by default), so only a
/// corrupt length field reaches it; such a length ends reading with an issue instead of an
/// allocation of up to 4 GiB.
pub const MAX_RECORD: usize = 64 << 20;

/// Reads exact byte counts from the capture, tracking the offset and turning I/O errors into
/// issues.
struct Input<R> {
    inner: R,
    offset: u64,
    failed: Option<std::io::Error>,
}

impl<R: Read> Input<R> {
    /// Append up to `n` bytes to `buf`; returns how many were read (fewer at the end of the
    /// file, or after a read error, which is kept for the caller).
    fn take(&mut self, buf: &mut Vec<u8>, n: usize) -> usize {
        match (&mut self.inner).take(n as u64).read_to_end(buf) {
            Ok(got) => {
                self.offset += got as u64;
                got
            }
            Err(e) => {
                self.failed = Some(e);
                0
            }
        }
    }

    /// Count what is left (for "N bytes not read" messages), reading it through a small buffer.
    fn rest(&mut self) -> u64 {
        std::io::copy(&mut self.inner, &mut std::io::sink()).unwrap_or(0)
    }
}

/// Walk every frame of a capture read from `input`; problems go to `issues`. `each` returns
/// whether to go on (false stops reading after that frame). Returns the number of frames.
pub fn frames<R: Read>(
    input: R,
    issues: &mut Vec<CaptureIssue>,
    mut each: impl FnMut(Frame<'_>) -> bool,
) -> u64 {
    let mut input = Input {
        inner: input,
        offset: 0,
        failed: None,
    };
    let mut head = Vec::with_capacity(24);
    input.take(&mut head, 4);
    let n = match detect(&head) {
        Some(CaptureFormat::Pcap) => legacy(&mut input, head, issues, &mut each),
        Some(CaptureFormat::PcapNg) => pcapng(&mut input, head, issues, &mut each),
        None => {
            issues.push(CaptureIssue::at(
                0,
                0,
                "not a pcap or pcapng capture (unknown magic number)",
            ));
            0
        }
    };
    if let Some(e) = input.failed.take() {
        issues.push(CaptureIssue::at(
            n + 1,
            input.offset,
            format!("read error: {e}; the rest of the file is not read"),
        ));
    }
    n
}

fn legacy<R: Read>(
    input: &mut Input<R>,
    mut buf: Vec<u8>,
    issues: &mut Vec<CaptureIssue>,
    each: &mut impl FnMut(Frame<'_>) -> bool,
) -> u64 {
    input.take(&mut buf, 20);
    let header = match parse_pcap_header(&buf) {
        Ok((_, h)) => h,
        Err(e) => {
            issues.push(CaptureIssue::at(
                0,
                0,
                format!("bad pcap file header: {e:?}"),
            ));
            return 0;
        }
    };
    let big = header.is_bigendian();
    let nano = header.is_nanosecond_precision();
    let linktype = header.network.0;
    let mut n = 0u64;
    loop {
        let offset = input.offset;
        buf.clear();
        let got = input.take(&mut buf, 16);
        if got == 0 || input.failed.is_some() {
            break;
        }
        let incl = if got == 16 {
            let b = [buf[8], buf[9], buf[10], buf[11]];
            (if big {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }) as usize
        } else {
            0
        };
        if incl > MAX_RECORD {
            issues.push(CaptureIssue::at(
                n + 1,
                offset,
                format!(
                    "bad pcap record: captured length {incl} is over {MAX_RECORD} bytes; {} bytes not read",
                    16 + input.rest()
                ),
            ));
            break;
        }
        if got == 16 {
            input.take(&mut buf, incl);
        }
        if input.failed.is_some() {
            break;
        }
        let parsed = if big {
            parse_pcap_frame_be(&buf)
        } else {
            parse_pcap_frame(&buf)
        };
        match parsed {
            Ok((_, block)) => {
                n += 1;
                let frac = if nano {
                    block.ts_usec as i64 / 1000
                } else {
                    block.ts_usec as i64
                };
                let ts_us = (block.ts_sec as i64)
                    .saturating_mul(1_000_000)
                    .saturating_add(frac);
                let go_on = each(Frame {
                    number: n,
                    ts_us,
                    offset,
                    linktype,
                    data: block.data,
                    orig_len: block.origlen,
                });
                if !go_on {
                    break;
                }
            }
            Err(e) => {
                let what = match e {
                    pcap_parser::nom::Err::Incomplete(_) => {
                        "capture truncated: the last record is incomplete".to_string()
                    }
                    other => format!("bad pcap record: {other:?}"),
                };
                issues.push(CaptureIssue::at(
                    n + 1,
                    offset,
                    format!("{what}; {} bytes not read", buf.len() as u64 + input.rest()),
                ));
                break;
            }
        }
    }
    n
}

#[derive(Debug, Clone, Copy)]
struct Iface {
    linktype: i32,
    /// Units per second.
    resolution: u64,
    offset_s: i64,
}

fn pcapng<R: Read>(
    input: &mut Input<R>,
    mut buf: Vec<u8>,
    issues: &mut Vec<CaptureIssue>,
    each: &mut impl FnMut(Frame<'_>) -> bool,
) -> u64 {
    let mut big = false;
    let mut ifaces: Vec<Iface> = Vec::new();
    let mut n = 0u64;
    // `buf` holds the first 4 bytes of the first block already.
    let mut pos = 0u64;
    let mut go_on = true;
    loop {
        let have = buf.len();
        input.take(&mut buf, 12 - have);
        if buf.is_empty() || input.failed.is_some() {
            break;
        }
        if buf.len() < 12 {
            issues.push(CaptureIssue::at(
                n + 1,
                pos,
                format!(
                    "capture truncated: {} trailing bytes are no block",
                    buf.len()
                ),
            ));
            break;
        }
        let block_type = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
        if block_type == 0x0a0d_0d0a {
            // Section header: its byte-order magic decides the endianness of the section.
            big = buf[8..12] == [0x1a, 0x2b, 0x3c, 0x4d];
            ifaces.clear();
        }
        let raw_len = [buf[4], buf[5], buf[6], buf[7]];
        let len = if big {
            u32::from_be_bytes(raw_len)
        } else {
            u32::from_le_bytes(raw_len)
        } as usize;
        if len < 12 || !len.is_multiple_of(4) || len > MAX_RECORD {
            issues.push(CaptureIssue::at(
                n + 1,
                pos,
                format!("bad pcapng block length {len}; the rest of the file is not read"),
            ));
            break;
        }
        let got = input.take(&mut buf, len - 12);
        if input.failed.is_some() {
            break;
        }
        if got < len - 12 {
            issues.push(CaptureIssue::at(
                n + 1,
                pos,
                format!(
                    "capture truncated: block of {len} bytes but {} left",
                    buf.len()
                ),
            ));
            break;
        }
        let parsed = if big {
            parse_block_be(&buf)
        } else {
            parse_block_le(&buf)
        };
        match parsed {
            Ok((_, block)) => match block {
                Block::SectionHeader(_) => {}
                Block::InterfaceDescription(idb) => ifaces.push(Iface {
                    linktype: idb.linktype.0,
                    resolution: idb.ts_resolution().unwrap_or(1_000_000),
                    offset_s: idb.ts_offset(),
                }),
                Block::EnhancedPacket(epb) => {
                    n += 1;
                    match ifaces.get(epb.if_id as usize) {
                        Some(iface) => {
                            let ticks = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
                            let us = (ticks as u128 * 1_000_000 / iface.resolution.max(1) as u128)
                                .min(i64::MAX as u128) as i64;
                            go_on = each(Frame {
                                number: n,
                                ts_us: us.saturating_add(iface.offset_s.saturating_mul(1_000_000)),
                                offset: pos,
                                linktype: iface.linktype,
                                data: epb.data.get(..epb.caplen as usize).unwrap_or(epb.data),
                                orig_len: epb.origlen,
                            });
                        }
                        None => issues.push(CaptureIssue::at(
                            n,
                            pos,
                            format!(
                                "packet names interface {} which was never described",
                                epb.if_id
                            ),
                        )),
                    }
                }
                Block::SimplePacket(spb) => {
                    n += 1;
                    match ifaces.first() {
                        Some(iface) => {
                            go_on = each(Frame {
                                number: n,
                                ts_us: 0,
                                offset: pos,
                                linktype: iface.linktype,
                                data: spb.data.get(..spb.origlen as usize).unwrap_or(spb.data),
                                orig_len: spb.origlen,
                            })
                        }
                        None => issues.push(CaptureIssue::at(
                            n,
                            pos,
                            "simple packet block before any interface description",
                        )),
                    }
                }
                _ => {}
            },
            Err(e) => {
                issues.push(CaptureIssue::at(
                    n + 1,
                    pos,
                    format!("bad pcapng block (type {block_type:#x}): {e:?}; skipped"),
                ));
            }
        }
        pos += len as u64;
        buf.clear();
        if !go_on {
            break;
        }
    }
    n
}
