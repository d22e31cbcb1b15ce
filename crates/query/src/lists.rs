//! Named reference lists (`%name` in UDM, `@name` in runbooks).

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::CompileError;

/// Reference lists by name, supplied by the caller at compile time.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Lists {
    lists: BTreeMap<String, Vec<String>>,
}

impl Lists {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add (or replace) a list.
    pub fn insert(&mut self, name: &str, values: Vec<String>) {
        self.lists.insert(name.to_string(), values);
    }

    /// Load a list from a text file: one value per line, surrounding white space trimmed,
    /// blank lines and lines starting with `#` skipped.
    pub fn load_file(&mut self, name: &str, path: &Path) -> Result<(), CompileError> {
        let text = std::fs::read_to_string(path).map_err(|source| CompileError::ListFile {
            name: name.to_string(),
            path: path.to_path_buf(),
            source,
        })?;
        self.insert(name, parse_list(&text));
        Ok(())
    }

    /// The values of a list.
    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.lists.get(name).map(Vec::as_slice)
    }

    /// Names of all lists, sorted.
    pub fn names(&self) -> Vec<String> {
        self.lists.keys().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.lists.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }
}

/// The values of a list file's text.
pub fn parse_list(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_files_skip_comments_and_blank_lines() {
        let dir = std::env::temp_dir().join(format!("lateral-query-lists-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("admins.txt");
        std::fs::write(
            &path,
            "# admin hosts\r\nWS1\r\n\r\n  dc01.theshire.local  \n#x\n",
        )
        .expect("write");
        let mut lists = Lists::new();
        lists.load_file("admin_hosts", &path).expect("loads");
        assert_eq!(
            lists.get("admin_hosts"),
            Some(&["WS1".to_string(), "dc01.theshire.local".to_string()][..])
        );
        assert_eq!(lists.names(), vec!["admin_hosts".to_string()]);
        let err = lists
            .load_file("missing", &dir.join("nope.txt"))
            .expect_err("missing file");
        assert!(err.to_string().contains("missing"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
