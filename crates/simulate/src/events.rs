//! One builder per event type: each takes the simulated objects (processes, logons,
//! accounts) and writes the event data under the names and in the formats Windows and Sysmon
//! use. Composite actions (launch a process, start a service, log on) are built from these.

use crate::catalog;
use crate::host::{Account, Host, Logon, Proc, NETWORK_SERVICE_SID, SYSTEM_SID};
use crate::nxlog::Channel;
use crate::time::{sysmon_utc, Ms};

type Data = Vec<(&'static str, String)>;

const NULL_SID: &str = "S-1-0-0";
const NULL_GUID: &str = "{00000000-0000-0000-0000-000000000000}";
const PRIVILEGES_SYSTEM: &str = "SeAssignPrimaryTokenPrivilege\r\n\t\t\tSeTcbPrivilege\r\n\t\t\tSeSecurityPrivilege\r\n\t\t\tSeTakeOwnershipPrivilege\r\n\t\t\tSeLoadDriverPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeRestorePrivilege\r\n\t\t\tSeDebugPrivilege\r\n\t\t\tSeAuditPrivilege\r\n\t\t\tSeSystemEnvironmentPrivilege\r\n\t\t\tSeImpersonatePrivilege\r\n\t\t\tSeDelegateSessionUserImpersonatePrivilege";
const PRIVILEGES_ADMIN: &str = "SeSecurityPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeRestorePrivilege\r\n\t\t\tSeTakeOwnershipPrivilege\r\n\t\t\tSeDebugPrivilege\r\n\t\t\tSeSystemEnvironmentPrivilege\r\n\t\t\tSeLoadDriverPrivilege\r\n\t\t\tSeImpersonatePrivilege\r\n\t\t\tSeDelegateSessionUserImpersonatePrivilege";

fn hex(n: u64) -> String {
    format!("{n:#x}")
}

fn s(v: &str) -> String {
    v.to_string()
}

/// How a process is started: image, command line, and optionally another logon, working
/// directory or a fixed process id.
#[derive(Debug, Clone, Copy)]
pub struct Launch<'a> {
    pub image: &'a str,
    pub cmd: &'a str,
    pub logon: Option<&'a Logon>,
    pub cwd: Option<&'a str>,
    pub pid: Option<u32>,
}

impl<'a> Launch<'a> {
    pub fn new(image: &'a str, cmd: &'a str) -> Self {
        Launch {
            image,
            cmd,
            logon: None,
            cwd: None,
            pid: None,
        }
    }

    /// Run under another logon session (services, WMI, PsExec).
    pub fn as_logon(mut self, logon: &'a Logon) -> Self {
        self.logon = Some(logon);
        self
    }

    pub fn cwd(mut self, cwd: &'a str) -> Self {
        self.cwd = Some(cwd);
        self
    }

    pub fn pid(mut self, pid: u32) -> Self {
        self.pid = Some(pid);
        self
    }
}

/// Package that authenticated a logon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Kerberos,
    Ntlm,
    Negotiate,
}

/// The variable parts of a 4624.
#[derive(Debug, Clone, Copy)]
pub struct LogonEvent<'a> {
    pub logon: &'a Logon,
    pub logon_type: u8,
    /// `None` for network logons (NULL SID subject).
    pub subject: Option<&'a Logon>,
    pub process: Option<&'a Proc>,
    pub logon_process: &'a str,
    pub auth: Auth,
    pub workstation: &'a str,
    pub ip: &'a str,
    pub port: &'a str,
    pub linked: u64,
}

/// The remote side of an SMB session (5140/5145).
#[derive(Debug, Clone, Copy)]
pub struct SmbClient<'a> {
    pub logon: &'a Logon,
    pub ip: &'a str,
    pub port: u16,
}

/// What a 5145 asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `0x2` WriteData (or AddFile): a file written through an admin share.
    WriteData,
    /// `0x12019f`: a named pipe opened read/write over IPC$.
    PipeReadWrite,
}

/// The server side of a 4648.
#[derive(Debug, Clone, Copy)]
pub struct Explicit<'a> {
    pub target: &'a Account,
    pub server: &'a str,
    pub info: &'a str,
    pub ip: &'a str,
    pub port: &'a str,
}

