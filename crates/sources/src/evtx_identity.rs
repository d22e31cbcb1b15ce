//! A record's identity (provider, channel, event id, computer, time) read from its template
//! substitution values, without rendering the record.
//!
//! An EVTX record is almost always one template instance: a template definition (the event's
//! XML shape, stored once per chunk) plus an array of substitution values. Which value fills
//! `System/EventID`, `System/Channel`, `System/Provider/@Name`, `System/Computer` and
//! `System/TimeCreated/@SystemTime` is written in the template definition itself. This module
//! reads that definition's BinXML once per template (cached per thread), then answers each
//! record from its values alone. Rendering a record to JSON is the whole cost of reading
//! EVTX; a record whose identity rules it out (the engine's pre-filter) is never rendered.
//!
//! Whenever anything is not as expected (several template instances, a nested fragment, a
//! value of an unexpected type, a token this walker does not know), the answer is `None` and
//! the caller renders the record as before: this module can make reading faster, never lose a
//! record. `tests/evtx_identity_agrees.rs` checks it against the rendered JSON on every shared
//! sample record.
//!
//! The BinXML layout followed here is the one documented for the EVTX format (template
//! definition header: next offset, GUID, data size; element start tokens with a dependency id
//! inside template definitions; names stored once per chunk and referenced by offset).

use std::cell::RefCell;
use std::collections::HashMap;

use evtx::binxml::value_variant::BinXmlValue;
use evtx::EvtxRecord;

use crate::record::WinRecord;

/// Where a template puts one identity field.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    Absent,
    Literal(String),
    Subst(u16),
}

/// Where a template puts each identity field.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TemplateMap {
    provider_name: Slot,
    provider_source: Slot,
    event_id: Slot,
    channel: Slot,
    computer: Slot,
    time: Slot,
}

const TEMPLATE_HEADER: usize = 24;
/// Cached templates per thread before the cache is emptied (bounds memory on odd files).
const CACHE_LIMIT: usize = 4096;

/// Cache key: definition offset, data size and GUID; the body bytes are compared on a hit so
/// two different templates can never share an entry.
type Key = (u32, u32, [u8; 16]);
/// Templates under one key: their body bytes and what was learnt from them.
type Entries = Vec<(Vec<u8>, Option<TemplateMap>)>;

thread_local! {
    static CACHE: RefCell<HashMap<Key, Entries>> =
        RefCell::new(HashMap::new());
}

/// The record's identity from its substitution values, or `None` when it cannot be read that
/// way (then render the record).
pub fn identity(record: &EvtxRecord<'_>) -> Option<WinRecord> {
    let instances = record.template_instances().ok()?;
    let [instance] = instances.as_slice() else {
        return None;
    };
    let data = record.chunk.data;
    let map = template_map(data, instance.template_def_offset)?;
    let values = &instance.values;
    let mut rec = WinRecord {
        provider: text(&map.provider_name, values)?
            .filter(|s| !s.is_empty())
            .or(text(&map.provider_source, values)?),
        channel: text(&map.channel, values)?,
        computer: text(&map.computer, values)?,
        event_id: number(&map.event_id, values)?,
        time_micros: time(&map.time, values)?,
        record_id: Some(record.event_record_id),
        ..WinRecord::default()
    };
    rec.channel = rec.channel.filter(|s| !s.is_empty());
    rec.computer = rec.computer.filter(|s| !s.is_empty());
    Some(rec)
}

