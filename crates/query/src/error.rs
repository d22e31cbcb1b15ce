//! Errors of the query language: [`ParseError`] for text that is not a valid query,
//! [`CompileError`] for a valid query that cannot be turned into a filter (unknown reference
//! list, invalid regular expression, value of the wrong type).

use std::path::PathBuf;

/// A query that could not be parsed, with the 0-based character position of the problem.
///
/// `Display` renders the message, the offending line of the query with a caret under the
/// position, and `hint: ...` when there is a suggestion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ParseError {
    /// 0-based position in characters (not bytes) into the query text.
    pub position: usize,
    /// What is wrong, in one sentence.
    pub message: String,
    /// How to fix it (shown as `hint: ...`), when known.
    pub suggestion: Option<String>,
    /// The query text, for rendering the caret line.
    pub query: String,
}

impl ParseError {
    pub(crate) fn new(query: &str, position: usize, message: impl Into<String>) -> Self {
        ParseError {
            position,
            message: message.into(),
            suggestion: None,
            query: query.to_string(),
        }
    }

    pub(crate) fn hint(mut self, suggestion: impl Into<String>) -> Self {
        self.suggestion = Some(suggestion.into());
        self
    }

    /// The message, the line of the query holding the position, a caret line and the hint.
    fn render(&self) -> String {
        let chars: Vec<char> = self.query.chars().collect();
        let pos = self.position.min(chars.len());
        let line_start = chars
            .get(..pos)
            .and_then(|before| before.iter().rposition(|&c| c == '\n'))
            .map_or(0, |i| i + 1);
        let line_end = chars
            .get(pos..)
            .and_then(|after| after.iter().position(|&c| c == '\n'))
            .map_or(chars.len(), |i| pos + i);
        let line: String = chars
            .get(line_start..line_end)
            .unwrap_or(&[])
            .iter()
            .map(|&c| if c.is_control() { ' ' } else { c })
            .collect();
        let column = pos - line_start;
        let mut out = format!(
            "{} (at position {})\n  {}\n  {}^",
            self.message,
            pos,
            line,
            " ".repeat(column)
        );
        if let Some(s) = &self.suggestion {
            out.push_str("\nhint: ");
            out.push_str(s);
        }
        out
    }
}

/// A parsed query that cannot be compiled into a filter expression.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The query names a reference list that was not provided.
    #[error("unknown reference list `%{name}`{}", known_lists(.known))]
    UnknownList { name: String, known: Vec<String> },
    /// A regular expression (in the query or in a regex reference list) does not compile.
    #[error("invalid regular expression /{pattern}/{}: {message}", list_suffix(.list))]
    InvalidRegex {
        pattern: String,
        message: String,
        /// The reference list the pattern came from, if any.
        list: Option<String>,
    },
    /// A value that should be a number (for a numeric field) is not.
    #[error("`{field}` is a number field; \"{value}\" is not a number{}", list_suffix(.list))]
    InvalidNumber {
        field: String,
        value: String,
        list: Option<String>,
    },
    /// A value of a `cidr` reference list is not an address range.
    #[error("invalid CIDR range \"{value}\" in reference list `%{list}`")]
    InvalidCidr { value: String, list: String },
    /// A value is outside the representable range (for example epoch seconds too large).
    #[error("value {value} for `{field}` is out of range")]
    OutOfRange { field: String, value: String },
    /// A reference list does not apply to the field (for example a `cidr` list on a number).
    #[error("reference list `%{list}` cannot be used with `{field}`: {reason}")]
    ListNotApplicable {
        list: String,
        field: String,
        reason: String,
    },
    /// A reference-list file could not be read.
    #[error("cannot read reference list `{name}` from {}: {source}", .path.display())]
    ListFile {
        name: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn known_lists(known: &[String]) -> String {
    if known.is_empty() {
        " (no reference lists are loaded)".to_string()
    } else {
        format!(
            " (known: {})",
            known
                .iter()
                .map(|k| format!("%{k}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn list_suffix(list: &Option<String>) -> String {
    match list {
        Some(l) => format!(" (in reference list `%{l}`)"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_position_and_hint() {
        let e = ParseError::new("a == \"b\"", 2, "unexpected `==`").hint("use `=`");
        assert_eq!(
            e.to_string(),
            "unexpected `==` (at position 2)\n  a == \"b\"\n    ^\nhint: use `=`"
        );
    }

    #[test]
    fn renders_the_line_holding_the_position() {
        let e = ParseError::new("a = \"b\"\nAND c", 12, "bad");
        assert_eq!(e.to_string(), "bad (at position 12)\n  AND c\n      ^");
        // A position past the end points just after the text.
        let e = ParseError::new("ab", 99, "end");
        assert_eq!(e.to_string(), "end (at position 2)\n  ab\n    ^");
    }
}