/// Both ends of a Sysmon 3 connection, as logged.
#[derive(Debug, Clone, Copy)]
pub struct Conn<'a> {
    pub udp: bool,
    pub initiated: bool,
    pub src_ip: &'a str,
    pub src_host: &'a str,
    pub src_port: u16,
    pub dst_ip: &'a str,
    pub dst_host: &'a str,
    pub dst_port: u16,
}

fn port_name(port: u16) -> &'static str {
    match port {
        53 => "domain",
        80 => "http",
        88 => "kerberos",
        135 => "epmap",
        389 => "ldap",
        443 => "https",
        445 => "microsoft-ds",
        _ => "-",
    }
}

impl Host {
    // ---------------------------------------------------------------- Sysmon

    /// Sysmon 1: process creation.
    pub fn sysmon_process(&mut self, t: Ms, child: &Proc, parent: &Proc) {
        let pe = catalog::pe_info(&child.image);
        let data: Data = vec![
            ("RuleName", s("-")),
            ("UtcTime", sysmon_utc(t)),
            ("ProcessGuid", child.guid.clone()),
            ("ProcessId", child.pid.to_string()),
            ("Image", child.image.clone()),
            ("FileVersion", s(pe.file_version)),
            ("Description", s(pe.description)),
            ("Product", s(pe.product)),
            ("Company", s(pe.company)),
            ("OriginalFileName", s(pe.original)),
            ("CommandLine", child.cmd.clone()),
            ("CurrentDirectory", child.cwd.clone()),
            ("User", child.user().qualified()),
            ("LogonGuid", child.logon.guid.clone()),
            ("LogonId", hex(child.logon.id)),
            ("TerminalSessionId", child.logon.session.to_string()),
            ("IntegrityLevel", s(child.logon.integrity.sysmon())),
            ("Hashes", catalog::hashes(&child.image)),
            ("ParentProcessGuid", parent.guid.clone()),
            ("ParentProcessId", parent.pid.to_string()),
            ("ParentImage", parent.image.clone()),
            ("ParentCommandLine", parent.cmd.clone()),
            ("ParentUser", parent.user().qualified()),
        ];
        self.push(t, Channel::Sysmon, 1, data);
    }

    /// Sysmon 5: process terminated.
    pub fn sysmon_exit(&mut self, t: Ms, p: &Proc) {
        let data: Data = vec![
            ("RuleName", s("-")),
            ("UtcTime", sysmon_utc(t)),
            ("ProcessGuid", p.guid.clone()),
            ("ProcessId", p.pid.to_string()),
            ("Image", p.image.clone()),
            ("User", p.user().qualified()),
        ];
        self.push(t, Channel::Sysmon, 5, data);
    }

    /// Sysmon 3: network connection.
    pub fn net_3(&mut self, t: Ms, p: &Proc, c: &Conn) {
        let data: Data = vec![
            ("RuleName", s("-")),
            ("UtcTime", sysmon_utc(t)),
            ("ProcessGuid", p.guid.clone()),
            ("ProcessId", p.pid.to_string()),
            ("Image", p.image.clone()),
            ("User", p.user().qualified()),
            ("Protocol", s(if c.udp { "udp" } else { "tcp" })),
            ("Initiated", s(if c.initiated { "true" } else { "false" })),
            ("SourceIsIpv6", s("false")),
            ("SourceIp", s(c.src_ip)),
            ("SourceHostname", s(c.src_host)),
            ("SourcePort", c.src_port.to_string()),
            ("SourcePortName", s(port_name(c.src_port))),
            ("DestinationIsIpv6", s("false")),
            ("DestinationIp", s(c.dst_ip)),
            ("DestinationHostname", s(c.dst_host)),
            ("DestinationPort", c.dst_port.to_string()),
            ("DestinationPortName", s(port_name(c.dst_port))),
        ];
        self.push(t, Channel::Sysmon, 3, data);
    }

    /// Sysmon 11: file created.
    pub fn file_11(&mut self, t: Ms, p: &Proc, path: &str) {
        let data: Data = vec![
            ("RuleName", s("-")),
            ("UtcTime", sysmon_utc(t)),
            ("ProcessGuid", p.guid.clone()),
            ("ProcessId", p.pid.to_string()),
            ("Image", p.image.clone()),
            ("TargetFilename", s(path)),
            ("CreationUtcTime", sysmon_utc(t)),
            ("User", p.user().qualified()),
        ];
        self.push(t, Channel::Sysmon, 11, data);
    }