/// `Some(value)` (possibly `None` = absent) when the slot can be read; `None` to give up.
fn text(slot: &Slot, values: &[BinXmlValue<'_>]) -> Option<Option<String>> {
    match slot {
        Slot::Absent => Some(None),
        Slot::Literal(s) => Some(Some(s.clone())),
        Slot::Subst(i) => match values.get(usize::from(*i))? {
            BinXmlValue::NullType => Some(None),
            BinXmlValue::StringType(s) => s.to_string().ok().map(Some),
            BinXmlValue::AnsiStringType(s) => Some(Some((*s).to_string())),
            _ => None,
        },
    }
}

fn number(slot: &Slot, values: &[BinXmlValue<'_>]) -> Option<Option<u32>> {
    match slot {
        Slot::Absent => Some(None),
        Slot::Literal(s) => s.trim().parse().ok().map(Some),
        Slot::Subst(i) => match values.get(usize::from(*i))? {
            BinXmlValue::NullType => Some(None),
            BinXmlValue::UInt16Type(v) => Some(Some(u32::from(*v))),
            BinXmlValue::UInt8Type(v) => Some(Some(u32::from(*v))),
            BinXmlValue::UInt32Type(v) => Some(Some(*v)),
            _ => None,
        },
    }
}

fn time(slot: &Slot, values: &[BinXmlValue<'_>]) -> Option<Option<i64>> {
    const WINDOWS_TO_UNIX_MICROS: i64 = 11_644_473_600_000_000;
    match slot {
        Slot::Absent => Some(None),
        Slot::Literal(_) => None,
        Slot::Subst(i) => match values.get(usize::from(*i))? {
            BinXmlValue::NullType => Some(None),
            BinXmlValue::FileTimeType(ft) => {
                let micros = i64::try_from(ft.0 / 10).ok()?;
                Some(Some(micros.checked_sub(WINDOWS_TO_UNIX_MICROS)?))
            }
            _ => None,
        },
    }
}

/// The identity map of the template defined at `offset` in the chunk, cached per thread.
fn template_map(data: &[u8], offset: u32) -> Option<TemplateMap> {
    let start = offset as usize;
    let header = data.get(start..start.checked_add(TEMPLATE_HEADER)?)?;
    let guid: [u8; 16] = header.get(4..20)?.try_into().ok()?;
    let size = u32::from_le_bytes(header.get(20..24)?.try_into().ok()?);
    let body_start = start + TEMPLATE_HEADER;
    let body = data.get(body_start..body_start.checked_add(size as usize)?)?;
    let key = (offset, size, guid);
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(found) = cache
            .get(&key)
            .and_then(|v| v.iter().find(|(b, _)| b.as_slice() == body))
        {
            return found.1.clone();
        }
        let map = parse_template(data, body_start, body.len());
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache
            .entry(key)
            .or_default()
            .push((body.to_vec(), map.clone()));
        map
    })
}

/// Bounds-checked little-endian reader over the chunk, positions chunk-relative.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn u8(&mut self) -> Option<u8> {
        let v = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.data.get(self.pos..self.pos + 2)?;
        self.pos += 2;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        let b = self.data.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        let end = self.pos.checked_add(n)?;
        if end > self.data.len() {
            return None;
        }
        self.pos = end;
        Some(())
    }
    /// A name reference: an offset into the chunk, with the name stored right here when the
    /// offset points here (its first use in the chunk).
    fn name(&mut self) -> Option<String> {
        let offset = self.u32()? as usize;
        let name = read_name(self.data, offset)?;
        if offset == self.pos {
            // next offset (4), hash (2), length (2), characters, terminating NUL.
            let n = usize::from(u16::from_le_bytes(
                self.data.get(offset + 6..offset + 8)?.try_into().ok()?,
            ));
            self.skip(8 + n * 2 + 2)?;
        }
        Some(name)
    }
    /// A length-prefixed UTF-16LE string.
    fn utf16(&mut self) -> Option<String> {
        let n = usize::from(self.u16()?);
        let bytes = self.data.get(self.pos..self.pos.checked_add(n * 2)?)?;
        self.pos += n * 2;
        decode_utf16(bytes)
    }
}

fn read_name(data: &[u8], offset: usize) -> Option<String> {
    let n = usize::from(u16::from_le_bytes(
        data.get(offset + 6..offset + 8)?.try_into().ok()?,
    ));
    decode_utf16(data.get(offset + 8..offset + 8 + n * 2)?)
}

fn decode_utf16(bytes: &[u8]) -> Option<String> {
    let units = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .ok()
}

/// What fills the attribute or the text of the element being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    ProviderName,
    ProviderSource,
    EventId,
    Channel,
    Computer,
    Time,
    Other,
}

