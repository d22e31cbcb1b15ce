//! Windows event XML reader.
//!
//! Owns reading the XML forms of Windows events into [`WinRecord`]s:
//!
//! * `wevtutil qe <log> /f:xml` exports: `<Event xmlns=...>` elements one after another with no
//!   root element, on one line or one per line;
//! * Event Viewer "Save as XML" files: an `<Events>` root holding `<Event>` elements, possibly
//!   behind an `<?xml ...?>` prolog;
//! * Splunk `XmlWinEventLog` lines: one `<Event xmlns='...'>...</Event>` per line, often with
//!   single-quoted attributes and a `<RenderingInfo>` block.
//!
//! Files are read as a stream: a light lexer finds each `<Event>` element and buffers that
//! element only (at most [`MAX_EVENT_BYTES`]); the element is then parsed with `quick-xml`. A
//! broken event (XML syntax error, invalid UTF-8, unknown entity, no `EventID`, cut short by
//! the next `<Event>` or by the end of the file) is reported to the sink as a [`ReadIssue`] and
//! reading goes on with the next `<Event>`. UTF-16 files (a PowerShell `>` redirect of
//! `wevtutil` writes UTF-16LE with a BOM) are transcoded on the fly; byte offsets still refer
//! to the file as stored.
//!
//! It must not map events to UDM (that is [`crate::mapping`]) nor decide which files are XML
//! (format detection is done by the caller).

use std::borrow::Cow;
use std::io::{self, BufRead, Read};

use lateral_model::Provenance;
use quick_xml::events::attributes::Attributes;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::issue::{Position, ReadIssue};
use crate::record::WinRecord;
use crate::sink::{Flow, ReadOptions, RecordSink};

/// Largest `<Event>` element read; a bigger one is reported and skipped.
pub const MAX_EVENT_BYTES: usize = 16 << 20;

/// Format name recorded in the provenance of every event read here.
pub const FORMAT: &str = "XML";

/// Read Windows event XML from `reader`, handing each `<Event>` to `sink` as a [`WinRecord`].
///
/// Provenance: `record` is the 1-based ordinal of the `<Event>` element in the file (broken
/// events count too), `offset` the byte offset of its `<`. With `opts.want_raw` the exact text
/// of the element is handed over as the raw record. Returns [`Flow::Stop`] when the sink asked
/// to stop, [`Flow::Continue`] otherwise (including after problems, which go to the sink).
pub fn read_xml<R: BufRead>(
    reader: R,
    file: &str,
    opts: &ReadOptions,
    sink: &mut dyn RecordSink,
) -> Flow {
    read_xml_limited(reader, file, opts, sink, MAX_EVENT_BYTES)
}

fn read_xml_limited<R: BufRead>(
    mut reader: R,
    file: &str,
    opts: &ReadOptions,
    sink: &mut dyn RecordSink,
    limit: usize,
) -> Flow {
    let (encoding, bom_len) = match sniff_encoding(&mut reader) {
        Ok(found) => found,
        Err(e) => {
            sink.issue(ReadIssue::whole_file(file, format!("read error: {e}")));
            return Flow::Continue;
        }
    };
    reader.consume(bom_len);
    let source = match encoding {
        Encoding::Utf8 => Source::Utf8(reader),
        Encoding::Utf16 { big_endian } => Source::Utf16(Utf16Reader::new(reader, big_endian)),
    };
    let input = Input::new(source, bom_len as u64, encoding != Encoding::Utf8, limit);
    let mut scanner = Scanner {
        input,
        file,
        opts,
        sink,
        ordinal: 0,
        oversized: false,
        name: Vec::with_capacity(NAME_MAX),
    };
    scanner.run()
}

// ---------------------------------------------------------------------------------------------
// Encoding

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Utf16 { big_endian: bool },
}

/// Look at the first bytes: a BOM, or UTF-16 text starting with `<`. Returns the encoding and
/// the length of the BOM to skip.
fn sniff_encoding<R: BufRead>(reader: &mut R) -> io::Result<(Encoding, usize)> {
    let head = loop {
        match reader.fill_buf() {
            Ok(h) => break h,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    Ok(match head {
        [0xEF, 0xBB, 0xBF, ..] => (Encoding::Utf8, 3),
        [0xFF, 0xFE, ..] => (Encoding::Utf16 { big_endian: false }, 2),
        [0xFE, 0xFF, ..] => (Encoding::Utf16 { big_endian: true }, 2),
        [b'<', 0, ..] => (Encoding::Utf16 { big_endian: false }, 0),
        [0, b'<', ..] => (Encoding::Utf16 { big_endian: true }, 0),
        _ => (Encoding::Utf8, 0),
    })
}

/// Transcodes UTF-16 to UTF-8 as a stream. Unpaired surrogates become U+FFFD.
struct Utf16Reader<R> {
    inner: R,
    big_endian: bool,
    raw: Vec<u8>,
    /// Undecoded bytes carried over from the previous read (odd byte, high surrogate).
    carry: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    eof: bool,
}

impl<R: Read> Utf16Reader<R> {
    fn new(inner: R, big_endian: bool) -> Self {
        Utf16Reader {
            inner,
            big_endian,
            raw: vec![0; 32 * 1024],
            carry: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            eof: false,
        }
    }

    /// Decode the next block into `out`; false at the end of the input.
    fn decode_more(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.out_pos = 0;
        while self.out.is_empty() {
            if self.eof {
                if self.carry.is_empty() {
                    return Ok(false);
                }
                // A dangling odd byte or lone high surrogate at the very end.
                self.carry.clear();
                push_char(&mut self.out, char::REPLACEMENT_CHARACTER);
                return Ok(true);
            }
            let n = match self.inner.read(&mut self.raw) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.eof = true;
                continue;
            }
            let mut bytes = std::mem::take(&mut self.carry);
            bytes.extend_from_slice(self.raw.get(..n).unwrap_or_default());
            let even = bytes.len() & !1;
            let mut units: Vec<u16> = bytes[..even]
                .chunks_exact(2)
                .map(|p| {
                    if self.big_endian {
                        u16::from_be_bytes([p[0], p[1]])
                    } else {
                        u16::from_le_bytes([p[0], p[1]])
                    }
                })
                .collect();
            let mut carry: Vec<u8> = Vec::new();
            // Keep a trailing high surrogate for the next block: its pair may follow.
            if let Some(&last) = units.last() {
                if (0xD800..0xDC00).contains(&last) {
                    units.pop();
                    carry.extend_from_slice(&bytes[even - 2..even]);
                }
            }
            carry.extend_from_slice(&bytes[even..]);
            self.carry = carry;
            for c in char::decode_utf16(units.iter().copied()) {
                push_char(&mut self.out, c.unwrap_or(char::REPLACEMENT_CHARACTER));
            }
        }
        Ok(true)
    }
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut tmp = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_pos >= self.out.len() && !self.decode_more()? {
            return Ok(0);
        }
        let avail = self.out.get(self.out_pos..).unwrap_or_default();
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.out_pos += n;
        Ok(n)
    }
}

