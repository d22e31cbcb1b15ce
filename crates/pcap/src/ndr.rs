//! NDR decoding of the cleartext stubs a hunter needs ([MS-SCMR], [MS-TSCH], [MS-DCOM],
//! [MS-WMI], [MS-OAUT]): services created or changed, AT jobs, scheduled tasks, DCOM
//! activations and IDispatch calls. Every read is bounds-checked; a stub that does not decode
//! yields `None` and the operation is still reported by name.

use std::collections::BTreeMap;

use lateral_model::{f, vocab::event_type as et, UdmEvent};

use crate::dcerpc::{EventKind, CLSIDS};
use crate::emit::executable_of;
use crate::util::{guid_bytes, le32, sub, Rd};

/// A service definition sent to svcctl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDef {
    pub name: String,
    pub display_name: Option<String>,
    pub binary_path: Option<String>,
    pub service_type: u32,
    pub start_type: u32,
    pub access: u32,
    pub start_name: Option<String>,
}

/// What a cleartext request stub says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    Service(ServiceDef),
    ServiceChange {
        service: Option<String>,
        binary_path: Option<String>,
        start_type: u32,
    },
    ServiceOp {
        service: Option<String>,
        machine: Option<String>,
        control: Option<u32>,
    },
    AtJob {
        server: Option<String>,
        command: String,
    },
    Task {
        path: Option<String>,
        command: Option<String>,
        arguments: Option<String>,
        flags: u32,
    },
    TaskPath(String),
    Activation {
        clsid: Option<String>,
        class_name: Option<String>,
    },
    WmiLogin(String),
    WmiCall(Vec<String>),
    DispatchNames(Vec<String>),
    DispatchInvoke {
        strings: Vec<String>,
        shell_command: bool,
    },
}