    /// Sysmon 13: registry value set.
    pub fn reg_13(&mut self, t: Ms, p: &Proc, key: &str, details: &str) {
        let data: Data = vec![
            ("RuleName", s("-")),
            ("EventType", s("SetValue")),
            ("UtcTime", sysmon_utc(t)),
            ("ProcessGuid", p.guid.clone()),
            ("ProcessId", p.pid.to_string()),
            ("Image", p.image.clone()),
            ("TargetObject", s(key)),
            ("Details", s(details)),
            ("User", p.user().qualified()),
        ];
        self.push(t, Channel::Sysmon, 13, data);
    }

    fn pipe(&mut self, t: Ms, id: u32, p: &Proc, name: &str) {
        let data: Data = vec![
            ("RuleName", s("-")),
            (
                "EventType",
                s(if id == 17 {
                    "CreatePipe"
                } else {
                    "ConnectPipe"
                }),
            ),
            ("UtcTime", sysmon_utc(t)),
            ("ProcessGuid", p.guid.clone()),
            ("ProcessId", p.pid.to_string()),
            ("PipeName", s(name)),
            ("Image", p.image.clone()),
            ("User", p.user().qualified()),
        ];
        self.push(t, Channel::Sysmon, id, data);
    }

    /// Sysmon 17: named pipe created.
    pub fn pipe_17(&mut self, t: Ms, p: &Proc, name: &str) {
        self.pipe(t, 17, p, name);
    }

    /// Sysmon 18: named pipe connected.
    pub fn pipe_18(&mut self, t: Ms, p: &Proc, name: &str) {
        self.pipe(t, 18, p, name);
    }

    /// Sysmon 22: DNS query. `results` as Sysmon writes them (`::ffff:10.0.0.1;`).
    pub fn dns_22(&mut self, t: Ms, p: &Proc, name: &str, results: &str) {
        let data: Data = vec![
            ("RuleName", s("-")),
            ("UtcTime", sysmon_utc(t)),
            ("ProcessGuid", p.guid.clone()),
            ("ProcessId", p.pid.to_string()),
            ("QueryName", s(name)),
            ("QueryStatus", s("0")),
            ("QueryResults", s(results)),
            ("Image", p.image.clone()),
            ("User", p.user().qualified()),
        ];
        self.push(t, Channel::Sysmon, 22, data);
    }

    // -------------------------------------------------------------- Security

    /// 4688: a new process has been created. The creator subject is the parent's account;
    /// the target fields name the new process's account only when it differs.
    pub fn proc_4688(&mut self, t: Ms, child: &Proc, parent: &Proc) {
        let subject = self.subject_of(&parent.logon);
        let same = child.logon.id == parent.logon.id;
        let (tsid, tname, tdomain, tlogon) = if same {
            (s(NULL_SID), s("-"), s("-"), s("0x0"))
        } else {
            let a = child.user();
            (
                a.sid.clone(),
                a.name.clone(),
                a.domain.clone(),
                hex(child.logon.id),
            )
        };
        let data: Data = vec![
            ("SubjectUserSid", subject.sid),
            ("SubjectUserName", subject.name),
            ("SubjectDomainName", subject.domain),
            ("SubjectLogonId", hex(parent.logon.id)),
            ("NewProcessId", hex(u64::from(child.pid))),
            ("NewProcessName", child.image.clone()),
            ("TokenElevationType", s(child.logon.elevation)),
            ("ProcessId", hex(u64::from(parent.pid))),
            ("CommandLine", child.cmd.clone()),
            ("TargetUserSid", tsid),
            ("TargetUserName", tname),
            ("TargetDomainName", tdomain),
            ("TargetLogonId", tlogon),
            ("ParentProcessName", parent.image.clone()),
            ("MandatoryLabel", s(child.logon.integrity.label())),
        ];
        self.push(t, Channel::Security, 4688, data);
    }

