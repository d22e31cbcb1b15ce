//! Link and network layers: Ethernet (with 802.1Q), Linux cooked capture (SLL and SLL2), BSD
//! loopback and raw IP; IPv4 and IPv6; TCP and UDP. Parsing is lax (packets cut by the snap
//! length keep what was captured) and done by `etherparse`.

use std::net::IpAddr;

use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TransportSlice};

/// A transport segment extracted from a frame.
#[derive(Debug, Clone)]
pub struct Segment<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub tcp: Option<TcpInfo>,
    pub payload: &'a [u8],
    /// The payload was cut (snap length or truncated capture).
    pub truncated: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct TcpInfo {
    pub seq: u32,
    pub syn: bool,
    pub ack_flag: bool,
    pub fin: bool,
    pub rst: bool,
}

/// Why a frame carries no segment we read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Not IP, or IP but neither TCP nor UDP (ARP, ICMP, ...): normal traffic, not an error.
    NotTcpUdp,
    /// An IP fragment (reassembly of IP fragments is not done).
    IpFragment,
    /// Damaged or unsupported: a reason to report.
    Bad(String),
}

pub fn segment(linktype: i32, data: &[u8]) -> Result<Segment<'_>, Skip> {
    let sliced = match linktype {
        // LINKTYPE_ETHERNET
        1 => {
            LaxSlicedPacket::from_ethernet(data).map_err(|e| Skip::Bad(format!("ethernet: {e}")))?
        }
        // LINKTYPE_RAW, DLT_RAW variants, IPV4, IPV6
        101 | 12 | 14 | 228 | 229 => {
            LaxSlicedPacket::from_ip(data).map_err(|e| Skip::Bad(format!("ip: {e}")))?
        }
        // LINKTYPE_LINUX_SLL: 16-byte header, protocol type at 14.
        113 => {
            let proto =
                crate::util::be16(data, 14).ok_or_else(|| Skip::Bad("SLL header cut".into()))?;
            LaxSlicedPacket::from_ether_type(EtherType(proto), data.get(16..).unwrap_or_default())
        }
        // LINKTYPE_LINUX_SLL2: 20-byte header, protocol type first.
        276 => {
            let proto =
                crate::util::be16(data, 0).ok_or_else(|| Skip::Bad("SLL2 header cut".into()))?;
            LaxSlicedPacket::from_ether_type(EtherType(proto), data.get(20..).unwrap_or_default())
        }
        // LINKTYPE_NULL / LOOP: 4-byte address family.
        0 | 108 => LaxSlicedPacket::from_ip(data.get(4..).unwrap_or_default())
            .map_err(|e| Skip::Bad(format!("loopback ip: {e}")))?,
        other => return Err(Skip::Bad(format!("unsupported link type {other}"))),
    };
    let (src, dst, payload) = match &sliced.net {
        Some(LaxNetSlice::Ipv4(v4)) => (
            IpAddr::V4(v4.header().source_addr()),
            IpAddr::V4(v4.header().destination_addr()),
            v4.payload(),
        ),
        Some(LaxNetSlice::Ipv6(v6)) => (
            IpAddr::V6(v6.header().source_addr()),
            IpAddr::V6(v6.header().destination_addr()),
            v6.payload(),
        ),
        _ => return Err(Skip::NotTcpUdp),
    };
    if payload.fragmented {
        return Err(Skip::IpFragment);
    }
    let truncated = payload.incomplete;
    match &sliced.transport {
        Some(TransportSlice::Tcp(t)) => Ok(Segment {
            src,
            dst,
            sport: t.source_port(),
            dport: t.destination_port(),
            tcp: Some(TcpInfo {
                seq: t.sequence_number(),
                syn: t.syn(),
                ack_flag: t.ack(),
                fin: t.fin(),
                rst: t.rst(),
            }),
            payload: t.payload(),
            truncated,
        }),
        Some(TransportSlice::Udp(u)) => Ok(Segment {
            src,
            dst,
            sport: u.source_port(),
            dport: u.destination_port(),
            tcp: None,
            payload: u.payload(),
            truncated,
        }),
        _ => {
            let n = payload.ip_number.0;
            if n == 6 || n == 17 {
                let why = sliced
                    .stop_err
                    .as_ref()
                    .map(|(e, _)| e.to_string())
                    .unwrap_or_else(|| "header cut".into());
                Err(Skip::Bad(format!(
                    "{} header unreadable: {why}",
                    if n == 6 { "TCP" } else { "UDP" }
                )))
            } else {
                Err(Skip::NotTcpUdp)
            }
        }
    }
}