pub fn op_name(iface: &str, opnum: u16) -> String {
    let name: Option<&str> = match iface {
        "svcctl" => match opnum {
            0 => Some("RCloseServiceHandle"),
            1 => Some("RControlService"),
            2 => Some("RDeleteService"),
            3 => Some("RLockServiceDatabase"),
            4 => Some("RQueryServiceObjectSecurity"),
            5 => Some("RSetServiceObjectSecurity"),
            6 => Some("RQueryServiceStatus"),
            11 => Some("RChangeServiceConfigW"),
            12 => Some("RCreateServiceW"),
            13 => Some("REnumDependentServicesW"),
            14 => Some("REnumServicesStatusW"),
            15 => Some("ROpenSCManagerW"),
            16 => Some("ROpenServiceW"),
            17 => Some("RQueryServiceConfigW"),
            19 => Some("RStartServiceW"),
            20 => Some("RGetServiceDisplayNameW"),
            21 => Some("RGetServiceKeyNameW"),
            23 => Some("RChangeServiceConfigA"),
            24 => Some("RCreateServiceA"),
            27 => Some("ROpenSCManagerA"),
            28 => Some("ROpenServiceA"),
            29 => Some("RQueryServiceConfigA"),
            31 => Some("RStartServiceA"),
            37 => Some("RChangeServiceConfig2W"),
            39 => Some("RQueryServiceConfig2W"),
            40 => Some("RQueryServiceStatusEx"),
            44 => Some("RCreateServiceWOW64A"),
            45 => Some("RCreateServiceWOW64W"),
            60 => Some("RCreateWowService"),
            64 => Some("ROpenSCManager2"),
            _ => None,
        },
        "atsvc" => match opnum {
            0 => Some("NetrJobAdd"),
            1 => Some("NetrJobDel"),
            2 => Some("NetrJobEnum"),
            3 => Some("NetrJobGetInfo"),
            _ => None,
        },
        "ITaskSchedulerService" => match opnum {
            0 => Some("SchRpcHighestVersion"),
            1 => Some("SchRpcRegisterTask"),
            2 => Some("SchRpcRetrieveTask"),
            3 => Some("SchRpcCreateFolder"),
            6 => Some("SchRpcEnumFolders"),
            7 => Some("SchRpcEnumTasks"),
            12 => Some("SchRpcRun"),
            13 => Some("SchRpcDelete"),
            14 => Some("SchRpcRename"),
            16 => Some("SchRpcGetLastRunInfo"),
            17 => Some("SchRpcGetTaskInfo"),
            19 => Some("SchRpcEnableTask"),
            _ => None,
        },
        "ISystemActivator" | "IRemoteSCMActivator" => match opnum {
            3 => Some("RemoteGetClassObject"),
            4 => Some("RemoteCreateInstance"),
            _ => None,
        },
        "IActivation" => (opnum == 0).then_some("RemoteActivation"),
        "IRemUnknown" | "IRemUnknown2" => match opnum {
            3 => Some("RemQueryInterface"),
            4 => Some("RemAddRef"),
            5 => Some("RemRelease"),
            6 => Some("RemQueryInterface2"),
            _ => None,
        },
        "IDispatch" => match opnum {
            3 => Some("GetTypeInfoCount"),
            4 => Some("GetTypeInfo"),
            5 => Some("GetIDsOfNames"),
            6 => Some("Invoke"),
            _ => None,
        },
        "IWbemLevel1Login" => match opnum {
            3 => Some("EstablishPosition"),
            4 => Some("RequestChallenge"),
            5 => Some("WBEMLogin"),
            6 => Some("NTLMLogin"),
            _ => None,
        },
        "IWbemServices" => match opnum {
            3 => Some("OpenNamespace"),
            6 => Some("GetObject"),
            7 => Some("GetObjectAsync"),
            14 => Some("PutInstance"),
            15 => Some("PutInstanceAsync"),
            18 => Some("CreateInstanceEnum"),
            19 => Some("CreateInstanceEnumAsync"),
            20 => Some("ExecQuery"),
            21 => Some("ExecQueryAsync"),
            22 => Some("ExecNotificationQuery"),
            24 => Some("ExecMethod"),
            25 => Some("ExecMethodAsync"),
            _ => None,
        },
        "epm" => match opnum {
            2 => Some("ept_lookup"),
            3 => Some("ept_map"),
            _ => None,
        },
        "samr" => match opnum {
            1 => Some("SamrCloseHandle"),
            5 => Some("SamrLookupDomainInSamServer"),
            6 => Some("SamrEnumerateDomainsInSamServer"),
            7 => Some("SamrOpenDomain"),
            13 => Some("SamrEnumerateUsersInDomain"),
            16 => Some("SamrGetAliasMembership"),
            17 => Some("SamrLookupNamesInDomain"),
            34 => Some("SamrOpenUser"),
            36 => Some("SamrQueryInformationUser"),
            39 => Some("SamrGetGroupsForUser"),
            57 => Some("SamrConnect2"),
            62 => Some("SamrConnect4"),
            64 => Some("SamrConnect5"),
            _ => None,
        },
        "lsarpc" => match opnum {
            0 => Some("LsarClose"),
            6 => Some("LsarOpenPolicy"),
            7 => Some("LsarQueryInformationPolicy"),
            14 => Some("LsarLookupNames"),
            15 => Some("LsarLookupSids"),
            44 => Some("LsarOpenPolicy2"),
            45 => Some("LsarGetUserName"),
            57 => Some("LsarLookupSids2"),
            58 => Some("LsarLookupNames2"),
            _ => None,
        },
        "netlogon" => match opnum {
            4 => Some("NetrServerReqChallenge"),
            15 => Some("NetrServerAuthenticate2"),
            26 => Some("NetrServerAuthenticate3"),
            30 => Some("NetrServerPasswordSet2"),
            45 => Some("NetrLogonSamLogonWithFlags"),
            _ => None,
        },
        "drsuapi" => match opnum {
            0 => Some("IDL_DRSBind"),
            1 => Some("IDL_DRSUnbind"),
            3 => Some("IDL_DRSGetNCChanges"),
            12 => Some("IDL_DRSCrackNames"),
            16 => Some("IDL_DRSDomainControllerInfo"),
            _ => None,
        },
        "srvsvc" => match opnum {
            12 => Some("NetrSessionEnum"),
            15 => Some("NetrShareEnum"),
            16 => Some("NetrShareGetInfo"),
            21 => Some("NetrServerGetInfo"),
            _ => None,
        },
        "winreg" => match opnum {
            2 => Some("OpenLocalMachine"),
            4 => Some("OpenUsers"),
            6 => Some("BaseRegCreateKey"),
            15 => Some("BaseRegOpenKey"),
            17 => Some("BaseRegQueryValue"),
            22 => Some("BaseRegSetValue"),
            _ => None,
        },
        _ => None,
    };
    name.map(str::to_string)
        .unwrap_or_else(|| format!("opnum {opnum}"))
}

