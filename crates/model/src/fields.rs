//! The field catalogue: every column of the event table, named by its UDM path.
//!
//! The catalogue is the single source of truth for the Arrow schema, for the query
//! compiler (which needs each field's type and matching semantics) and for the
//! schema document (`docs/schema.md`). Fields outside Google's UDM are prefixed
//! `lateral.` or documented as extensions (`principal.logon_id`, `target.logon_id`).

use std::fmt;

/// Storage type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 string.
    Str,
    /// Signed 64-bit integer (ports, process ids, record numbers).
    Int,
    /// Microseconds since the Unix epoch, UTC.
    Timestamp,
    /// Boolean flag.
    Bool,
    /// String-to-string map (`additional.fields`).
    Map,
}

/// How values of a field compare in the query language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Semantic {
    /// Case-sensitive text unless `nocase` is given.
    Text,
    /// An enumeration (`metadata.event_type`, `network.direction`, ...): compared case-insensitively.
    Enum,
    /// A Windows path: compared case-insensitively; a bare file name matches the file name part.
    Path,
    /// A command line: compared case-sensitively unless `nocase`; `CONTAINS` is case-insensitive.
    CommandLine,
    /// A host name: case-insensitive, and a short name matches the FQDN and back.
    Hostname,
    /// A user name: compared case-insensitively (Windows accounts are case-insensitive).
    User,
    /// An IP address (string form, IPv6 compressed, lower case).
    Ip,
    /// A number.
    Number,
    /// A point in time.
    Time,
    /// A flag.
    Flag,
    /// The `additional.fields` map.
    Map,
}

/// One column of the event table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDef {
    /// The UDM path, used as the Arrow column name (for example `principal.process.file.full_path`).
    pub name: &'static str,
    pub kind: Kind,
    pub semantic: Semantic,
    /// One line for the schema document.
    pub doc: &'static str,
}

/// Index of a field in [`FIELDS`]; cheap to copy, used by [`crate::UdmEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Field(pub usize);

