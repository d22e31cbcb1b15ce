//! The three stories. Each returns its hosts with every event already queued; the caller
//! renders them.

use crate::host::Host;

pub mod psexec_chain;
pub mod serhatg;
pub mod wmi_spread;

/// The hosts of scenario `name`, or `None` when there is no such scenario.
pub fn build(name: &str) -> Option<Vec<Host>> {
    match name {
        "serhatg" => Some(serhatg::build()),
        "wmi-spread" => Some(wmi_spread::build()),
        "psexec-chain" => Some(psexec_chain::build()),
        _ => None,
    }
}

pub const POWERSHELL: &str = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe";
pub const CMD: &str = r"C:\Windows\System32\cmd.exe";
