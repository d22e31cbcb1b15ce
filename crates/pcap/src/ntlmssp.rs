//! NTLMSSP ([MS-NLMP]): the server's CHALLENGE target information (NetBIOS and DNS names of the
//! computer and domain) and the client's AUTHENTICATE (user, domain, workstation, v1/v2,
//! anonymous). Messages are found by their signature inside SMB security blobs, SPNEGO tokens
//! and DCE/RPC auth verifiers.

use crate::util::{ascii, find, le16, le32, sub, utf16};

const SIG: &[u8] = b"NTLMSSP\0";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenge {
    pub nb_computer: Option<String>,
    pub nb_domain: Option<String>,
    pub dns_computer: Option<String>,
    pub dns_domain: Option<String>,
    pub target_name: Option<String>,
    /// Windows version major.minor.build from the version field, when sent.
    pub os_version: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authenticate {
    pub user: String,
    pub domain: String,
    pub workstation: String,
    /// `NTLMv1`, `NTLMv2` or `anonymous`.
    pub version: &'static str,
    pub anonymous: bool,
    /// The SPN the client aimed at (MsvAvTargetName in the NTLMv2 response), when present.
    pub target_spn: Option<String>,
    /// Server NetBIOS computer name repeated in the NTLMv2 response, when present.
    pub nb_computer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Negotiate,
    Challenge(Challenge),
    Authenticate(Authenticate),
}

/// The NTLMSSP message inside `blob`, if any.
pub fn find_message(blob: &[u8]) -> Option<Message> {
    let at = find(blob, SIG)?;
    parse(blob.get(at..)?)
}

/// One NTLMSSP message starting at its signature.
pub fn parse(m: &[u8]) -> Option<Message> {
    if m.get(..8)? != SIG {
        return None;
    }
    match le32(m, 8)? {
        1 => Some(Message::Negotiate),
        2 => challenge(m).map(Message::Challenge),
        3 => authenticate(m).map(Message::Authenticate),
        _ => None,
    }
}

fn field(m: &[u8], at: usize) -> Option<&[u8]> {
    let len = le16(m, at)? as usize;
    let off = le32(m, at + 4)? as usize;
    if len == 0 {
        return Some(&[]);
    }
    sub(m, off, len)
}

fn av_pairs(b: &[u8], mut each: impl FnMut(u16, &[u8])) {
    let mut pos = 0usize;
    while let (Some(id), Some(len)) = (le16(b, pos), le16(b, pos + 2)) {
        if id == 0 {
            break;
        }
        let Some(v) = sub(b, pos + 4, len as usize) else {
            break;
        };
        each(id, v);
        pos += 4 + len as usize;
    }
}

fn nonempty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn challenge(m: &[u8]) -> Option<Challenge> {
    let flags = le32(m, 20)?;
    let mut c = Challenge::default();
    if let Some(t) = field(m, 12) {
        c.target_name = nonempty(if flags & 1 != 0 { utf16(t) } else { ascii(t) });
    }
    if let Some(info) = field(m, 40) {
        av_pairs(info, |id, v| {
            let s = nonempty(utf16(v));
            match id {
                1 => c.nb_computer = s,
                2 => c.nb_domain = s,
                3 => c.dns_computer = s,
                4 => c.dns_domain = s,
                _ => {}
            }
        });
    }
    if flags & 0x0200_0000 != 0 {
        if let Some(v) = sub(m, 48, 4) {
            c.os_version = Some(format!(
                "{}.{}.{}",
                v[0],
                v[1],
                u16::from_le_bytes([v[2], v[3]])
            ));
        }
    }
    Some(c)
}

fn authenticate(m: &[u8]) -> Option<Authenticate> {
    let flags = le32(m, 60).unwrap_or(1);
    let text = |b: &[u8]| if flags & 1 != 0 { utf16(b) } else { ascii(b) };
    let lm = field(m, 12).unwrap_or_default();
    let nt = field(m, 20).unwrap_or_default();
    let mut a = Authenticate {
        domain: text(field(m, 28)?),
        user: text(field(m, 36)?),
        workstation: field(m, 44).map(text).unwrap_or_default(),
        ..Default::default()
    };
    a.anonymous = a.user.is_empty() && nt.is_empty() && lm.len() <= 1;
    a.version = if a.anonymous {
        "anonymous"
    } else if nt.len() > 24 {
        "NTLMv2"
    } else {
        "NTLMv1"
    };
    if nt.len() > 44 {
        if let Some(pairs) = nt.get(44..) {
            av_pairs(pairs, |id, v| match id {
                1 => a.nb_computer = nonempty(utf16(v)),
                9 => a.target_spn = nonempty(utf16(v)),
                _ => {}
            });
        }
    }
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16s(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
    }

    #[test]
    fn authenticate_fields_and_garbage() {
        let user = u16s("JeffV");
        let dom = u16s("contoso.local");
        let ws = u16s("WS1");
        let mut m = b"NTLMSSP\0".to_vec();
        m.extend_from_slice(&3u32.to_le_bytes());
        let base = 64u32;
        let mut payload = Vec::new();
        let mut fieldv = |m: &mut Vec<u8>, data: &[u8]| {
            let off = base + payload.len() as u32;
            m.extend_from_slice(&(data.len() as u16).to_le_bytes());
            m.extend_from_slice(&(data.len() as u16).to_le_bytes());
            m.extend_from_slice(&off.to_le_bytes());
            payload.extend_from_slice(data);
        };
        fieldv(&mut m, &[0; 24]);
        fieldv(&mut m, &[0; 60]);
        fieldv(&mut m, &dom);
        fieldv(&mut m, &user);
        fieldv(&mut m, &ws);
        fieldv(&mut m, &[]);
        m.extend_from_slice(&1u32.to_le_bytes());
        m.extend_from_slice(&payload);
        let Some(Message::Authenticate(a)) = parse(&m) else {
            panic!("no auth");
        };
        assert_eq!(
            (a.user.as_str(), a.domain.as_str(), a.workstation.as_str()),
            ("JeffV", "contoso.local", "WS1")
        );
        assert_eq!(a.version, "NTLMv2");
        for cut in 0..m.len() {
            let _ = parse(&m[..cut]);
        }
    }
}