/// Walk a template definition's BinXML and note where the identity fields come from.
fn parse_template(data: &[u8], start: usize, len: usize) -> Option<TemplateMap> {
    let end = start.checked_add(len)?;
    let mut c = Cursor {
        data: data.get(..end)?,
        pos: start,
    };
    let mut map = TemplateMap {
        provider_name: Slot::Absent,
        provider_source: Slot::Absent,
        event_id: Slot::Absent,
        channel: Slot::Absent,
        computer: Slot::Absent,
        time: Slot::Absent,
    };
    // Element names from the root; `open` is the element whose start tag is being read.
    let mut stack: Vec<String> = Vec::new();
    let mut open: Option<String> = None;
    let mut attribute: Option<String> = None;
    let mut saw_event = false;
    while c.pos < end {
        let token = c.u8()?;
        match token {
            0x00 => break,
            0x0f => c.skip(3)?,
            0x01 | 0x41 => {
                if let Some(name) = open.take() {
                    // An element start inside an unclosed start tag: malformed.
                    stack.push(name);
                    return None;
                }
                c.u16()?; // dependency id
                c.u32()?; // data size
                let name = c.name()?;
                if token & 0x40 != 0 {
                    c.u32()?; // attribute list size
                }
                if stack.is_empty() {
                    if name != "Event" {
                        return None;
                    }
                    saw_event = true;
                }
                open = Some(name);
                attribute = None;
            }
            0x02 => {
                stack.push(open.take()?);
                attribute = None;
            }
            0x03 => {
                open.take()?;
                attribute = None;
            }
            0x04 => {
                stack.pop()?;
            }
            0x06 | 0x46 => {
                open.as_ref()?;
                attribute = Some(c.name()?);
            }
            0x05 | 0x45 => {
                let value_type = c.u8()?;
                let target = target_of(&stack, open.as_deref(), attribute.as_deref());
                if value_type != 0x01 {
                    // Template literals are strings; another type's size is not described
                    // here, so give up rather than guess.
                    return None;
                }
                let s = c.utf16()?;
                assign(&mut map, target, Slot::Literal(s))?;
                attribute = None;
            }
            0x0d | 0x0e => {
                let index = c.u16()?;
                c.u8()?; // value type
                let target = target_of(&stack, open.as_deref(), attribute.as_deref());
                assign(&mut map, target, Slot::Subst(index))?;
                attribute = None;
            }
            0x07 | 0x47 | 0x0b => {
                let target = target_of(&stack, open.as_deref(), attribute.as_deref());
                c.utf16()?;
                if target != Target::Other {
                    return None;
                }
                attribute = None;
            }
            0x08 | 0x48 => {
                let target = target_of(&stack, open.as_deref(), attribute.as_deref());
                c.u16()?;
                if target != Target::Other {
                    return None;
                }
                attribute = None;
            }
            0x09 | 0x49 => {
                let target = target_of(&stack, open.as_deref(), attribute.as_deref());
                c.name()?;
                if target != Target::Other {
                    return None;
                }
                attribute = None;
            }
            0x0a => {
                c.name()?;
            }
            _ => return None,
        }
    }
    if !saw_event || map.event_id == Slot::Absent {
        return None;
    }
    Some(map)
}

/// Which identity field a value at this point of the template fills.
fn target_of(stack: &[String], open: Option<&str>, attribute: Option<&str>) -> Target {
    match (open, attribute) {
        // An attribute value of the element whose start tag is open.
        (Some(element), Some(attr)) => {
            if stack.len() != 2 || stack[0] != "Event" || stack[1] != "System" {
                return Target::Other;
            }
            match (element, attr) {
                ("Provider", "Name") => Target::ProviderName,
                ("Provider", "EventSourceName") => Target::ProviderSource,
                ("TimeCreated", "SystemTime") => Target::Time,
                _ => Target::Other,
            }
        }
        (Some(_), None) => Target::Other,
        // Text content of the innermost element.
        (None, _) => {
            if stack.len() != 3 || stack[0] != "Event" || stack[1] != "System" {
                return Target::Other;
            }
            match stack[2].as_str() {
                "EventID" => Target::EventId,
                "Channel" => Target::Channel,
                "Computer" => Target::Computer,
                _ => Target::Other,
            }
        }
    }
}

/// Record where a field comes from; a field filled twice (text in pieces) cannot be read
/// from one value, so give up.
fn assign(map: &mut TemplateMap, target: Target, slot: Slot) -> Option<()> {
    let field = match target {
        Target::ProviderName => &mut map.provider_name,
        Target::ProviderSource => &mut map.provider_source,
        Target::EventId => &mut map.event_id,
        Target::Channel => &mut map.channel,
        Target::Computer => &mut map.computer,
        Target::Time => &mut map.time,
        Target::Other => return Some(()),
    };
    if *field != Slot::Absent {
        return None;
    }
    *field = slot;
    Some(())
}
