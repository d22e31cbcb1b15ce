//! Kerberos (RFC 4120), read by walking the DER just far enough: AP-REQ ticket service names
//! (inside SPNEGO in SMB session setup and DCE/RPC auth), AS-REQ / TGS-REQ / AS-REP / TGS-REP /
//! KRB-ERROR client and service names on port 88 (TCP and UDP).

/// One DER element: tag byte and contents.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
    /// Total encoded length (header + contents).
    pub len: usize,
}

/// The DER element at the start of `b`.
pub fn tlv(b: &[u8]) -> Option<Tlv<'_>> {
    let tag = *b.first()?;
    if tag & 0x1f == 0x1f {
        return None; // multi-byte tags are not used by Kerberos
    }
    let first = *b.get(1)?;
    let (len, hdr) = if first < 0x80 {
        (first as usize, 2usize)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let value = b.get(hdr..hdr.checked_add(len)?)?;
    Some(Tlv {
        tag,
        value,
        len: hdr + len,
    })
}

/// The children of a constructed element's contents.
pub fn children(mut b: &[u8]) -> Vec<Tlv<'_>> {
    let mut out = Vec::new();
    while let Some(t) = tlv(b) {
        out.push(t);
        b = b.get(t.len..).unwrap_or_default();
        if out.len() > 64 {
            break;
        }
    }
    out
}

/// The contents of context tag `[n]` among `kids`.
fn ctx<'a>(kids: &[Tlv<'a>], n: u8) -> Option<&'a [u8]> {
    kids.iter().find(|t| t.tag == 0xa0 + n).map(|t| t.value)
}

fn seq_kids(b: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let s = tlv(b)?;
    (s.tag == 0x30).then(|| children(s.value))
}

fn string(b: &[u8]) -> Option<String> {
    let t = tlv(b)?;
    matches!(t.tag, 0x1b | 0x0c | 0x16 | 0x13)
        .then(|| String::from_utf8_lossy(t.value).into_owned())
}

fn integer(b: &[u8]) -> Option<i64> {
    let t = tlv(b)?;
    if t.tag != 0x02 || t.value.is_empty() || t.value.len() > 8 {
        return None;
    }
    let mut v: i64 = if t.value[0] & 0x80 != 0 { -1 } else { 0 };
    for byte in t.value {
        v = (v << 8) | *byte as i64;
    }
    Some(v)
}

/// `PrincipalName` as `a/b`.
fn principal(b: &[u8]) -> Option<String> {
    let kids = seq_kids(b)?;
    let names = tlv(ctx(&kids, 1)?)?;
    let parts: Vec<String> = children(names.value)
        .iter()
        .filter(|t| t.tag == 0x1b || t.tag == 0x0c)
        .map(|t| String::from_utf8_lossy(t.value).into_owned())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// What a Kerberos message says about who asks for what.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KrbInfo {
    /// `AP-REQ`, `AS-REQ`, `AS-REP`, `TGS-REQ`, `TGS-REP`, `KRB-ERROR`.
    pub kind: &'static str,
    pub realm: Option<String>,
    pub sname: Option<String>,
    pub cname: Option<String>,
    pub crealm: Option<String>,
    pub error_code: Option<i64>,
}

fn ticket_names(b: &[u8], info: &mut KrbInfo) {
    // Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno[0], realm[1], sname[2], enc-part[3] }
    let Some(app) = tlv(b) else { return };
    if app.tag != 0x61 {
        return;
    }
    let Some(kids) = seq_kids(app.value) else {
        return;
    };
    info.realm = ctx(&kids, 1).and_then(string);
    info.sname = ctx(&kids, 2).and_then(principal);
}

/// Parse one Kerberos message (AP-REQ or KDC exchange) starting at `b`.
pub fn parse(b: &[u8]) -> Option<KrbInfo> {
    let app = tlv(b)?;
    let kids = seq_kids(app.value)?;
    let mut info = KrbInfo::default();
    match app.tag {
        0x6e => {
            info.kind = "AP-REQ";
            ticket_names(ctx(&kids, 3)?, &mut info);
        }
        0x6a | 0x6c => {
            info.kind = if app.tag == 0x6a { "AS-REQ" } else { "TGS-REQ" };
            let body = seq_kids(ctx(&kids, 4)?)?;
            info.cname = ctx(&body, 1).and_then(principal);
            info.realm = ctx(&body, 2).and_then(string);
            info.sname = ctx(&body, 3).and_then(principal);
            info.crealm = info.realm.clone();
        }
        0x6b | 0x6d => {
            info.kind = if app.tag == 0x6b { "AS-REP" } else { "TGS-REP" };
            info.crealm = ctx(&kids, 3).and_then(string);
            info.cname = ctx(&kids, 4).and_then(principal);
            if let Some(t) = ctx(&kids, 5) {
                ticket_names(t, &mut info);
            }
        }
        0x7e => {
            info.kind = "KRB-ERROR";
            info.error_code = ctx(&kids, 6).and_then(integer);
            info.crealm = ctx(&kids, 7).and_then(string);
            info.cname = ctx(&kids, 8).and_then(principal);
            info.realm = ctx(&kids, 9).and_then(string);
            info.sname = ctx(&kids, 10).and_then(principal);
        }
        _ => return None,
    }
    Some(info)
}

/// An AP-REQ somewhere inside a security blob (SPNEGO / GSS-API wrapped).
pub fn find_ap_req(blob: &[u8]) -> Option<KrbInfo> {
    // GSS-API krb5 token: OID 1.2.840.113554.1.2.2 then token id 01 00, then the AP-REQ.
    const KRB5_OID: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
    ];
    let mut start = 0usize;
    while let Some(i) = crate::util::find(blob.get(start..)?, KRB5_OID) {
        let after = start + i + KRB5_OID.len();
        if blob.get(after..after + 2) == Some(&[0x01, 0x00]) {
            if let Some(info) = blob.get(after + 2..).and_then(parse) {
                return Some(info);
            }
        }
        start = after;
    }
    // Raw AP-REQ (DCE/RPC Kerberos auth type 16 carries it without the GSS wrapper).
    for (i, b) in blob.iter().enumerate().take(64) {
        if *b == 0x6e {
            if let Some(info) = blob.get(i..).and_then(parse) {
                return Some(info);
            }
        }
    }
    None
}

/// Whether the SPNEGO/GSS blob names Kerberos (so the session used it even if no AP-REQ is seen).
pub fn mentions_kerberos(blob: &[u8]) -> bool {
    crate::util::find(
        blob,
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02],
    )
    .is_some()
        || crate::util::find(
            blob,
            &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02],
        )
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths_are_checked() {
        assert!(tlv(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(tlv(&[0x30, 0x85, 0, 0, 0, 0, 1]).is_none());
        assert!(parse(&[0x6e, 0x02, 0x30, 0x00]).is_none());
        let b = [0x1b, 0x03, b'a', b'b', b'c'];
        assert_eq!(string(&b).as_deref(), Some("abc"));
    }
}