impl Field {
    pub fn def(self) -> &'static FieldDef {
        &FIELDS[self.0]
    }
    pub fn name(self) -> &'static str {
        FIELDS[self.0].name
    }
    /// Look a field up by its UDM path (snake_case). Also accepts proto-JSON camelCase.
    pub fn by_name(name: &str) -> Option<Field> {
        if let Some(i) = FIELDS.iter().position(|f| f.name == name) {
            return Some(Field(i));
        }
        let snake = camel_to_snake_path(name);
        FIELDS.iter().position(|f| f.name == snake).map(Field)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `principal.process.file.fullPath` -> `principal.process.file.full_path`.
pub fn camel_to_snake_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `principal.process.file.full_path` -> `principal.process.file.fullPath`.
pub fn snake_to_camel_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut up = false;
    for c in path.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.push(c.to_ascii_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

macro_rules! catalogue {
    ($( $ident:ident = $name:literal : $kind:ident / $sem:ident , $doc:literal ;)*) => {
        /// Every field of the event table, in column order.
        pub const FIELDS: &[FieldDef] = &[
            $( FieldDef { name: $name, kind: Kind::$kind, semantic: Semantic::$sem, doc: $doc }, )*
        ];
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        enum FieldIndex { $( $ident, )* }
        /// Named handles for every field, for readers and mappers.
        pub mod f {
            use super::{Field, FieldIndex};
            $( pub const $ident: Field = Field(FieldIndex::$ident as usize); )*
        }
    };
}

catalogue! {
    EVENT_TIMESTAMP = "metadata.event_timestamp": Timestamp/Time, "When the event happened (UTC).";
    EVENT_TYPE = "metadata.event_type": Str/Enum, "UDM event type (PROCESS_LAUNCH, USER_LOGIN, SERVICE_CREATION, ...).";
    PRODUCT_EVENT_TYPE = "metadata.product_event_type": Str/Text, "The product's own event id (Windows EventID as text, e.g. \"4624\").";
    PRODUCT_NAME = "metadata.product_name": Str/Text, "Provider name (Microsoft-Windows-Security-Auditing, Service Control Manager, ...).";
    VENDOR_NAME = "metadata.vendor_name": Str/Text, "Vendor (Microsoft for Windows events).";
    LOG_TYPE = "metadata.log_type": Str/Enum, "SecOps log type (WINEVTLOG, WINDOWS_SYSMON, POWERSHELL, ...).";
    DESCRIPTION = "metadata.description": Str/CommandLine, "Short description of the event (for WMI/PowerShell: the operation or script).";
    PRODUCT_LOG_ID = "metadata.product_log_id": Str/Text, "EventRecordID of the record in its log.";
    PRINCIPAL_HOSTNAME = "principal.hostname": Str/Hostname, "Actor host: the host where the action started (source workstation for logons).";
    PRINCIPAL_IP = "principal.ip": Str/Ip, "Actor IP address.";
    PRINCIPAL_PORT = "principal.port": Int/Number, "Actor port.";
    PRINCIPAL_DOMAIN = "principal.administrative_domain": Str/User, "Actor account domain.";
    PRINCIPAL_USERID = "principal.user.userid": Str/User, "Actor account name (subject user).";
    PRINCIPAL_SID = "principal.user.windows_sid": Str/Text, "Actor account SID.";
    PRINCIPAL_LOGON_ID = "principal.logon_id": Str/Text, "Extension: the actor's logon id (SubjectLogonId), lower-case hex.";
    PRINCIPAL_PID = "principal.process.pid": Int/Number, "Actor process id (parent process for launches).";
    PRINCIPAL_GUID = "principal.process.product_specific_process_id": Str/Text, "Actor process GUID (Sysmon).";
    PRINCIPAL_PATH = "principal.process.file.full_path": Str/Path, "Actor process image path.";
    PRINCIPAL_CMD = "principal.process.command_line": Str/CommandLine, "Actor process command line.";
    PRINCIPAL_FILE_PATH = "principal.file.full_path": Str/Path, "File acted from (rarely used).";
    TARGET_HOSTNAME = "target.hostname": Str/Hostname, "Target host: where the action landed (destination of a connection, logon host).";
    TARGET_IP = "target.ip": Str/Ip, "Target IP address.";
    TARGET_PORT = "target.port": Int/Number, "Target port.";
    TARGET_DOMAIN = "target.administrative_domain": Str/User, "Target account domain.";
    TARGET_USERID = "target.user.userid": Str/User, "Target account name (the account logged on, created or impersonated).";
    TARGET_SID = "target.user.windows_sid": Str/Text, "Target account SID.";
    TARGET_LOGON_ID = "target.logon_id": Str/Text, "Extension: the new logon's id (TargetLogonId), lower-case hex.";
    TARGET_PID = "target.process.pid": Int/Number, "Launched or acted-on process id.";
    TARGET_GUID = "target.process.product_specific_process_id": Str/Text, "Launched process GUID (Sysmon).";
    TARGET_PATH = "target.process.file.full_path": Str/Path, "Launched process image (for services: the executable of the ImagePath).";
    TARGET_CMD = "target.process.command_line": Str/CommandLine, "Launched process command line (for services: the full ImagePath).";
    TARGET_SHA256 = "target.process.file.sha256": Str/Text, "SHA-256 of the launched image, when logged.";
    TARGET_MD5 = "target.process.file.md5": Str/Text, "MD5 of the launched image, when logged.";
    TARGET_SHA1 = "target.process.file.sha1": Str/Text, "SHA-1 of the launched image, when logged.";
    TARGET_FILE_PATH = "target.file.full_path": Str/Path, "File acted on (created file, share-relative target name, pipe name, loaded image).";
    TARGET_RESOURCE = "target.resource.name": Str/Text, "Resource acted on (share name, scheduled task name, WMI namespace).";
    TARGET_APPLICATION = "target.application": Str/Text, "Application acted on (service name, task name).";
    TARGET_REG_KEY = "target.registry.registry_key": Str/Path, "Registry key.";
    TARGET_REG_VALUE_NAME = "target.registry.registry_value_name": Str/Text, "Registry value name.";
    TARGET_REG_VALUE_DATA = "target.registry.registry_value_data": Str/CommandLine, "Registry value data.";
    TARGET_URL = "target.url": Str/Text, "Target URL (WinRM resource URI, DNS query name).";
    SRC_HOSTNAME = "src.hostname": Str/Hostname, "Source host, where the actor's host is not the source (e.g. workstation name of a network logon).";
    SRC_IP = "src.ip": Str/Ip, "Source IP address.";
    SRC_PORT = "src.port": Int/Number, "Source port.";
    SRC_DOMAIN = "src.administrative_domain": Str/User, "Source account domain.";
    SRC_USERID = "src.user.userid": Str/User, "Source account name.";
    SRC_SID = "src.user.windows_sid": Str/Text, "Source account SID.";
    SRC_PID = "src.process.pid": Int/Number, "Source process id.";
    SRC_GUID = "src.process.product_specific_process_id": Str/Text, "Source process GUID.";
    SRC_PATH = "src.process.file.full_path": Str/Path, "Source process image.";
    SRC_CMD = "src.process.command_line": Str/CommandLine, "Source process command line.";
    OBSERVER_HOSTNAME = "observer.hostname": Str/Hostname, "The host that wrote the event (Windows System/Computer), whatever its role in the event.";
    IP_PROTOCOL = "network.ip_protocol": Str/Enum, "TCP, UDP, ICMP.";
    APP_PROTOCOL = "network.application_protocol": Str/Enum, "SMB, DCERPC, RDP, KRB5, ...";
    DIRECTION = "network.direction": Str/Enum, "INBOUND or OUTBOUND.";
    ACTION = "security_result.action": Str/Enum, "ALLOW, BLOCK, FAIL, UNKNOWN_ACTION.";
    SECURITY_SUMMARY = "security_result.summary": Str/Text, "Outcome detail (status code, failure reason).";
    AUTH_MECHANISM = "extensions.auth.mechanism": Str/Enum, "Logon type as UDM mechanism (NETWORK, INTERACTIVE, NEW_CREDENTIALS, ...).";
    AUTH_DETAILS = "extensions.auth.auth_details": Str/Text, "Authentication package (NTLM, Kerberos, Negotiate) and version.";
    ADDITIONAL = "additional.fields": Map/Map, "Every source field not placed elsewhere, by its original name.";
    SOURCE_FILE = "lateral.source_file": Str/Text, "Provenance: evidence file (archive members as archive!member).";
    SOURCE_FORMAT = "lateral.source_format": Str/Enum, "Provenance: reader that produced the event (EVTX, JSON_NXLOG, JSON_UDM, XML, ...).";
    RECORD_NUMBER = "lateral.record_number": Int/Number, "Provenance: record number (EVTX) or line number (JSON lines).";
    BYTE_OFFSET = "lateral.byte_offset": Int/Number, "Provenance: byte offset of the record in the (decompressed) file, when known.";
    CHANNEL = "lateral.channel": Str/Enum, "Windows event log channel (Security, System, Microsoft-Windows-Sysmon/Operational, ...).";
    EVENT_ID = "lateral.event_id": Int/Number, "Windows EventID as a number.";
    LOOPBACK = "lateral.loopback": Bool/Flag, "True when the actor address is loopback (127.0.0.0/8, ::1) or the source is the host itself.";
    RAW = "lateral.raw": Str/Text, "The original record (JSON or XML text) as read.";
}

/// Number of columns.
pub fn field_count() -> usize {
    FIELDS.len()
}

/// All fields, in column order.
pub fn all_fields() -> impl Iterator<Item = Field> {
    (0..FIELDS.len()).map(Field)
}

/// The schema document (`docs/schema.md`), generated from the catalogue so it never drifts.
pub fn schema_markdown() -> String {
    let mut s = String::from(
        "# Event schema\n\n\
         Every event lateral reads is normalised into one table whose columns are named by \
         Google SecOps UDM paths. Readers fill what the source holds; every source field \
         that has no UDM place is kept in `additional.fields` under its original name. \
         Fields marked *extension* are not part of Google's UDM.\n\n\
         Generated by `lateral fields --format md`; a test keeps it in sync.\n\n\
         | field | type | matching | meaning |\n|---|---|---|---|\n",
    );
    for f in FIELDS {
        let ext = if f.name.starts_with("lateral.") || f.name.ends_with("logon_id") {
            " *extension*"
        } else {
            ""
        };
        s.push_str(&format!(
            "| `{}` | {:?} | {:?} | {}{} |\n",
            f.name, f.kind, f.semantic, f.doc, ext
        ));
    }
    s.push_str(
        "\nMatching: *Enum*, *Path*, *Hostname* and *User* fields compare case-insensitively; a \
         bare file name matches the file-name part of a *Path*; a short host name matches its \
         FQDN. *Text*, *CommandLine* and *Ip* compare exactly unless `nocase` is given; \
         `CONTAINS` is always case-insensitive.\n",
    );
    s
}

/// Suggest the nearest known field name for a misspelt one (for error messages).
pub fn suggest(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    FIELDS
        .iter()
        .map(|f| (edit_distance(&lower, f.name), f.name))
        .filter(|(d, n)| *d <= (n.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_lookup_works() {
        let mut names: Vec<_> = FIELDS.iter().map(|f| f.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), FIELDS.len());
        assert_eq!(Field::by_name("target.port"), Some(f::TARGET_PORT));
        assert_eq!(
            Field::by_name("principal.process.file.fullPath"),
            Some(f::PRINCIPAL_PATH)
        );
        assert_eq!(Field::by_name("nope"), None);
    }

    #[test]
    fn suggestions_find_near_misses() {
        assert_eq!(suggest("target.prot"), Some("target.port"));
        assert_eq!(
            suggest("principal.process.file.fullpath"),
            Some("principal.process.file.full_path")
        );
        assert_eq!(suggest("zzzzzzzzzzzzzzzzzzzz"), None);
    }

    #[test]
    fn schema_doc_is_in_sync() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/schema.md");
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            doc == schema_markdown(),
            "docs/schema.md is stale: run `cargo run -q -- fields --format md > docs/schema.md`"
        );
    }

    #[test]
    fn camel_and_snake_round_trip() {
        for f in FIELDS {
            assert_eq!(camel_to_snake_path(&snake_to_camel_path(f.name)), f.name);
        }
    }
}