    /// 4624: an account was successfully logged on.
    pub fn logon_4624(&mut self, t: Ms, e: &LogonEvent) {
        let (ssid, sname, sdomain, slogon) = match e.subject {
            Some(l) => {
                let a = self.subject_of(l);
                (a.sid, a.name, a.domain, hex(l.id))
            }
            None => (s(NULL_SID), s("-"), s("-"), s("0x0")),
        };
        let target = &e.logon.account;
        let well_known = target.sid == SYSTEM_SID || target.sid == NETWORK_SERVICE_SID;
        let kerberos = e.auth == Auth::Kerberos || (e.auth == Auth::Negotiate && !well_known);
        let guid = if kerberos {
            self.rng.guid()
        } else {
            s(NULL_GUID)
        };
        let (lm, key) = if e.auth == Auth::Ntlm {
            ("NTLM V2", "128")
        } else {
            ("-", "0")
        };
        let package = match e.auth {
            Auth::Kerberos => "Kerberos",
            Auth::Ntlm => "NTLM",
            Auth::Negotiate => "Negotiate",
        };
        let data: Data = vec![
            ("SubjectUserSid", ssid),
            ("SubjectUserName", sname),
            ("SubjectDomainName", sdomain),
            ("SubjectLogonId", slogon),
            ("TargetUserSid", target.sid.clone()),
            ("TargetUserName", target.name.clone()),
            ("TargetDomainName", target.domain.clone()),
            ("TargetLogonId", hex(e.logon.id)),
            ("LogonType", e.logon_type.to_string()),
            ("LogonProcessName", s(e.logon_process)),
            ("AuthenticationPackageName", s(package)),
            ("WorkstationName", s(e.workstation)),
            ("LogonGuid", guid),
            ("TransmittedServices", s("-")),
            ("LmPackageName", s(lm)),
            ("KeyLength", s(key)),
            (
                "ProcessId",
                e.process.map_or(s("0x0"), |p| hex(u64::from(p.pid))),
            ),
            ("ProcessName", e.process.map_or(s("-"), |p| p.image.clone())),
            ("IpAddress", s(e.ip)),
            ("IpPort", s(e.port)),
            ("ImpersonationLevel", s("%%1833")),
            ("RestrictedAdminMode", s("-")),
            ("TargetOutboundUserName", s("-")),
            ("TargetOutboundDomainName", s("-")),
            ("VirtualAccount", s("%%1843")),
            ("TargetLinkedLogonId", hex(e.linked)),
            (
                "ElevatedToken",
                s(if e.logon.admin { "%%1842" } else { "%%1843" }),
            ),
        ];
        self.push(t, Channel::Security, 4624, data);
    }

    /// 4672: special privileges assigned to new logon.
    pub fn special_4672(&mut self, t: Ms, logon: &Logon) {
        let a = &logon.account;
        let privileges = if a.sid == SYSTEM_SID {
            PRIVILEGES_SYSTEM
        } else {
            PRIVILEGES_ADMIN
        };
        let data: Data = vec![
            ("SubjectUserSid", a.sid.clone()),
            ("SubjectUserName", a.name.clone()),
            ("SubjectDomainName", a.domain.clone()),
            ("SubjectLogonId", hex(logon.id)),
            ("PrivilegeList", s(privileges)),
        ];
        self.push(t, Channel::Security, 4672, data);
    }

    /// 4634: an account was logged off.
    pub fn logoff_4634(&mut self, t: Ms, logon: &Logon, logon_type: u8) {
        let a = &logon.account;
        let data: Data = vec![
            ("TargetUserSid", a.sid.clone()),
            ("TargetUserName", a.name.clone()),
            ("TargetDomainName", a.domain.clone()),
            ("TargetLogonId", hex(logon.id)),
            ("LogonType", logon_type.to_string()),
        ];
        self.push(t, Channel::Security, 4634, data);
    }

