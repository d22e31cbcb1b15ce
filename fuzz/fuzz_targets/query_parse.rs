//! Parse arbitrary UTF-8 as a query. On success the echo must parse again to the same core
//! tree, and compiling (with no reference lists) must return, never panic.

#![no_main]

use lateral_query::{compile, parse, Lists};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(query) = parse(text) else {
        return;
    };
    let echo = query.to_udm();
    let again = match parse(&echo) {
        Ok(q) => q,
        Err(e) => panic!("echo of an accepted query does not parse: {echo:?}\n{e}"),
    };
    assert_eq!(
        query.core(),
        again.core(),
        "echo changed the query: {echo:?}"
    );
    let lists = Lists::default();
    let _ = compile(&query, &lists);
    let _ = compile(&again, &lists);
});