// --- NDR primitives (little-endian, alignment relative to the stub start) ---

/// NDR or NDR64 reading over a stub.
struct Ndr<'a> {
    r: Rd<'a>,
    ndr64: bool,
}

impl<'a> Ndr<'a> {
    fn new(stub: &'a [u8], ndr64: bool) -> Self {
        Ndr {
            r: Rd::new(stub),
            ndr64,
        }
    }
    /// A pointer referent id or a count: 4 bytes (NDR) or 8 (NDR64), aligned.
    fn word(&mut self) -> Option<u64> {
        if self.ndr64 {
            self.r.align(8)?;
            self.r.u64()
        } else {
            self.r.align(4)?;
            self.r.u32().map(u64::from)
        }
    }
    fn u32(&mut self) -> Option<u32> {
        self.r.align(4)?;
        self.r.u32()
    }
    fn u8(&mut self) -> Option<u8> {
        self.r.u8()
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        self.r.skip(n)
    }
    fn cv_string(&mut self, wide: bool) -> Option<String> {
        let _max = self.word()?;
        let _off = self.word()?;
        let actual = usize::try_from(self.word()?).ok()?;
        let s = if wide {
            crate::util::utf16(self.r.bytes(actual.checked_mul(2)?)?)
        } else {
            crate::util::ascii(self.r.bytes(actual)?)
        };
        Some(s)
    }
    fn unique_string(&mut self, wide: bool) -> Option<Option<String>> {
        if self.word()? == 0 {
            return Some(None);
        }
        self.cv_string(wide).map(Some)
    }
}

fn create_service(stub: &[u8], wide: bool, ndr64: bool) -> Option<ServiceDef> {
    let mut r = Ndr::new(stub, ndr64);
    r.skip(20)?; // hSCManager
    let name = r.cv_string(wide)?;
    let display_name = r.unique_string(wide)?;
    let access = r.u32()?;
    let service_type = r.u32()?;
    let start_type = r.u32()?;
    let _error_control = r.u32()?;
    let binary_path = r.cv_string(wide);
    let mut start_name = None;
    if binary_path.is_some() {
        // lpLoadOrderGroup, lpdwTagId, lpDependencies(+size), lpServiceStartName.
        let parsed = (|| {
            let _group = r.unique_string(wide)?;
            if r.word()? != 0 {
                r.u32()?;
            }
            if r.word()? != 0 {
                let n = usize::try_from(r.word()?).ok()?;
                r.skip(n)?;
            }
            let _size = r.u32()?;
            r.unique_string(wide)
        })();
        start_name = parsed.flatten();
    }
    Some(ServiceDef {
        name,
        display_name,
        binary_path,
        service_type,
        start_type,
        access,
        start_name,
    })
}

fn handle_name(stub: &[u8], handles: &BTreeMap<Vec<u8>, String>) -> Option<String> {
    handles.get(stub.get(..20)?).cloned()
}