enum Source<R> {
    Utf8(R),
    Utf16(Utf16Reader<R>),
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Utf8(r) => r.read(buf),
            Source::Utf16(r) => r.read(buf),
        }
    }
}

/// Bytes, in the file as stored, taken by the UTF-8 text `bytes` (which is the transcoding of
/// UTF-16 text when `utf16`).
fn stored_len(bytes: &[u8], utf16: bool) -> u64 {
    if utf16 {
        bytes.iter().map(|&b| utf16_weight(b)).sum()
    } else {
        bytes.len() as u64
    }
}

/// Stored UTF-16 bytes for one UTF-8 byte: a character of up to three UTF-8 bytes is one
/// UTF-16 unit, a four-byte one is a surrogate pair; continuation bytes count nothing.
#[inline]
fn utf16_weight(b: u8) -> u64 {
    if b & 0xC0 == 0x80 {
        0
    } else if b >= 0xF0 {
        4
    } else {
        2
    }
}

// ---------------------------------------------------------------------------------------------
// Byte input with position tracking and event capture

struct Input<S> {
    src: S,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// Offset in the stored file of the next byte.
    offset: u64,
    /// 1-based line of the next byte.
    line: u64,
    utf16: bool,
    done: bool,
    error: Option<io::Error>,
    /// Bytes of the element being captured (an `<Event>`, or a tag being looked at).
    cap: Vec<u8>,
    capturing: bool,
    /// The capture went over `limit`; bytes past it were dropped.
    overflow: bool,
    limit: usize,
}

impl<S: Read> Input<S> {
    fn new(src: S, offset: u64, utf16: bool, limit: usize) -> Self {
        Input {
            src,
            buf: vec![0; 64 * 1024],
            pos: 0,
            len: 0,
            offset,
            line: 1,
            utf16,
            done: false,
            error: None,
            cap: Vec::new(),
            capturing: false,
            overflow: false,
            limit,
        }
    }

    fn refill(&mut self) -> bool {
        while !self.done {
            match self.src.read(&mut self.buf) {
                Ok(0) => self.done = true,
                Ok(n) => {
                    self.pos = 0;
                    self.len = n;
                    return true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.error = Some(e);
                    self.done = true;
                }
            }
        }
        false
    }

    #[inline]
    fn next(&mut self) -> Option<u8> {
        if self.pos >= self.len && !self.refill() {
            return None;
        }
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        self.offset += if self.utf16 { utf16_weight(b) } else { 1 };
        if b == b'\n' {
            self.line += 1;
        }
        if self.capturing {
            if self.cap.len() < self.limit {
                self.cap.push(b);
            } else {
                self.overflow = true;
            }
        }
        Some(b)
    }

    /// Consume bytes up to and including the first one for which `stop` holds, and return it;
    /// the bytes before it are handled a buffer at a time. `None` at the end of the input.
    #[inline]
    fn advance_until(&mut self, stop: impl Fn(u8) -> bool) -> Option<u8> {
        loop {
            if self.pos >= self.len && !self.refill() {
                return None;
            }
            let avail = self.buf.get(self.pos..self.len).unwrap_or_default();
            let found = avail.iter().position(|&b| stop(b));
            let taken = found.map_or(avail.len(), |i| i + 1);
            let chunk = avail.get(..taken).unwrap_or_default();
            self.offset += stored_len(chunk, self.utf16);
            self.line += count_newlines(chunk);
            if self.capturing {
                let room = self.limit.saturating_sub(self.cap.len());
                if chunk.len() > room {
                    self.overflow = true;
                }
                self.cap
                    .extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
            }
            let hit = found.and_then(|i| avail.get(i).copied());
            self.pos += taken;
            if hit.is_some() {
                return hit;
            }
        }
    }

    /// Stored size of `<`.
    fn lt_width(&self) -> u64 {
        if self.utf16 {
            2
        } else {
            1
        }
    }

