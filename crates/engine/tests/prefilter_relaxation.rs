//! The identity pre-filter derived from a mixed query (an OR of conditions on event ids and on
//! event data) must skip records, yet never change what a query returns.
//!
//! A query's answer with the pre-filter is compared with the answer to the same query OR-ed
//! with a branch that names no identity (`principal.hostname = "…"` matching nothing): that
//! branch implies no identity condition, so nothing is skipped early, and the two answers
//! must be the same events.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use datafusion::arrow::array::{Array, Int64Array, StringArray};
use lateral_engine::{Engine, SearchRequest, WindowSpec};
use lateral_model::f;

const QUERIES: &[&str] = &[
    // The shape of a hunt feed: one branch per query, each with its own event id.
    r#"(lateral.event_id = 4624 AND extensions.auth.mechanism = "NETWORK") OR (lateral.channel = "System" AND lateral.event_id = 7045 AND target.process.file.full_path CONTAINS "exe") OR (metadata.event_type = "PROCESS_LAUNCH" AND principal.process.file.full_path = "WmiPrvSE.exe")"#,
    r#"(lateral.event_id = 5145 AND target.file.full_path = "svcctl") OR (lateral.event_id = 3 AND target.port = 445)"#,
    r#"metadata.event_type = "PROCESS_LAUNCH" AND (target.process.command_line CONTAINS "cmd" OR lateral.event_id = 4688)"#,
    // A branch without identity inside an AND still lets the other conjunct decide.
    r#"lateral.event_id = 4624 AND (principal.ip = "10.0.2.17" OR target.user.userid = "Administrator")"#,
];

const NO_IDENTITY: &str = r#"principal.hostname = "no-such-host.invalid""#;

/// (source file, record) of every event the query returns, and how many records the
/// pre-filter skipped.
async fn answer(paths: &[PathBuf], udm: &str) -> (Vec<(String, i64)>, u64) {
    let engine = Engine::open(paths).expect("open evidence");
    let q = lateral_query::parse(udm).expect("query parses");
    let filter = lateral_query::compile(&q, &lateral_query::Lists::new()).expect("compiles");
    let res = engine
        .search(&SearchRequest {
            filter,
            window: WindowSpec {
                all: true,
                ..WindowSpec::default()
            },
            limit: None,
            columns: vec![f::SOURCE_FILE, f::RECORD_NUMBER],
        })
        .await
        .expect("search runs");
    let mut out = Vec::new();
    for b in &res.batches {
        let file = b
            .column_by_name(f::SOURCE_FILE.name())
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            .expect("file column");
        let rec = b
            .column_by_name(f::RECORD_NUMBER.name())
            .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
            .expect("record column");
        for i in 0..b.num_rows() {
            out.push((
                file.value(i).to_string(),
                if rec.is_valid(i) { rec.value(i) } else { -1 },
            ));
        }
    }
    out.sort();
    (out, engine.stats().prefiltered.load(Ordering::Relaxed))
}

async fn check(paths: Vec<PathBuf>) {
    let mut skipped_any = false;
    for q in QUERIES {
        let (with, skipped) = answer(&paths, q).await;
        let (without, skipped_without) = answer(&paths, &format!("({q}) OR {NO_IDENTITY}")).await;
        assert_eq!(
            skipped_without, 0,
            "a branch without identity must disable the pre-filter: {q}"
        );
        assert_eq!(with, without, "pre-filter changed the answer of {q}");
        skipped_any |= skipped > 0;
    }
    assert!(
        skipped_any,
        "the pre-filter skipped nothing for mixed queries: relaxation is not applied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relaxation_keeps_answers_on_demo_evidence() {
    check(vec![lateral_testdata::repo_root().join("demo")]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relaxation_keeps_answers_on_shared_attack_data() {
    let Some(evtx) = lateral_testdata::shared("evtx/EVTX-ATTACK-SAMPLES") else {
        return;
    };
    let mut paths = vec![evtx];
    if let Some(json) =
        lateral_testdata::shared("json/Security-Datasets/host/empire_psexec_dcerpc_tcp_svcctl.zip")
    {
        paths.push(json);
    }
    check(paths).await;
}