fn tag_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml.get(start..)?.find(&close)?;
    let raw = xml.get(start..end)?;
    Some(
        raw.replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Strings in NDR wire form (conformant varying strings and BSTR blobs) anywhere in a stub.
pub fn wire_strings(stub: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0usize;
    while i + 12 <= stub.len() {
        let (Some(a), Some(mid), Some(c)) = (le32(stub, i), le32(stub, i + 4), le32(stub, i + 8))
        else {
            break;
        };
        let n = c as usize;
        let plausible = n > 0
            && n <= 4096
            && (a == c || (mid == 0 && c <= a && a <= 4096))
            && (mid == 0 || mid == 2 * c);
        if plausible {
            if let Some(chars) = sub(stub, i + 12, n * 2) {
                let units: Vec<u16> = chars
                    .chunks_exact(2)
                    .map(|p| u16::from_le_bytes([p[0], p[1]]))
                    .collect();
                let body: Vec<u16> = units.iter().copied().take_while(|u| *u != 0).collect();
                if !body.is_empty()
                    && body
                        .iter()
                        .all(|u| (0x20..0x7f).contains(u) || (0xa0..0x250).contains(u))
                {
                    out.push(String::from_utf16_lossy(&body));
                    i += 12 + n * 2;
                    i += (4 - i % 4) % 4;
                    continue;
                }
            }
        }
        i += 4;
    }
    out
}

/// Decode a cleartext request stub of an interesting operation.
pub fn decode_request(
    iface: &str,
    opnum: u16,
    ndr64: bool,
    stub: &[u8],
    handles: &BTreeMap<Vec<u8>, String>,
    dispatch_names: &[String],
) -> Option<Decoded> {
    match (iface, opnum) {
        ("svcctl", 12 | 45 | 60) => create_service(stub, true, ndr64).map(Decoded::Service),
        ("svcctl", 24 | 44) => create_service(stub, false, ndr64).map(Decoded::Service),
        ("svcctl", 11 | 23) => {
            let mut r = Ndr::new(stub, ndr64);
            r.skip(20)?;
            let _type = r.u32()?;
            let start_type = r.u32()?;
            let _err = r.u32()?;
            let binary_path = r.unique_string(opnum == 11).flatten();
            Some(Decoded::ServiceChange {
                service: handle_name(stub, handles),
                binary_path,
                start_type,
            })
        }
        ("svcctl", 15 | 27) => {
            let mut r = Ndr::new(stub, ndr64);
            let machine = r.unique_string(opnum == 15).flatten();
            Some(Decoded::ServiceOp {
                service: None,
                machine,
                control: None,
            })
        }
        ("svcctl", 16 | 28) => {
            let mut r = Ndr::new(stub, ndr64);
            r.skip(20)?;
            let name = r.cv_string(opnum == 16)?;
            Some(Decoded::ServiceOp {
                service: Some(name),
                machine: None,
                control: None,
            })
        }
        ("svcctl", 1 | 2 | 19 | 31) => Some(Decoded::ServiceOp {
            service: handle_name(stub, handles),
            machine: None,
            control: if opnum == 1 { le32(stub, 20) } else { None },
        }),
        ("atsvc", 0) => {
            let mut r = Ndr::new(stub, ndr64);
            let server = r.unique_string(true)?;
            let _job_time = r.word()?; // DWORD_PTR
            let _days_of_month = r.u32()?;
            let _days_of_week = r.u8()?;
            let _flags = r.u8()?;
            if r.word()? == 0 {
                return None;
            }
            let command = r.cv_string(true)?;
            Some(Decoded::AtJob { server, command })
        }
        ("ITaskSchedulerService", 1) => {
            let mut r = Ndr::new(stub, ndr64);
            let path = r.unique_string(true)?;
            let xml = r.cv_string(true)?;
            let flags = r.u32().unwrap_or(0);
            let command = tag_text(&xml, "Command");
            let arguments = tag_text(&xml, "Arguments");
            Some(Decoded::Task {
                path,
                command,
                arguments,
                flags,
            })
        }
        ("ITaskSchedulerService", 12 | 13) => {
            let mut r = Ndr::new(stub, ndr64);
            r.cv_string(true).map(Decoded::TaskPath)
        }
        ("ISystemActivator" | "IRemoteSCMActivator", 3 | 4) | ("IActivation", 0) => {
            let found = CLSIDS.iter().find_map(|(id, name)| {
                let b = guid_bytes(id)?;
                crate::util::find(stub, &b).map(|_| (id.to_string(), name.to_string()))
            });
            Some(Decoded::Activation {
                clsid: found.as_ref().map(|(i, _)| i.clone()),
                class_name: found.map(|(_, n)| n),
            })
        }
        ("IWbemLevel1Login", 6) => wire_strings(stub).into_iter().next().map(Decoded::WmiLogin),
        ("IWbemServices", 24 | 25) => Some(Decoded::WmiCall(wire_strings(stub))),
        ("IDispatch", 5) => Some(Decoded::DispatchNames(wire_strings(stub))),
        ("IDispatch", 6) => {
            let strings = wire_strings(stub);
            let shell_command = dispatch_names.iter().any(|n| {
                n.eq_ignore_ascii_case("ExecuteShellCommand")
                    || n.eq_ignore_ascii_case("ShellExecute")
            });
            Some(Decoded::DispatchInvoke {
                strings,
                shell_command,
            })
        }
        _ => None,
    }
}

/// Whether an operation deserves its own event, and of which type.
pub fn event_kind(iface: &str, opnum: u16, decoded: Option<&Decoded>) -> Option<EventKind> {
    let op = op_name(iface, opnum);
    let (event_type, description): (&'static str, String) = match (iface, opnum) {
        ("svcctl", 12 | 24 | 44 | 45 | 60) => (
            et::SERVICE_CREATION,
            format!("Remote service creation ({op})"),
        ),
        ("svcctl", 11 | 23) => (
            et::SERVICE_MODIFICATION,
            format!("Remote service change ({op})"),
        ),
        ("svcctl", 19 | 31) => (et::SERVICE_START, format!("Remote service start ({op})")),
        ("svcctl", 1) => (et::SERVICE_STOP, format!("Remote service control ({op})")),
        ("svcctl", 2) => (
            et::SERVICE_UNSPECIFIED,
            format!("Remote service deletion ({op})"),
        ),
        ("svcctl", 15 | 27 | 64) => (
            et::SERVICE_UNSPECIFIED,
            format!("Service control manager opened remotely ({op})"),
        ),
        ("svcctl", 16 | 28) => (
            et::SERVICE_UNSPECIFIED,
            format!("Service opened remotely ({op})"),
        ),
        ("atsvc", 0) => (
            et::SCHEDULED_TASK_CREATION,
            "Remote AT job added (NetrJobAdd)".to_string(),
        ),
        ("atsvc", 1) => (
            et::SCHEDULED_TASK_DELETION,
            "Remote AT job deleted (NetrJobDel)".to_string(),
        ),
        ("ITaskSchedulerService", 1) => (
            et::SCHEDULED_TASK_CREATION,
            format!("Remote scheduled task registered ({op})"),
        ),
        ("ITaskSchedulerService", 12) => (
            et::GENERIC_EVENT,
            format!("Remote scheduled task run ({op})"),
        ),
        ("ITaskSchedulerService", 13) => (
            et::SCHEDULED_TASK_DELETION,
            format!("Remote scheduled task deleted ({op})"),
        ),
        ("ISystemActivator" | "IRemoteSCMActivator", 3 | 4) | ("IActivation", 0) => {
            (et::GENERIC_EVENT, format!("Remote DCOM activation ({op})"))
        }
        ("IWbemLevel1Login", 6) => (
            et::GENERIC_EVENT,
            "Remote WMI login (IWbemLevel1Login::NTLMLogin)".to_string(),
        ),
        ("IWbemServices", 24 | 25) => (
            et::PROCESS_LAUNCH,
            format!("Remote WMI method execution (IWbemServices::{op})"),
        ),
        ("IDispatch", 6) => match decoded {
            Some(Decoded::DispatchInvoke {
                shell_command: true,
                ..
            }) => (
                et::PROCESS_LAUNCH,
                "Remote DCOM shell command (IDispatch::Invoke ExecuteShellCommand)".to_string(),
            ),
            _ => return None,
        },
        _ => return None,
    };
    Some(EventKind {
        event_type,
        description,
    })
}

fn start_type_text(t: u32) -> String {
    let name = match t {
        0 => "boot",
        1 => "system",
        2 => "auto",
        3 => "demand",
        4 => "disabled",
        _ => "unknown",
    };
    format!("{name} start ({t})")
}

/// The MMC20 `ExecuteShellCommand(Command, Directory, Parameters, WindowState)` command line
/// from an Invoke's strings (DISPPARAMS carries arguments last-first): the command, then the
/// parameters; directories and window states are left out.
pub fn shell_command(strings: &[String]) -> Option<String> {
    let mut args = strings.iter().rev();
    let command = args.next()?;
    let mut out = command.clone();
    for a in args {
        let t = a.trim();
        let is_dir = t.ends_with('\\') || (t.len() == 2 && t.ends_with(':'));
        if t.is_empty() || is_dir || t.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        out.push(' ');
        out.push_str(t);
    }
    Some(out)
}

/// Put a decoded stub into an event.
pub fn apply(
    d: &Decoded,
    e: &mut UdmEvent,
    desc: &mut String,
    _handles: &BTreeMap<Vec<u8>, String>,
) {
    match d {
        Decoded::Service(s) => {
            e.set_str(f::TARGET_APPLICATION, s.name.clone());
            e.set_str(f::TARGET_RESOURCE, s.name.clone());
            if let Some(b) = &s.binary_path {
                e.set_str(f::TARGET_CMD, b.clone());
                e.set_str(f::TARGET_PATH, executable_of(b));
            }
            if let Some(dn) = &s.display_name {
                e.additional
                    .insert("service_display_name".into(), dn.clone());
            }
            if let Some(a) = &s.start_name {
                e.set_str(f::TARGET_USERID, a.clone());
            }
            e.additional
                .insert("service_start_type".into(), start_type_text(s.start_type));
            e.additional
                .insert("service_type".into(), format!("{:#x}", s.service_type));
            e.additional
                .insert("service_access".into(), format!("{:#x}", s.access));
            desc.push_str(&format!(": {}", s.name));
        }
        Decoded::ServiceChange {
            service,
            binary_path,
            start_type,
        } => {
            if let Some(n) = service {
                e.set_str(f::TARGET_APPLICATION, n.clone());
                e.set_str(f::TARGET_RESOURCE, n.clone());
                desc.push_str(&format!(": {n}"));
            }
            if let Some(b) = binary_path {
                e.set_str(f::TARGET_CMD, b.clone());
                e.set_str(f::TARGET_PATH, executable_of(b));
            }
            e.additional
                .insert("service_start_type".into(), start_type_text(*start_type));
        }
        Decoded::ServiceOp {
            service,
            machine,
            control,
        } => {
            if let Some(n) = service {
                e.set_str(f::TARGET_APPLICATION, n.clone());
                e.set_str(f::TARGET_RESOURCE, n.clone());
                desc.push_str(&format!(": {n}"));
            }
            if let Some(m) = machine {
                e.additional.insert("scm_machine_name".into(), m.clone());
            }
            if let Some(c) = control {
                e.additional.insert("service_control".into(), c.to_string());
                if *c == 1 {
                    desc.push_str(" (stop)");
                }
            }
        }
        Decoded::AtJob { server, command } => {
            e.set_str(f::TARGET_CMD, command.clone());
            e.set_str(f::TARGET_PATH, executable_of(command));
            if let Some(s) = server {
                e.additional.insert("at_server".into(), s.clone());
            }
            desc.push_str(&format!(": {command}"));
        }
        Decoded::Task {
            path,
            command,
            arguments,
            flags,
        } => {
            if let Some(p) = path {
                e.set_str(f::TARGET_RESOURCE, p.clone());
                e.set_str(f::TARGET_APPLICATION, p.clone());
                desc.push_str(&format!(": {p}"));
            }
            if let Some(c) = command {
                let full = match arguments {
                    Some(a) => format!("{c} {a}"),
                    None => c.clone(),
                };
                e.set_str(f::TARGET_CMD, full);
                e.set_str(f::TARGET_PATH, c.clone());
            }
            e.additional
                .insert("task_flags".into(), format!("{flags:#x}"));
        }
        Decoded::TaskPath(p) => {
            e.set_str(f::TARGET_RESOURCE, p.clone());
            e.set_str(f::TARGET_APPLICATION, p.clone());
            desc.push_str(&format!(": {p}"));
        }
        Decoded::Activation { clsid, class_name } => {
            if let Some(c) = clsid {
                e.set_str(f::TARGET_RESOURCE, c.to_ascii_uppercase());
                e.additional.insert("dcom_clsid".into(), c.clone());
            }
            if let Some(n) = class_name {
                e.set_str(f::TARGET_APPLICATION, n.clone());
                desc.push_str(&format!(" of {n}"));
            }
        }
        Decoded::WmiLogin(ns) => {
            e.set_str(f::TARGET_RESOURCE, ns.clone());
            desc.push_str(&format!(": {ns}"));
        }
        Decoded::WmiCall(strings) => {
            if !strings.is_empty() {
                e.additional
                    .insert("wmi_strings".into(), strings.join(" | "));
                desc.push_str(&format!(": {}", strings.join(" ")));
            }
        }
        Decoded::DispatchNames(names) => {
            e.additional
                .insert("dispatch_names".into(), names.join(","));
        }
        Decoded::DispatchInvoke { strings, .. } => {
            e.additional
                .insert("dispatch_strings".into(), strings.join(" | "));
            if let Some(cmd) = shell_command(strings) {
                e.set_str(f::TARGET_CMD, cmd.clone());
                e.set_str(f::TARGET_PATH, executable_of(&cmd));
                e.set_str(f::TARGET_APPLICATION, "MMC20.Application");
                desc.push_str(&format!(": {cmd}"));
            }
        }
    }
}

/// (IP, port) pairs from an endpoint-mapper `ept_map` answer: towers whose floors name TCP
/// (0x07) and IP (0x09). An empty or 0.0.0.0 IP means the server itself.
pub fn epm_endpoints(resp: &[u8]) -> Vec<(String, u16)> {
    let mut out = Vec::new();
    let pat: &[u8] = &[0x01, 0x00, 0x07, 0x02, 0x00];
    let mut start = 0usize;
    while let Some(i) = resp.get(start..).and_then(|r| crate::util::find(r, pat)) {
        let at = start + i + pat.len();
        if let Some(port) = crate::util::be16(resp, at) {
            let ip_floor = at + 2;
            let ip = if resp.get(ip_floor..ip_floor + 5) == Some(&[0x01, 0x00, 0x09, 0x04, 0x00]) {
                sub(resp, ip_floor + 5, 4)
                    .map(|b| std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]))
                    .filter(|a| !a.is_unspecified())
                    .map(|a| a.to_string())
                    .unwrap_or_default()
            } else {
                String::new()
            };
            if port != 0 && !out.contains(&(ip.clone(), port)) {
                out.push((ip, port));
            }
        }
        start = at;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cvs(out: &mut Vec<u8>, s: &str) {
        let u: Vec<u8> = s
            .encode_utf16()
            .chain([0])
            .flat_map(|c| c.to_le_bytes())
            .collect();
        let n = (u.len() / 2) as u32;
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&u);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }

    #[test]
    fn create_service_w_decodes_and_cut_stubs_do_not_panic() {
        let mut s = vec![0u8; 20];
        cvs(&mut s, "PSEXESVC");
        s.extend_from_slice(&0x20000u32.to_le_bytes());
        cvs(&mut s, "PSEXESVC");
        for v in [0xf01ffu32, 0x10, 3, 0] {
            s.extend_from_slice(&v.to_le_bytes());
        }
        cvs(&mut s, "%SystemRoot%\\PSEXESVC.exe");
        s.extend_from_slice(&[0u8; 24]);
        let Some(Decoded::Service(d)) =
            decode_request("svcctl", 45, false, &s, &BTreeMap::new(), &[])
        else {
            panic!("not decoded");
        };
        assert_eq!(d.name, "PSEXESVC");
        assert_eq!(d.binary_path.as_deref(), Some("%SystemRoot%\\PSEXESVC.exe"));
        assert_eq!(d.start_type, 3);
        for cut in 0..s.len() {
            let _ = decode_request("svcctl", 12, false, &s[..cut], &BTreeMap::new(), &[]);
        }
    }

    #[test]
    fn shell_command_from_dispparams() {
        let v: Vec<String> = ["7", "/c hostname", "C:\\", "cmd"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(shell_command(&v).as_deref(), Some("cmd /c hostname"));
    }
}