    /// Start capturing with the `<` just read.
    fn capture_from_lt(&mut self) {
        self.cap.clear();
        self.cap.push(b'<');
        self.capturing = true;
        self.overflow = false;
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer: just enough XML to find elements, skipping comments, CDATA, PIs and declarations.

const NAME_MAX: usize = 256;

#[derive(Debug)]
enum Tag {
    /// A start tag (its name is in the name buffer).
    Start { empty: bool },
    /// An end tag (its name is in the name buffer).
    End,
    /// Comment, CDATA, processing instruction, declaration.
    Other,
    /// `<` followed by something that is no markup (`< `, `<1`): plain (broken) text.
    NotMarkup,
    /// A `<` inside a tag: the tag is broken and a new one starts at that `<`.
    Restart,
    /// End of input inside the tag.
    Eof,
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80
}

fn is_name_byte(b: u8) -> bool {
    is_name_start(b) || b.is_ascii_digit() || b == b'-' || b == b'.'
}

fn local_name(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|&b| b == b':') {
        Some(i) => name.get(i + 1..).unwrap_or_default(),
        None => name,
    }
}

/// Lex one tag; the `<` has been read. The element name goes to `name` (at most
/// [`NAME_MAX`] bytes).
fn lex_tag<S: Read>(input: &mut Input<S>, name: &mut Vec<u8>) -> Tag {
    name.clear();
    let Some(first) = input.next() else {
        return Tag::Eof;
    };
    match first {
        b'!' => lex_bang(input),
        b'?' => skip_until(input, b"?>"),
        b'/' => {
            loop {
                match input.next() {
                    None => return Tag::Eof,
                    Some(b'>') => return Tag::End,
                    Some(b'<') => return Tag::Restart,
                    Some(b) if is_name_byte(b) => {
                        if name.len() < NAME_MAX {
                            name.push(b);
                        }
                    }
                    Some(_) => {
                        // Whitespace after the name, then `>`.
                        return match skip_tag_rest(input) {
                            TagEnd::Gt { .. } => Tag::End,
                            TagEnd::Lt => Tag::Restart,
                            TagEnd::Eof => Tag::Eof,
                        };
                    }
                }
            }
        }
        b'<' => Tag::Restart,
        b if is_name_start(b) => {
            name.push(b);
            loop {
                match input.next() {
                    None => return Tag::Eof,
                    Some(b'>') => return Tag::Start { empty: false },
                    Some(b'<') => return Tag::Restart,
                    Some(b'/') => {
                        return match skip_tag_rest(input) {
                            // `<name/>`: the `/` was right before `>`, unless more followed.
                            TagEnd::Gt { last_slash, bytes } => Tag::Start {
                                empty: bytes == 0 || last_slash,
                            },
                            TagEnd::Lt => Tag::Restart,
                            TagEnd::Eof => Tag::Eof,
                        };
                    }
                    Some(c) if is_name_byte(c) => {
                        if name.len() < NAME_MAX {
                            name.push(c);
                        }
                    }
                    Some(c) => {
                        return match skip_attributes(input, c) {
                            TagEnd::Gt { last_slash, .. } => Tag::Start { empty: last_slash },
                            TagEnd::Lt => Tag::Restart,
                            TagEnd::Eof => Tag::Eof,
                        };
                    }
                }
            }
        }
        _ => Tag::NotMarkup,
    }
}

enum TagEnd {
    /// `>` found; whether the byte before it was `/`, and how many bytes came before it.
    Gt {
        last_slash: bool,
        bytes: usize,
    },
    /// `<` found inside the tag.
    Lt,
    Eof,
}

/// Skip to the `>` closing a tag, with no attribute values expected.
fn skip_tag_rest<S: Read>(input: &mut Input<S>) -> TagEnd {
    let mut last_slash = false;
    let mut bytes = 0;
    loop {
        match input.next() {
            None => return TagEnd::Eof,
            Some(b'>') => return TagEnd::Gt { last_slash, bytes },
            Some(b'<') => return TagEnd::Lt,
            Some(b) => {
                last_slash = b == b'/';
                bytes += 1;
            }
        }
    }
}

/// Skip the attributes of a start tag (the first byte after the name is `first`), honouring
/// quotes. A `<` cannot occur in well-formed attribute values, so it ends the tag as broken:
/// an unclosed quote does not swallow the rest of the file.
fn skip_attributes<S: Read>(input: &mut Input<S>, first: u8) -> TagEnd {
    let mut quote: Option<u8> = None;
    let mut last_slash = false;
    let mut cur = Some(first);
    loop {
        let Some(b) = cur else {
            return TagEnd::Eof;
        };
        match (quote, b) {
            (_, b'<') => return TagEnd::Lt,
            (Some(q), c) if c == q => quote = None,
            (Some(q), _) => {
                // Rest of the value in one go.
                cur = input.advance_until(|c| c == q || c == b'<');
                continue;
            }
            (None, b'"' | b'\'') => {
                quote = Some(b);
                last_slash = false;
            }
            (None, b'>') => {
                return TagEnd::Gt {
                    last_slash,
                    bytes: 1,
                }
            }
            (None, c) => {
                if !c.is_ascii_whitespace() {
                    last_slash = c == b'/';
                }
            }
        }
        cur = input.next();
    }
}

/// After `<!`: a comment, CDATA section or declaration.
fn lex_bang<S: Read>(input: &mut Input<S>) -> Tag {
    match input.next() {
        None => Tag::Eof,
        Some(b'-') => match input.next() {
            None => Tag::Eof,
            Some(b'-') => skip_until(input, b"-->"),
            Some(b'>') => Tag::Other,
            Some(_) => skip_declaration(input),
        },
        Some(b'[') => {
            for &want in b"CDATA[" {
                match input.next() {
                    None => return Tag::Eof,
                    Some(b) if b == want => {}
                    Some(b'>') => return Tag::Other,
                    Some(_) => return skip_declaration(input),
                }
            }
            skip_until(input, b"]]>")
        }
        Some(b'>') => Tag::Other,
        Some(_) => skip_declaration(input),
    }
}

/// Skip a `<!DOCTYPE ...>` style declaration, with its internal subset in brackets.
fn skip_declaration<S: Read>(input: &mut Input<S>) -> Tag {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    loop {
        let Some(b) = input.next() else {
            return Tag::Eof;
        };
        match (quote, b) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'[') => depth += 1,
            (None, b']') => depth = depth.saturating_sub(1),
            (None, b'>') if depth == 0 => return Tag::Other,
            _ => {}
        }
    }
}