    /// 4648: a logon was attempted using explicit credentials.
    pub fn explicit_4648(&mut self, t: Ms, subject: &Logon, process: &Proc, e: &Explicit) {
        let a = self.subject_of(subject);
        let data: Data = vec![
            ("SubjectUserSid", a.sid),
            ("SubjectUserName", a.name),
            ("SubjectDomainName", a.domain),
            ("SubjectLogonId", hex(subject.id)),
            ("LogonGuid", s(NULL_GUID)),
            ("TargetUserName", e.target.name.clone()),
            ("TargetDomainName", e.target.domain.clone()),
            ("TargetLogonGuid", s(NULL_GUID)),
            ("TargetServerName", s(e.server)),
            ("TargetInfo", s(e.info)),
            ("ProcessId", hex(u64::from(process.pid))),
            ("ProcessName", process.image.clone()),
            ("IpAddress", s(e.ip)),
            ("IpPort", s(e.port)),
        ];
        self.push(t, Channel::Security, 4648, data);
    }

    /// 5140: a network share object was accessed.
    pub fn share_5140(&mut self, t: Ms, c: &SmbClient, share: &str, local_path: &str) {
        let a = &c.logon.account;
        let data: Data = vec![
            ("SubjectUserSid", a.sid.clone()),
            ("SubjectUserName", a.name.clone()),
            ("SubjectDomainName", a.domain.clone()),
            ("SubjectLogonId", hex(c.logon.id)),
            ("ObjectType", s("File")),
            ("IpAddress", s(c.ip)),
            ("IpPort", c.port.to_string()),
            ("ShareName", s(share)),
            ("ShareLocalPath", s(local_path)),
            ("AccessMask", s("0x1")),
            ("AccessList", s("%%4416\r\n\t\t\t\t")),
        ];
        self.push(t, Channel::Security, 5140, data);
    }

    /// 5145: a network share object was checked for the access the client asked for.
    pub fn share_5145(
        &mut self,
        t: Ms,
        c: &SmbClient,
        share: &str,
        local_path: &str,
        relative: &str,
        access: Access,
    ) {
        let a = &c.logon.account;
        let (mask, list, reason) = match access {
            Access::WriteData => (
                "0x2",
                "%%4417\r\n\t\t\t\t",
                "%%4417:\t%%1801\tD:(A;;FA;;;BA)\r\n\t\t\t\t",
            ),
            Access::PipeReadWrite => (
                "0x12019f",
                "%%1538\r\n\t\t\t\t%%1541\r\n\t\t\t\t%%4416\r\n\t\t\t\t%%4417\r\n\t\t\t\t%%4418\r\n\t\t\t\t%%4419\r\n\t\t\t\t%%4420\r\n\t\t\t\t%%4423\r\n\t\t\t\t%%4424\r\n\t\t\t\t",
                "-",
            ),
        };
        let data: Data = vec![
            ("SubjectUserSid", a.sid.clone()),
            ("SubjectUserName", a.name.clone()),
            ("SubjectDomainName", a.domain.clone()),
            ("SubjectLogonId", hex(c.logon.id)),
            ("ObjectType", s("File")),
            ("IpAddress", s(c.ip)),
            ("IpPort", c.port.to_string()),
            ("ShareName", s(share)),
            ("ShareLocalPath", s(local_path)),
            ("RelativeTargetName", s(relative)),
            ("AccessMask", s(mask)),
            ("AccessList", s(list)),
            ("AccessReason", s(reason)),
        ];
        self.push(t, Channel::Security, 5145, data);
    }

    /// 4697: a service was installed in the system (demand-start, own process, LocalSystem).
    pub fn service_4697(&mut self, t: Ms, subject: &Logon, name: &str, file: &str) {
        let a = self.subject_of(subject);
        let data: Data = vec![
            ("SubjectUserSid", a.sid),
            ("SubjectUserName", a.name),
            ("SubjectDomainName", a.domain),
            ("SubjectLogonId", hex(subject.id)),
            ("ServiceName", s(name)),
            ("ServiceFileName", s(file)),
            ("ServiceType", s("0x10")),
            ("ServiceStartType", s("3")),
            ("ServiceAccount", s("LocalSystem")),
        ];
        self.push(t, Channel::Security, 4697, data);
    }

