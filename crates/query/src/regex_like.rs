//! The `lateral_regex_like(text, pattern, flags)` scalar UDF that regular expressions compile
//! to when they are not plain literals.
//!
//! It selects what DataFusion's `regexp_like` selects (the `regex` crate's syntax, a match
//! anywhere in the text, flags such as `i` written as an inline group), but compiles each
//! distinct pattern once per process instead of once per batch: `regexp_like` compiles its
//! pattern again for every batch it evaluates, and a hunt evaluates a dozen patterns over
//! every batch of its scan (measured: 4 % of a hunt's CPU on 27 000 events went to compiling
//! them). The compiled patterns are kept in a small process-wide cache, emptied when it fills.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use datafusion::arrow::array::{Array, BooleanArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::cast::as_string_array;
use datafusion::common::{exec_err, Result as DfResult, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use regex::Regex;

/// Name under which the UDF is registered.
pub const REGEX_LIKE: &str = "lateral_regex_like";

/// Distinct (pattern, flags) kept compiled; the cache is emptied when it holds this many
/// (a long-running server sees users' ad-hoc patterns).
const CACHE_LIMIT: usize = 512;

type Cache = Mutex<HashMap<(String, String), Arc<Regex>>>;

/// The compiled form of `pattern` with `flags` (`""`, `"i"`, ...), from the cache.
fn compiled(pattern: &str, flags: &str) -> Result<Arc<Regex>, String> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let key = (pattern.to_string(), flags.to_string());
    if let Ok(held) = cache.lock() {
        if let Some(re) = held.get(&key) {
            return Ok(re.clone());
        }
    }
    let full = if flags.is_empty() {
        pattern.to_string()
    } else {
        format!("(?{flags}){pattern}")
    };
    let re = Arc::new(Regex::new(&full).map_err(|e| e.to_string())?);
    if let Ok(mut held) = cache.lock() {
        if held.len() >= CACHE_LIMIT {
            held.clear();
        }
        held.insert(key, re.clone());
    }
    Ok(re)
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct RegexLike {
    signature: Signature,
}

/// One of the pattern or flags arguments: the same for every row, or one per row.
enum Arg {
    Fixed(Option<String>),
    PerRow(StringArray),
}

impl Arg {
    fn from(v: &ColumnarValue, what: &str) -> DfResult<Arg> {
        Ok(match v {
            ColumnarValue::Scalar(ScalarValue::Utf8(s)) => Arg::Fixed(s.clone()),
            ColumnarValue::Array(a) => Arg::PerRow(as_string_array(a)?.clone()),
            ColumnarValue::Scalar(other) => {
                return exec_err!("{REGEX_LIKE}: expected a string {what}, got {other:?}")
            }
        })
    }

    fn at(&self, row: usize) -> Option<&str> {
        match self {
            Arg::Fixed(s) => s.as_deref(),
            Arg::PerRow(a) => (!a.is_null(row)).then(|| a.value(row)),
        }
    }
}

impl ScalarUDFImpl for RegexLike {
    fn name(&self) -> &str {
        REGEX_LIKE
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let [text, pattern, flags] = args.args.as_slice() else {
            return exec_err!("{REGEX_LIKE} needs a text, a pattern and flags");
        };
        let (pattern, flags) = (Arg::from(pattern, "pattern")?, Arg::from(flags, "flags")?);
        let text = text.to_array(rows)?;
        let text = as_string_array(&text)?;
        let compile = |p: &str, fl: &str| {
            compiled(p, fl).or_else(|e| {
                exec_err!("{REGEX_LIKE}: the regular expression /{p}/ did not compile: {e}")
            })
        };
        let out: BooleanArray = match (&pattern, &flags) {
            // The form compiled queries take: one pattern for the whole batch.
            (Arg::Fixed(p), Arg::Fixed(fl)) => {
                let (Some(p), Some(fl)) = (p, fl) else {
                    return Ok(ColumnarValue::Scalar(ScalarValue::Boolean(None)));
                };
                let re = compile(p, fl)?;
                text.iter().map(|t| t.map(|t| re.is_match(t))).collect()
            }
            _ => {
                let mut out = Vec::with_capacity(rows);
                for row in 0..rows {
                    let (Some(p), Some(fl)) = (pattern.at(row), flags.at(row)) else {
                        out.push(None);
                        continue;
                    };
                    if text.is_null(row) {
                        out.push(None);
                        continue;
                    }
                    out.push(Some(compile(p, fl)?.is_match(text.value(row))));
                }
                out.into_iter().collect()
            }
        };
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// The shared UDF instance.
pub fn regex_like_udf() -> Arc<ScalarUDF> {
    static UDF: OnceLock<Arc<ScalarUDF>> = OnceLock::new();
    UDF.get_or_init(|| {
        Arc::new(ScalarUDF::from(RegexLike {
            signature: Signature::uniform(3, vec![DataType::Utf8], Volatility::Immutable),
        }))
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::Field;

    fn run(
        text: Vec<Option<&str>>,
        pattern: ColumnarValue,
        flags: ColumnarValue,
    ) -> DfResult<Vec<Option<bool>>> {
        let rows = text.len();
        let text: ColumnarValue = ColumnarValue::Array(Arc::new(StringArray::from(text)));
        let args = ScalarFunctionArgs {
            args: vec![text, pattern, flags],
            arg_fields: (0..3)
                .map(|i| Arc::new(Field::new(format!("a{i}"), DataType::Utf8, true)))
                .collect(),
            number_rows: rows,
            return_field: Arc::new(Field::new("out", DataType::Boolean, true)),
            config_options: Arc::new(Default::default()),
        };
        let out = regex_like_udf().invoke_with_args(args)?;
        let ColumnarValue::Array(a) = out else {
            return Ok(vec![None; rows]);
        };
        let b = a
            .as_any()
            .downcast_ref::<BooleanArray>()
            .map(|b| b.iter().collect())
            .unwrap_or_default();
        Ok(b)
    }

    fn s(v: &str) -> ColumnarValue {
        ColumnarValue::Scalar(ScalarValue::Utf8(Some(v.to_string())))
    }

    #[test]
    fn matches_like_the_regex_crate_with_flags_and_nulls() -> DfResult<()> {
        let text = vec![
            Some("wmic /NODE:venus process call create"),
            Some("notepad"),
            None,
        ];
        let p = r"wmic.*/node:.*process\s+call\s+create";
        assert_eq!(
            run(text.clone(), s(p), s(""))?,
            vec![Some(false), Some(false), None]
        );
        assert_eq!(
            run(text.clone(), s(p), s("i"))?,
            vec![Some(true), Some(false), None]
        );
        // A pattern per row (as `lateral sql` may pass it).
        let per_row = ColumnarValue::Array(Arc::new(StringArray::from(vec![
            Some("NODE"),
            Some("^note"),
            Some("x"),
        ])));
        assert_eq!(
            run(text, per_row, s(""))?,
            vec![Some(true), Some(true), None]
        );
        Ok(())
    }

    #[test]
    fn a_pattern_that_does_not_compile_is_an_error_naming_it() {
        let err = run(vec![Some("a")], s("(a{1000}){1000}"), s("")).expect_err("too big");
        let msg = err.to_string();
        assert!(msg.contains("(a{1000}){1000}"), "{msg}");
        assert!(msg.contains("did not compile"), "{msg}");
    }

    #[test]
    fn the_cache_returns_one_compiled_pattern_per_pattern_and_flags() -> Result<(), String> {
        let a = compiled("ab+c", "i")?;
        let b = compiled("ab+c", "i")?;
        let c = compiled("ab+c", "")?;
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(a.is_match("xABBC") && !c.is_match("xABBC"));
        Ok(())
    }
}