/// Skip until `end` has been read.
fn skip_until<S: Read>(input: &mut Input<S>, end: &[u8]) -> Tag {
    let mut matched = 0usize;
    let first = end.first().copied().unwrap_or(b'>');
    loop {
        let next = if matched == 0 {
            input.advance_until(|b| b == first)
        } else {
            input.next()
        };
        let Some(b) = next else {
            return Tag::Eof;
        };
        if end.get(matched) == Some(&b) {
            matched += 1;
            if matched == end.len() {
                return Tag::Other;
            }
        } else if matched == 2
            && end.len() == 3
            && end.first() == Some(&b)
            && end.get(1) == Some(&b)
        {
            // `--->` or `]]]>`: the last two bytes still match the start of `-->` / `]]>`.
        } else {
            matched = usize::from(end.first() == Some(&b));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scanner: finds `<Event>` elements and hands them on.

struct Scanner<'a, S> {
    input: Input<S>,
    file: &'a str,
    opts: &'a ReadOptions,
    sink: &'a mut dyn RecordSink,
    ordinal: u64,
    /// The current event went over the size limit (its capture was restarted).
    oversized: bool,
    /// Name of the tag just lexed.
    name: Vec<u8>,
}

/// Where the current `<Event>` started.
#[derive(Debug, Clone, Copy)]
struct EventStart {
    ordinal: u64,
    offset: u64,
    line: u64,
}

impl<S: Read> Scanner<'_, S> {
    fn run(&mut self) -> Flow {
        let flow = self.scan();
        if flow == Flow::Continue {
            if let Some(e) = self.input.error.take() {
                let msg = format!("read error: {e}");
                let issue = if self.ordinal == 0 {
                    ReadIssue::whole_file(self.file, msg)
                } else {
                    ReadIssue::new(self.file, Position::Offset(self.input.offset), msg)
                };
                self.sink.issue(issue);
            }
        }
        flow
    }

    fn scan(&mut self) -> Flow {
        let mut root_seen = false;
        let mut content_seen = false;
        let mut current: Option<EventStart> = None;
        let mut pending_lt = false;
        let mut eof_in_tag = false;
        let (mut last_lt, mut last_lt_line) = (0u64, 1u64);
        loop {
            if !pending_lt {
                loop {
                    let next = if root_seen {
                        self.input.advance_until(|b| b == b'<')
                    } else {
                        self.input.next()
                    };
                    match next {
                        Some(b'<') => break,
                        Some(b) => {
                            if !b.is_ascii_whitespace() {
                                content_seen = true;
                            }
                        }
                        None => {
                            if let Some(start) = current {
                                self.event_issue(
                                    start.offset,
                                    format!(
                                        "event #{} (line {}) is truncated: the file ends before \
                                         </Event>; event skipped",
                                        start.ordinal, start.line
                                    ),
                                );
                            } else if self.input.error.is_some() {
                                // Reported by `run`.
                            } else if !root_seen && content_seen {
                                let msg = if eof_in_tag {
                                    "the file ends inside its first tag; no Windows event found"
                                } else {
                                    "no XML element found; expected Windows event XML \
                                     (<Event> or <Events>)"
                                };
                                self.sink.issue(ReadIssue::whole_file(self.file, msg));
                            } else if eof_in_tag {
                                self.sink.issue(ReadIssue::new(
                                    self.file,
                                    Position::Offset(last_lt),
                                    format!(
                                        "the file ends inside a tag at byte offset {last_lt} \
                                         (line {last_lt_line}): truncated file?"
                                    ),
                                ));
                            }
                            return Flow::Continue;
                        }
                    }
                }
            }
            pending_lt = false;
            content_seen = true;
            let lt_offset = self.input.offset.saturating_sub(self.input.lt_width());
            let lt_line = self.input.line;
            (last_lt, last_lt_line) = (lt_offset, lt_line);
            if current.is_none() {
                self.input.capture_from_lt();
            } else if self.input.overflow {
                // Too big: keep only the tag being read, to find where the event ends.
                self.oversized = true;
                self.input.capture_from_lt();
            }
            let tag_index = self.input.cap.len().saturating_sub(1);

            match lex_tag(&mut self.input, &mut self.name) {
                Tag::Eof => {
                    // Reported at the top of the loop, where the input is found at its end.
                    eof_in_tag = true;
                    continue;
                }
                Tag::Restart => pending_lt = true,
                Tag::NotMarkup | Tag::Other => {}
                Tag::End => {
                    if current.is_some() && local_name(&self.name) == b"Event" {
                        if let Some(start) = current.take() {
                            self.input.capturing = false;
                            if self.finish_event(start) == Flow::Stop {
                                return Flow::Stop;
                            }
                        }
                    }
                }
                Tag::Start { empty } => {
                    let local = local_name(&self.name);
                    if local == b"Event" {
                        root_seen = true;
                        if let Some(prev) = current.take() {
                            // The previous event was cut short: it is reported, and the new
                            // one starts at this tag.
                            self.event_issue(
                                prev.offset,
                                format!(
                                    "event #{} (line {}) is not closed before the next <Event> \
                                     at byte offset {lt_offset}; event skipped",
                                    prev.ordinal, prev.line
                                ),
                            );
                            self.input.cap.drain(..tag_index);
                        }
                        self.oversized = false;
                        self.ordinal += 1;
                        let start = EventStart {
                            ordinal: self.ordinal,
                            offset: lt_offset,
                            line: lt_line,
                        };
                        if empty {
                            self.input.capturing = false;
                            if self.finish_event(start) == Flow::Stop {
                                return Flow::Stop;
                            }
                        } else {
                            current = Some(start);
                        }
                    } else if current.is_none() && !root_seen {
                        root_seen = true;
                        if local != b"Events" {
                            let msg = format!(
                                "unknown XML dialect: root element <{}>; expected Windows \
                                 event XML (<Event> or <Events>)",
                                String::from_utf8_lossy(&self.name)
                            );
                            self.sink.issue(ReadIssue::whole_file(self.file, msg));
                            return Flow::Continue;
                        }
                    }
                    // Other elements (the `<Events>` root, strays between events, children of
                    // an event) need nothing here.
                }
            }
            if current.is_none() {
                self.input.capturing = false;
            }
        }
    }

    fn event_issue(&mut self, offset: u64, message: String) {
        self.sink
            .issue(ReadIssue::new(self.file, Position::Offset(offset), message));
    }

    /// The captured bytes hold one complete `<Event>` element: parse it and hand it on.
    fn finish_event(&mut self, start: EventStart) -> Flow {
        let n = start.ordinal;
        if self.input.overflow || self.oversized {
            self.input.overflow = false;
            self.oversized = false;
            self.input.cap.clear();
            let mib = self.input.limit >> 20;
            self.event_issue(
                start.offset,
                format!(
                    "event #{n} (line {}) is larger than {mib} MiB; event skipped",
                    start.line
                ),
            );
            return Flow::Continue;
        }
        let text = match String::from_utf8(std::mem::take(&mut self.input.cap)) {
            Ok(text) => text,
            Err(e) => {
                let bad = e.utf8_error().valid_up_to();
                let mut bytes = e.into_bytes();
                let prefix = bytes.get(..bad).unwrap_or_default();
                let offset = start.offset + stored_len(prefix, self.input.utf16);
                let line = start.line + count_newlines(prefix);
                self.event_issue(
                    start.offset,
                    format!(
                        "event #{n} (line {line}): invalid UTF-8 at byte offset {offset}; \
                         event skipped"
                    ),
                );
                bytes.clear();
                self.input.cap = bytes;
                return Flow::Continue;
            }
        };
        let parsed = match parse_event(&text) {
            Ok(parsed) => parsed,
            Err(err) => {
                let prefix = text.as_bytes().get(..err.pos).unwrap_or(text.as_bytes());
                let offset = start.offset + stored_len(prefix, self.input.utf16);
                let line = start.line + count_newlines(prefix);
                self.event_issue(
                    offset,
                    format!(
                        "malformed event #{n} (line {line}, byte offset {offset}): {}; \
                         event skipped",
                        err.message
                    ),
                );
                self.reuse(text);
                return Flow::Continue;
            }
        };
        if let Some(bad_time) = &parsed.bad_time {
            self.event_issue(
                start.offset,
                format!(
                    "event #{n} (line {}): TimeCreated/@SystemTime '{bad_time}' is not an \
                     RFC 3339 time; event kept without a time",
                    start.line
                ),
            );
        }
        if parsed.record.event_id.is_none() {
            let why = match &parsed.raw_event_id {
                Some(raw) => format!("EventID '{raw}' is not a number"),
                None => "no System/EventID".to_string(),
            };
            self.event_issue(
                start.offset,
                format!("event #{n} (line {}): {why}; event skipped", start.line),
            );
            self.reuse(text);
            return Flow::Continue;
        }
        let prov = Provenance {
            file: self.file.to_string(),
            format: FORMAT,
            record: i64::try_from(n).ok(),
            offset: i64::try_from(start.offset).ok(),
        };
        if self.opts.want_raw {
            self.sink.record(parsed.record, prov, Some(text))
        } else {
            let flow = self.sink.record(parsed.record, prov, None);
            self.reuse(text);
            flow
        }
    }

    /// Reuse an event's buffer for the next capture.
    fn reuse(&mut self, text: String) {
        let mut bytes = text.into_bytes();
        bytes.clear();
        self.input.cap = bytes;
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

// ---------------------------------------------------------------------------------------------
// Parsing one `<Event>` element

#[derive(Debug)]
struct ParseError {
    /// Byte position in the event text.
    pos: usize,
    message: String,
}

#[derive(Debug, Default)]
struct Parsed {
    record: WinRecord,
    /// `EventID` text when present (to tell "missing" from "not a number").
    raw_event_id: Option<String>,
    /// `TimeCreated/@SystemTime` when present but unparsable.
    bad_time: Option<String>,
}

/// Text of one element, built from literal text, entity references and CDATA. Whitespace at
/// either end that came from the document layout (a literal run containing a line break) is
/// dropped; whitespace written as character references or in CDATA is kept.
#[derive(Debug, Default)]
struct TextAcc {
    s: String,
    /// Bytes of literal whitespace at the start (while `lead_done` is false, all of `s`).
    lead_ws: usize,
    lead_done: bool,
    /// Bytes of literal whitespace at the end.
    trail_ws: usize,
}

fn is_xml_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

impl TextAcc {
    fn literal(&mut self, t: &str) {
        if t.is_empty() {
            return;
        }
        let lead = t.len() - t.trim_start_matches(is_xml_ws).len();
        let all_ws = lead == t.len();
        if !self.lead_done {
            self.lead_ws += lead;
            if !all_ws {
                self.lead_done = true;
            }
        }
        if all_ws {
            self.trail_ws += t.len();
        } else {
            self.trail_ws = t.len() - t.trim_end_matches(is_xml_ws).len();
        }
        self.s.push_str(t);
    }

    /// Text that is content whatever it holds (a resolved reference, CDATA).
    fn piece(&mut self, t: &str) {
        self.lead_done = true;
        self.trail_ws = 0;
        self.s.push_str(t);
    }

    fn finish(self) -> String {
        let has_break = |s: &str| s.contains(['\n', '\r']);
        let len = self.s.len();
        if !self.lead_done {
            // Only literal whitespace.
            return if has_break(&self.s) {
                String::new()
            } else {
                self.s
            };
        }
        let start = match self.s.get(..self.lead_ws) {
            Some(lead) if has_break(lead) => self.lead_ws,
            _ => 0,
        };
        let end = match self.s.get(len - self.trail_ws.min(len)..) {
            Some(trail) if has_break(trail) => len - self.trail_ws.min(len),
            _ => len,
        };
        if start == 0 && end == len {
            return self.s;
        }
        self.s
            .get(start..end.max(start))
            .unwrap_or_default()
            .to_string()
    }
}

/// One open element while parsing; names and values borrow from the event text when they
/// can.
#[derive(Debug)]
struct Frame<'a> {
    /// Local name.
    name: Cow<'a, str>,
    /// Attributes by local name, `xmlns` declarations left out.
    attrs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    text: TextAcc,
    has_child: bool,
}

fn parse_event(xml: &str) -> Result<Parsed, ParseError> {
    let mut reader = Reader::from_str(xml);
    let config = reader.config_mut();
    config.trim_text(false);
    config.check_end_names = true;
    config.expand_empty_elements = false;

    let mut out = Parsed::default();
    let mut stack: Vec<Frame<'_>> = Vec::new();
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(0);
        let ev = reader.read_event().map_err(|e| ParseError {
            pos: usize::try_from(reader.error_position()).unwrap_or(before),
            message: e.to_string(),
        })?;
        let after = usize::try_from(reader.buffer_position()).unwrap_or(0);
        match ev {
            Event::Start(e) => {
                let frame = open_frame(xml, &e, before, after, false)?;
                if let Some(parent) = stack.last_mut() {
                    parent.has_child = true;
                }
                stack.push(frame);
            }
            Event::Empty(e) => {
                let frame = open_frame(xml, &e, before, after, true)?;
                if let Some(parent) = stack.last_mut() {
                    parent.has_child = true;
                }
                stack.push(frame);
                close_frame(&mut stack, &mut out);
                if stack.is_empty() {
                    break;
                }
            }
            Event::End(_) => {
                close_frame(&mut stack, &mut out);
                if stack.is_empty() {
                    break;
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.literal(&t.xml10_content());
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.piece(&c.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let mut buf = [0u8; 4];
                let resolved: &str = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c.encode_utf8(&mut buf),
                        Ok(None) | Err(_) => {
                            return Err(ParseError {
                                pos: before,
                                message: format!("invalid character reference &{};", &*r),
                            })
                        }
                    }
                } else {
                    match quick_xml::escape::resolve_predefined_entity(&r) {
                        Some(s) => s,
                        None => {
                            return Err(ParseError {
                                pos: before,
                                message: format!("unknown entity &{};", &*r),
                            })
                        }
                    }
                };
                if let Some(top) = stack.last_mut() {
                    top.text.piece(resolved);
                }
            }
            Event::Eof => {
                if !stack.is_empty() {
                    return Err(ParseError {
                        pos: xml.len(),
                        message: "unexpected end of event".to_string(),
                    });
                }
                break;
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The text between `<` and `>` (or `/>`) of the tag at `before..after` in `xml`, when the
/// positions line up (they do for a reader over `xml`).
fn tag_text(xml: &str, before: usize, after: usize, empty: bool) -> Option<&str> {
    let end = after.checked_sub(if empty { 2 } else { 1 })?;
    if xml.as_bytes().get(before) != Some(&b'<') {
        return None;
    }
    xml.get(before + 1..end)
}

fn open_frame<'a>(
    xml: &'a str,
    e: &BytesStart<'_>,
    before: usize,
    after: usize,
    empty: bool,
) -> Result<Frame<'a>, ParseError> {
    let name_len = e.name().as_ref().len();
    let bad_attr = |err: &dyn std::fmt::Display| ParseError {
        pos: before,
        message: format!("bad attribute in <{}>: {err}", e.name().as_ref()),
    };
    let local = |qname: &str| -> usize { qname.rfind(':').map_or(0, |i| i + 1) };
    let mut frame = Frame {
        name: Cow::Borrowed(""),
        attrs: Vec::new(),
        text: TextAcc::default(),
        has_child: false,
    };
    match tag_text(xml, before, after, empty)
        .filter(|t| t.get(..name_len).is_some() && t.get(..name_len) == e.get(..name_len))
    {
        Some(tag) => {
            // Borrow everything from the event text.
            let qname = tag.get(..name_len).unwrap_or_default();
            frame.name = Cow::Borrowed(qname.get(local(qname)..).unwrap_or_default());
            for attr in Attributes::new(tag, name_len) {
                let attr = attr.map_err(|err| bad_attr(&err))?;
                let key: &'a str = attr.key.0;
                if key == "xmlns" || key.starts_with("xmlns:") {
                    continue;
                }
                let value = attr
                    .normalized_value(XmlVersion::Implicit1_0)
                    .map_err(|err| bad_attr(&err))?;
                frame.attrs.push((
                    Cow::Borrowed(key.get(local(key)..).unwrap_or_default()),
                    value,
                ));
            }
        }
        None => {
            frame.name = Cow::Owned(e.local_name().as_ref().to_string());
            for attr in e.attributes() {
                let attr = attr.map_err(|err| bad_attr(&err))?;
                let key = attr.key.as_ref();
                if key == "xmlns" || key.starts_with("xmlns:") {
                    continue;
                }
                let value = attr
                    .normalized_value(XmlVersion::Implicit1_0)
                    .map_err(|err| bad_attr(&err))?;
                frame.attrs.push((
                    Cow::Owned(key.get(local(key)..).unwrap_or_default().to_string()),
                    Cow::Owned(value.into_owned()),
                ));
            }
        }
    }
    Ok(frame)
}

fn attr<'f>(attrs: &'f [(Cow<'_, str>, Cow<'_, str>)], name: &str) -> Option<&'f str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_ref())
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Close the innermost element (the top of `stack`) and file what it held.
fn close_frame(stack: &mut Vec<Frame<'_>>, out: &mut Parsed) {
    let Some(frame) = stack.pop() else {
        return;
    };
    // Depth of the closed element: 1 is `Event`, 2 `System`/`EventData`/..., 3 their children.
    let depth = stack.len() + 1;
    let Some(section) = stack.get(1).map(|f| f.name.as_ref()) else {
        return;
    };
    let rec = &mut out.record;
    match (section, depth) {
        ("System", 3) => {
            let text = frame.text.finish();
            match frame.name.as_ref() {
                "Provider" => {
                    rec.provider = attr(&frame.attrs, "Name")
                        .or_else(|| attr(&frame.attrs, "EventSourceName"))
                        .and_then(non_empty)
                }
                "EventID" => {
                    if let Some(raw) = non_empty(&text) {
                        rec.event_id = raw.parse::<u32>().ok();
                        out.raw_event_id = Some(raw);
                    }
                }
                "Level" => rec.level = non_empty(&text),
                "Task" => rec.task = non_empty(&text),
                "Opcode" => rec.opcode = non_empty(&text),
                "Keywords" => rec.keywords = non_empty(&text),
                "TimeCreated" => {
                    if let Some(t) = attr(&frame.attrs, "SystemTime").and_then(non_empty) {
                        match parse_system_time(&t) {
                            Some(micros) => rec.time_micros = Some(micros),
                            None => out.bad_time = Some(t),
                        }
                    }
                }
                "EventRecordID" => {
                    if let Some(raw) = non_empty(&text) {
                        match raw.parse::<u64>() {
                            Ok(id) => rec.record_id = Some(id),
                            Err(_) => rec.extra.push(("EventRecordID".to_string(), raw)),
                        }
                    }
                }
                "Execution" => {
                    rec.process_id =
                        attr(&frame.attrs, "ProcessID").and_then(|v| v.trim().parse().ok());
                    rec.thread_id =
                        attr(&frame.attrs, "ThreadID").and_then(|v| v.trim().parse().ok());
                }
                "Channel" => rec.channel = non_empty(&text),
                "Computer" => rec.computer = non_empty(&text),
                "Security" => rec.user_sid = attr(&frame.attrs, "UserID").and_then(non_empty),
                _ => {}
            }
        }
        ("EventData" | "UserData", d) => {
            // Attributes other than `Data/@Name` carry values too (rare, mostly UserData).
            for (k, v) in &frame.attrs {
                if !(frame.name == "Data" && k == "Name") {
                    rec.push_data(Some(k), v.as_ref());
                }
            }
            if frame.has_child {
                return;
            }
            let text = frame.text.finish();
            match frame.name.as_ref() {
                "Data" => {
                    let name = attr(&frame.attrs, "Name").map(str::to_string);
                    rec.push_data(name.as_deref(), text);
                }
                "Binary" => rec.push_data(Some("Binary"), text),
                other => {
                    // A UserData wrapper element with nothing in it carries no value.
                    if d >= 4 || !text.is_empty() {
                        rec.push_data(Some(other), text);
                    }
                }
            }
        }
        ("RenderingInfo", 3) if frame.name == "Message" => {
            let text = frame.text.finish();
            if !text.is_empty() {
                rec.extra.push(("Message".to_string(), text));
            }
        }
        _ => {}
    }
}

/// `TimeCreated/@SystemTime` to microseconds since the epoch (UTC). RFC 3339 with any number
/// of fractional digits; a time with no zone is taken as UTC.
pub fn parse_system_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::CollectSink;

    const NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

    fn event(id: u32, data: &str) -> String {
        format!(
            "<Event xmlns='{NS}'><System><Provider Name='P'/><EventID>{id}</EventID>\
             <TimeCreated SystemTime='2024-03-05T10:15:30.1234567Z'/><EventRecordID>{id}\
             </EventRecordID><Channel>Security</Channel><Computer>H</Computer></System>\
             <EventData>{data}</EventData></Event>"
        )
    }

    fn read_limited(bytes: &[u8], limit: usize) -> CollectSink {
        let mut sink = CollectSink::default();
        let flow = read_xml_limited(bytes, "t.xml", &ReadOptions::default(), &mut sink, limit);
        assert_eq!(flow, Flow::Continue);
        sink
    }

    #[test]
    fn oversized_event_is_reported_and_skipped() {
        let big = "x".repeat(2000);
        let xml = format!(
            "{}\n{}\n{}",
            event(1, "<Data Name='A'>a</Data>"),
            event(2, &format!("<Data Name='Big'>{big}</Data>")),
            event(3, "<Data Name='A'>c</Data>")
        );
        let sink = read_limited(xml.as_bytes(), 1024);
        let ids: Vec<_> = sink.records.iter().map(|r| r.0.event_id).collect();
        assert_eq!(ids, vec![Some(1), Some(3)]);
        assert_eq!(sink.records[1].1.record, Some(3));
        assert_eq!(sink.issues.len(), 1);
        assert!(
            sink.issues[0].message.contains("event #2"),
            "{:?}",
            sink.issues
        );
        assert!(sink.issues[0].message.contains("larger than"));
        let second_start = event(1, "<Data Name='A'>a</Data>").len() as u64 + 1;
        assert_eq!(sink.issues[0].position, Position::Offset(second_start));
        // The raw text of the event after the big one is complete.
        assert!(sink.records[1]
            .2
            .as_deref()
            .is_some_and(|r| r.starts_with("<Event") && r.ends_with("</Event>")));
    }

    #[test]
    fn oversized_event_cut_by_next_event_keeps_the_next() {
        let big = "y".repeat(3000);
        let truncated = format!(
            "<Event xmlns='{NS}'><System><EventID>5</EventID></System><EventData><Data>{big}"
        );
        let xml = format!("{truncated}\n{}", event(6, ""));
        let sink = read_limited(xml.as_bytes(), 1024);
        assert_eq!(sink.records.len(), 1);
        assert_eq!(sink.records[0].0.event_id, Some(6));
        assert_eq!(sink.records[0].1.offset, Some(truncated.len() as i64 + 1));
        assert_eq!(sink.issues.len(), 1);
        assert!(sink.issues[0].message.contains("not closed"));
    }

    #[test]
    fn utf16_with_bom_is_transcoded_and_offsets_are_stored_bytes() {
        let xml = format!(
            "{}\r\n{}",
            event(4624, "<Data Name='TargetUserName'>Jürgen😀</Data>"),
            event(4625, "")
        );
        let mut bytes = vec![0xFF, 0xFE];
        for u in xml.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        // Tiny reads exercise surrogate pairs and odd bytes split between blocks.
        let reader = io::BufReader::with_capacity(3, bytes.as_slice());
        let mut sink = CollectSink::default();
        read_xml(reader, "u16.xml", &ReadOptions::default(), &mut sink);
        assert!(sink.issues.is_empty(), "{:?}", sink.issues);
        assert_eq!(sink.records.len(), 2);
        assert_eq!(sink.records[0].0.get("TargetUserName"), Some("Jürgen😀"));
        assert_eq!(sink.records[0].1.offset, Some(2));
        let first_units = event(4624, "<Data Name='TargetUserName'>Jürgen😀</Data>")
            .encode_utf16()
            .count() as i64;
        assert_eq!(sink.records[1].1.offset, Some(2 + 2 * (first_units + 2)));
    }

    #[test]
    fn utf16_big_endian_without_bom() {
        let xml = event(4688, "<Data Name='NewProcessName'>C:\\x.exe</Data>");
        let mut bytes = Vec::new();
        for u in xml.encode_utf16() {
            bytes.extend_from_slice(&u.to_be_bytes());
        }
        let sink = read_limited(&bytes, MAX_EVENT_BYTES);
        assert_eq!(sink.records.len(), 1);
        assert_eq!(sink.records[0].0.get("NewProcessName"), Some("C:\\x.exe"));
    }

    #[test]
    fn text_accumulator_trims_layout_whitespace_only() {
        let mut t = TextAcc::default();
        t.literal("\n    cmd.exe /c dir ");
        t.literal("\n  ");
        assert_eq!(t.finish(), "cmd.exe /c dir");
        let mut t = TextAcc::default();
        t.literal("NtLmSsp ");
        assert_eq!(t.finish(), "NtLmSsp ");
        let mut t = TextAcc::default();
        t.literal("  padded  ");
        assert_eq!(t.finish(), "  padded  ");
        let mut t = TextAcc::default();
        t.piece("\r\n");
        t.literal("x");
        t.piece("\n");
        assert_eq!(t.finish(), "\r\nx\n");
        let mut t = TextAcc::default();
        t.literal("\n   \n");
        assert_eq!(t.finish(), "");
    }

    #[test]
    fn system_time_formats() {
        assert_eq!(
            parse_system_time("2024-03-05T10:15:30.1234567Z"),
            Some(1_709_633_730_123_456)
        );
        assert_eq!(
            parse_system_time("2024-03-05T10:15:30.123456700Z"),
            Some(1_709_633_730_123_456)
        );
        assert_eq!(
            parse_system_time("2024-03-05T11:15:30+01:00"),
            Some(1_709_633_730_000_000)
        );
        assert_eq!(
            parse_system_time("2024-03-05 10:15:30.5"),
            Some(1_709_633_730_500_000)
        );
        assert_eq!(parse_system_time("yesterday"), None);
    }

    #[test]
    fn lexer_survives_hostile_inputs() {
        let inputs: Vec<&[u8]> = vec![
            b"",
            b"<",
            b"<<<<",
            b"<Event",
            b"<Event xmlns='",
            b"<Event><!--",
            b"<Event><![CDATA[",
            b"<Event></",
            b"<!DOCTYPE x [<!ENTITY a 'b'>]><Events><Event/></Events>",
            b"\xff\xfe<",
            b"\xfe\xff\x00",
            b"<Event>\xff\xfe</Event>",
            b"<?xml version='1.0'?><Events></Events>",
            b"<Events><Event><System><EventID>1</EventID></System></Event>",
        ];
        for input in inputs {
            let _ = read_limited(input, 64);
        }
    }
}