    /// 4698: a scheduled task was created.
    pub fn task_4698(&mut self, t: Ms, subject: &Logon, client: &Proc, name: &str, xml: &str) {
        let a = self.subject_of(subject);
        let data: Data = vec![
            ("SubjectUserSid", a.sid),
            ("SubjectUserName", a.name),
            ("SubjectDomainName", a.domain),
            ("SubjectLogonId", hex(subject.id)),
            ("TaskName", s(name)),
            ("TaskContent", s(xml)),
            (
                "ClientProcessStartKey",
                (0x0002_0000_0000_0000_u64 + u64::from(client.pid) * 7).to_string(),
            ),
            ("ClientProcessId", client.pid.to_string()),
            ("ParentProcessId", self.core.services.pid.to_string()),
            ("RpcCallClientLocality", s("0")),
            ("FQDN", s(self.spec.fqdn)),
        ];
        self.push(t, Channel::Security, 4698, data);
    }

    // ---------------------------------------------------------------- System

    /// 7045: a service was installed (System log; NXLog names the installing account).
    pub fn service_7045(&mut self, t: Ms, installer: &Account, name: &str, image_path: &str) {
        let data: Data = vec![
            ("ServiceName", s(name)),
            ("ImagePath", s(image_path)),
            ("ServiceType", s("user mode service")),
            ("StartType", s("demand start")),
            ("AccountName", s("LocalSystem")),
        ];
        self.push_as(t, Channel::System, 7045, data, Some(installer.identity()));
    }

    /// 7036: a service entered the running or stopped state.
    pub fn service_7036(&mut self, t: Ms, display: &str, running: bool) {
        let data: Data = vec![
            ("param1", s(display)),
            ("param2", s(if running { "running" } else { "stopped" })),
        ];
        self.push(t, Channel::System, 7036, data);
    }

    // ------------------------------------------------------------ composites

    /// Launch a process: 4688 then Sysmon 1 a few milliseconds later.
    pub fn launch(&mut self, t: Ms, parent: &Proc, l: Launch) -> Proc {
        let logon = l.logon.unwrap_or(&parent.logon).clone();
        let cwd = match l.cwd {
            Some(c) => c.to_string(),
            None if logon.id == parent.logon.id && !parent.cwd.is_empty() => parent.cwd.clone(),
            None => r"C:\Windows\system32\".to_string(),
        };
        let pid = match l.pid {
            Some(p) => self.reserve_pid(p),
            None => self.new_pid(),
        };
        let child = self.new_proc(t, pid, l.image, l.cmd, &cwd, &logon);
        self.proc_4688(t, &child, parent);
        let lag = self.rng.between(1, 6);
        self.sysmon_process(t + lag, &child, parent);
        child
    }

    /// Launch with the parent's logon.
    pub fn spawn(&mut self, t: Ms, parent: &Proc, image: &str, cmd: &str) -> Proc {
        self.launch(t, parent, Launch::new(image, cmd))
    }

    /// The console host Windows starts for a console process.
    pub fn conhost(&mut self, t: Ms, p: &Proc) -> Proc {
        self.spawn(
            t,
            p,
            r"C:\Windows\System32\conhost.exe",
            r"\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1",
        )
    }

    /// A SYSTEM service logon (4624 type 5 from services.exe, and its 4672).
    pub fn service_logon(&mut self, t: Ms) {
        let sys = self.system_logon.clone();
        let services = self.core.services.clone();
        self.logon_4624(
            t,
            &LogonEvent {
                logon: &sys,
                logon_type: 5,
                subject: Some(&sys),
                process: Some(&services),
                logon_process: "Advapi  ",
                auth: Auth::Negotiate,
                workstation: "-",
                ip: "-",
                port: "-",
                linked: 0,
            },
        );
        self.special_4672(t, &sys);
    }

    /// An inbound network logon (type 3) and, for administrators, its 4672.
    pub fn network_logon(
        &mut self,
        t: Ms,
        logon: &Logon,
        auth: Auth,
        ip: &str,
        port: u16,
        workstation: &str,
    ) {
        let port = port.to_string();
        let process = if auth == Auth::Ntlm {
            "NtLmSsp "
        } else {
            "Kerberos"
        };
        self.logon_4624(
            t,
            &LogonEvent {
                logon,
                logon_type: 3,
                subject: None,
                process: None,
                logon_process: process,
                auth,
                workstation,
                ip,
                port: &port,
                linked: 0,
            },
        );
        if logon.admin {
            self.special_4672(t, logon);
        }
    }

    /// A process exits (Sysmon 5).
    pub fn exit(&mut self, t: Ms, p: &Proc) {
        self.sysmon_exit(t, p);
    }
}
