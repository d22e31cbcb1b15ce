//! Capture files: classic pcap (both byte orders, micro- and nanosecond) and pcapng (sections,
//! interfaces with their link types and time resolutions), read with `pcap-parser`.
//!
//! Frames are handed out one by one with their 1-based number (as Wireshark counts them),
//! time and byte offset. A damaged block is reported with its position; pcapng reading goes on
//! at the next block (block lengths allow it), classic pcap stops at the damage (records have
//! no marker to resynchronise on) and says so.

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

/// Walk every frame of `data`; problems go to `issues`. Returns the number of frames.
pub fn frames<'a>(
    data: &'a [u8],
    issues: &mut Vec<CaptureIssue>,
    mut each: impl FnMut(Frame<'a>),
) -> u64 {
    match detect(data) {
        Some(CaptureFormat::Pcap) => legacy(data, issues, &mut each),
        Some(CaptureFormat::PcapNg) => pcapng(data, issues, &mut each),
        None => {
            issues.push(CaptureIssue::at(
                0,
                0,
                "not a pcap or pcapng capture (unknown magic number)",
            ));
            0
        }
    }
}

fn legacy<'a>(
    data: &'a [u8],
    issues: &mut Vec<CaptureIssue>,
    each: &mut impl FnMut(Frame<'a>),
) -> u64 {
    let (mut rest, header) = match parse_pcap_header(data) {
        Ok(v) => v,
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
    while !rest.is_empty() {
        let offset = (data.len() - rest.len()) as u64;
        let parsed = if big {
            parse_pcap_frame_be(rest)
        } else {
            parse_pcap_frame(rest)
        };
        match parsed {
            Ok((next, block)) => {
                n += 1;
                let frac = if nano {
                    block.ts_usec as i64 / 1000
                } else {
                    block.ts_usec as i64
                };
                let ts_us = (block.ts_sec as i64)
                    .saturating_mul(1_000_000)
                    .saturating_add(frac);
                each(Frame {
                    number: n,
                    ts_us,
                    offset,
                    linktype,
                    data: block.data,
                    orig_len: block.origlen,
                });
                rest = next;
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
                    format!("{what}; {} bytes not read", rest.len()),
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

fn pcapng<'a>(
    data: &'a [u8],
    issues: &mut Vec<CaptureIssue>,
    each: &mut impl FnMut(Frame<'a>),
) -> u64 {
    let mut pos = 0usize;
    let mut big = false;
    let mut ifaces: Vec<Iface> = Vec::new();
    let mut n = 0u64;
    while pos < data.len() {
        let Some(head) = crate::util::sub(data, pos, 12) else {
            issues.push(CaptureIssue::at(
                n + 1,
                pos as u64,
                format!(
                    "capture truncated: {} trailing bytes are no block",
                    data.len() - pos
                ),
            ));
            break;
        };
        let block_type = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        if block_type == 0x0a0d_0d0a {
            // Section header: its byte-order magic decides the endianness of the section.
            big = head[8..12] == [0x1a, 0x2b, 0x3c, 0x4d];
            ifaces.clear();
        }
        let raw_len = [head[4], head[5], head[6], head[7]];
        let len = if big {
            u32::from_be_bytes(raw_len)
        } else {
            u32::from_le_bytes(raw_len)
        } as usize;
        if len < 12 || !len.is_multiple_of(4) {
            issues.push(CaptureIssue::at(
                n + 1,
                pos as u64,
                format!("bad pcapng block length {len}; the rest of the file is not read"),
            ));
            break;
        }
        let Some(block_bytes) = crate::util::sub(data, pos, len) else {
            issues.push(CaptureIssue::at(
                n + 1,
                pos as u64,
                format!(
                    "capture truncated: block of {len} bytes but {} left",
                    data.len() - pos
                ),
            ));
            break;
        };
        let parsed = if big {
            parse_block_be(block_bytes)
        } else {
            parse_block_le(block_bytes)
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
                            each(Frame {
                                number: n,
                                ts_us: us.saturating_add(iface.offset_s.saturating_mul(1_000_000)),
                                offset: pos as u64,
                                linktype: iface.linktype,
                                data: {
                                    let d: &'a [u8] = epb.data;
                                    d.get(..epb.caplen as usize).unwrap_or(d)
                                },
                                orig_len: epb.origlen,
                            });
                        }
                        None => issues.push(CaptureIssue::at(
                            n,
                            pos as u64,
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
                        Some(iface) => each(Frame {
                            number: n,
                            ts_us: 0,
                            offset: pos as u64,
                            linktype: iface.linktype,
                            data: {
                                let d: &'a [u8] = spb.data;
                                d.get(..spb.origlen as usize).unwrap_or(d)
                            },
                            orig_len: spb.origlen,
                        }),
                        None => issues.push(CaptureIssue::at(
                            n,
                            pos as u64,
                            "simple packet block before any interface description",
                        )),
                    }
                }
                _ => {}
            },
            Err(e) => {
                issues.push(CaptureIssue::at(
                    n + 1,
                    pos as u64,
                    format!("bad pcapng block (type {block_type:#x}): {e:?}; skipped"),
                ));
            }
        }
        pos += len;
    }
    n
}
