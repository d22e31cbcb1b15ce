//! The coverage key of what a reader produced: which host logged it, on which channel, with
//! which event id. One definition, used by the engine's scan (counting records as it reads)
//! and by the store's ingest (counting records as it writes them), so both describe the same
//! evidence the same way.

use lateral_model::{f, UdmEvent};

use crate::record::WinRecord;

/// (logging host, canonical channel, event id); empty strings and -1 when unknown.
pub type CoverageKey = (String, String, i64);

/// The key of a Windows record: its computer, canonical channel and event id.
pub fn record_key(rec: &WinRecord) -> CoverageKey {
    (
        rec.computer.clone().unwrap_or_default(),
        rec.canonical_channel().unwrap_or_default(),
        rec.event_id.map(i64::from).unwrap_or(-1),
    )
}

/// The key of a ready-made UDM event. A packet capture is no host's log: its events count
/// under no host (the principal of a captured event is a client's claimed workstation name).
pub fn event_key(ev: &UdmEvent) -> CoverageKey {
    let capture = ev.str(f::LOG_TYPE) == Some("PCAP");
    let host = if capture {
        ""
    } else {
        ev.str(f::OBSERVER_HOSTNAME)
            .or_else(|| ev.str(f::PRINCIPAL_HOSTNAME))
            .unwrap_or_default()
    };
    let channel = ev
        .str(f::CHANNEL)
        .or_else(|| ev.str(f::LOG_TYPE))
        .unwrap_or_default();
    let id = ev.int(f::EVENT_ID).unwrap_or(-1);
    (host.to_string(), channel.to_string(), id)
}
