//! Names of the ATT&CK techniques the built-in pack refers to (MITRE ATT&CK Enterprise), so a
//! report can say what each id means without a network lookup. The full knowledge base is the
//! intel crate's job.

/// (id, name, tactics)
pub const TECHNIQUES: &[(&str, &str, &str)] = &[
    ("T1021", "Remote Services", "Lateral Movement"),
    (
        "T1021.002",
        "Remote Services: SMB/Windows Admin Shares",
        "Lateral Movement",
    ),
    (
        "T1021.003",
        "Remote Services: Distributed Component Object Model",
        "Lateral Movement",
    ),
    (
        "T1021.006",
        "Remote Services: Windows Remote Management",
        "Lateral Movement",
    ),
    ("T1047", "Windows Management Instrumentation", "Execution"),
    (
        "T1053.002",
        "Scheduled Task/Job: At",
        "Execution, Persistence, Privilege Escalation",
    ),
    (
        "T1053.005",
        "Scheduled Task/Job: Scheduled Task",
        "Execution, Persistence, Privilege Escalation",
    ),
    (
        "T1059.001",
        "Command and Scripting Interpreter: PowerShell",
        "Execution",
    ),
    (
        "T1078",
        "Valid Accounts",
        "Defense Evasion, Persistence, Privilege Escalation, Initial Access",
    ),
    (
        "T1134.001",
        "Access Token Manipulation: Token Impersonation/Theft",
        "Defense Evasion, Privilege Escalation",
    ),
    (
        "T1543.003",
        "Create or Modify System Process: Windows Service",
        "Persistence, Privilege Escalation",
    ),
    (
        "T1546.003",
        "Event Triggered Execution: Windows Management Instrumentation Event Subscription",
        "Privilege Escalation, Persistence",
    ),
    (
        "T1550.002",
        "Use Alternate Authentication Material: Pass the Hash",
        "Defense Evasion, Lateral Movement",
    ),
    ("T1552", "Unsecured Credentials", "Credential Access"),
    (
        "T1569.002",
        "System Services: Service Execution",
        "Execution",
    ),
    ("T1570", "Lateral Tool Transfer", "Lateral Movement"),
];

/// Name and tactics of a technique id, when known.
pub fn lookup(id: &str) -> Option<(&'static str, &'static str)> {
    TECHNIQUES
        .iter()
        .find(|(i, _, _)| i.eq_ignore_ascii_case(id))
        .map(|(_, n, t)| (*n, *t))
}
