//! # lateral-query
//!
//! Owns the UDM search language of lateral: text → tokens ([`lexer`]) → surface syntax tree
//! ([`parser`], [`ast`]) → core tree ([`normalise`]) → real UDM text ([`Query::to_udm`]) and
//! a DataFusion filter [`Expr`] ([`compile()`]), plus the
//! scalar UDFs that filter needs ([`udfs`]).
//!
//! It must not execute queries (that is `lateral-engine`), read evidence files (readers live
//! in `lateral-sources`; the only file access here is [`Lists::load_file`] for reference
//! lists), or build SQL text: filters are made with expression builders only, so no user
//! input is ever interpreted as SQL.
//!
//! ## Language
//!
//! Google SecOps UDM search: `field op value` with `= != < <= > >=`; `AND`, `OR`, `NOT` in any
//! case (`NOT` binds tightest, then `AND`, then `OR`); adjacent conditions are joined by an
//! implicit `AND`; parentheses; `nocase` after a comparison; regular expressions `/.../`
//! (RE2 syntax, substring match, `\/` is a slash); `re.regex(field, "re")` (or with a
//! backtick string), `strings.contains(field, "x")`, `net.ip_in_range_cidr(field, "cidr")`,
//! each optionally `= true`/`= false`; reference lists `field in %name`,
//! `field in regex %name`, `field in cidr %name` (optionally `nocase`); unquoted numbers and
//! `true`/`false`; `additional.fields["Key"]` (or `additional.fields.Key`); camelCase paths;
//! `metadata.event_timestamp` against RFC 3339 strings and
//! `metadata.event_timestamp.seconds` against epoch seconds.
//!
//! The runbook dialect is accepted too: `field CONTAINS "v"` (case-insensitive),
//! `field IN ("a", "b")`, `field NOT IN (...)`, `field IN @name` / `NOT IN @name`, a bare
//! `description` for `metadata.description`, and Windows paths with single backslashes.
//!
//! ### String escapes
//!
//! In a double-quoted string only `\\` (a backslash) and `\"` (a quote) are escapes. But if
//! the string contains any *lone* backslash — one not followed by `\` or `"` — it is taken
//! as a raw runbook string, in which every backslash is literal except in `\"`. So
//! `"C:\\Windows\\System32\\services.exe"` and `"C:\Windows\System32\services.exe"` both mean
//! `C:\Windows\System32\services.exe`, and `"\\127.0.0.1\ADMIN$"` means `\\127.0.0.1\ADMIN$`.
//! Backtick strings are always raw.
//!
//! ### Semantics
//!
//! See [`compile`](mod@compile) for how each field semantic compares (case-insensitive paths,
//! host names and users; short host names against FQDNs; bare file names against paths;
//! missing fields read as `""`/`0`) and [`normalise`] for how the runbook dialect maps to
//! real UDM (`metadata.product_event_type = "ServiceInstalled"` means event 7045 or 4697).
//! The echo ([`Query::to_udm`]) is valid UDM search text that means what lateral executes;
//! host-name and user matching are lateral extensions of `nocase` equality.
//!
//! Parsing and compiling never panic; nesting is capped at [`parser::MAX_DEPTH`] levels.

pub mod ast;
pub mod cidr;
pub mod compile;
pub mod echo;
pub mod error;
pub mod lexer;
pub mod lists;
pub mod normalise;
pub mod parser;
pub mod regex_like;

use datafusion::logical_expr::{Expr, ScalarUDF};
use lateral_model::Field;

pub use ast::Node;
pub use error::{CompileError, ParseError};
pub use lists::Lists;

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The tree as written (surface form).
    root: Node,
    /// The normalised (core) tree that echo and compilation use.
    core: Node,
}

/// Parse UDM search text (or the runbook dialect) into a [`Query`].
pub fn parse(text: &str) -> Result<Query, ParseError> {
    let root = parser::parse_query(text)?;
    let core = normalise::normalise(&root);
    // The echo may add a level of parentheses (an `IN` list under `NOT`, say); make sure it
    // stays within the nesting cap so every accepted query's echo parses again.
    let (_, depth) = echo::echo(&core);
    if depth > parser::MAX_DEPTH {
        return Err(ParseError::new(
            text,
            0,
            format!(
                "query nests too deeply (more than {} levels of parentheses and NOT once normalised)",
                parser::MAX_DEPTH
            ),
        ));
    }
    Ok(Query { root, core })
}

impl Query {
    /// The syntax tree as written.
    pub fn root(&self) -> &Node {
        &self.root
    }

    /// The normalised tree (real UDM forms only).
    pub fn core(&self) -> &Node {
        &self.core
    }

    /// The query as normalised real UDM search text.
    pub fn to_udm(&self) -> String {
        echo::echo(&self.core).0
    }

    /// The fields the query reads, sorted, without duplicates.
    pub fn fields(&self) -> Vec<Field> {
        let mut out = Vec::new();
        self.root
            .for_each_pred(&mut |p| out.push(p.field().field()));
        self.core
            .for_each_pred(&mut |p| out.push(p.field().field()));
        out.sort();
        out.dedup();
        out
    }

    /// The reference lists the query uses, sorted, without duplicates.
    pub fn list_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.root.for_each_pred(&mut |p| {
            if let ast::Pred::InList { list, .. } = p {
                out.push(list.clone());
            }
        });
        out.sort();
        out.dedup();
        out
    }
}

impl std::fmt::Display for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_udm())
    }
}

/// Compile a query into a DataFusion filter expression over the event table.
pub fn compile(q: &Query, lists: &Lists) -> Result<Expr, CompileError> {
    compile::compile_node(&q.core, lists)
}

/// The scalar UDFs compiled filters may call; register them with every session.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        cidr::ip_in_cidr_udf().as_ref().clone(),
        regex_like::regex_like_udf().as_ref().clone(),
    ]
}
