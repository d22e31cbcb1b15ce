//! Where the case database lives: `--db PATH`, else `LATERAL_DB`, else `cases.db` in the
//! user's data directory (`$XDG_DATA_HOME/lateral`, else `~/.local/share/lateral`; on Windows
//! `%LOCALAPPDATA%\lateral`; on macOS `~/Library/Application Support/lateral`).

use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::CaseError;

/// The database path: the explicit one, else `LATERAL_DB`, else the default.
pub fn resolve_db_path(explicit: Option<PathBuf>) -> Result<PathBuf, CaseError> {
    resolve_with(explicit, &|k| std::env::var_os(k))
}

/// The default database path (ignores `LATERAL_DB`).
pub fn default_db_path() -> Result<PathBuf, CaseError> {
    default_with(&|k| std::env::var_os(k))
}

fn non_empty(v: Option<OsString>) -> Option<OsString> {
    v.filter(|s| !s.is_empty())
}

pub(crate) fn resolve_with(
    explicit: Option<PathBuf>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<PathBuf, CaseError> {
    if let Some(p) = explicit.filter(|p| !p.as_os_str().is_empty()) {
        return Ok(p);
    }
    if let Some(p) = non_empty(env("LATERAL_DB")) {
        return Ok(PathBuf::from(p));
    }
    default_with(env)
}

pub(crate) fn default_with(env: &dyn Fn(&str) -> Option<OsString>) -> Result<PathBuf, CaseError> {
    let data_dir = if cfg!(windows) {
        non_empty(env("LOCALAPPDATA"))
            .or_else(|| non_empty(env("APPDATA")))
            .map(PathBuf::from)
    } else if cfg!(target_os = "macos") {
        non_empty(env("HOME")).map(|h| PathBuf::from(h).join("Library/Application Support"))
    } else {
        // XDG: only an absolute XDG_DATA_HOME counts.
        non_empty(env("XDG_DATA_HOME"))
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| non_empty(env("HOME")).map(|h| PathBuf::from(h).join(".local/share")))
    };
    data_dir
        .map(|d| d.join("lateral").join("cases.db"))
        .ok_or(CaseError::NoDataDir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn explicit_path_wins_over_env() {
        let env = env_of(&[("LATERAL_DB", "/env/cases.db"), ("HOME", "/home/a")]);
        let p = resolve_with(Some(PathBuf::from("/x/my.db")), &env).ok();
        assert_eq!(p, Some(PathBuf::from("/x/my.db")));
        let p = resolve_with(None, &env).ok();
        assert_eq!(p, Some(PathBuf::from("/env/cases.db")));
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn default_follows_xdg_then_home() {
        let env = env_of(&[("XDG_DATA_HOME", "/data"), ("HOME", "/home/a")]);
        assert_eq!(
            resolve_with(None, &env).ok(),
            Some(PathBuf::from("/data/lateral/cases.db"))
        );
        // A relative XDG_DATA_HOME is ignored, as the XDG spec says; an empty LATERAL_DB too.
        let env = env_of(&[
            ("XDG_DATA_HOME", "rel"),
            ("HOME", "/home/a"),
            ("LATERAL_DB", ""),
        ]);
        assert_eq!(
            resolve_with(None, &env).ok(),
            Some(PathBuf::from("/home/a/.local/share/lateral/cases.db"))
        );
        let env = env_of(&[]);
        assert!(matches!(
            resolve_with(None, &env),
            Err(CaseError::NoDataDir)
        ));
    }
}
