//! Physical plans for the hunt's two wide projections, built without the logical optimizer.
//!
//! The hunt runs two plans of one fixed shape, a table, perhaps a filter, and a projection
//! of a hundred-odd expressions: the scan of the evidence (every field plus one boolean
//! column per feed expression) and the queries' pass over the candidate table. For that
//! shape DataFusion's logical optimizer does nothing but push the projection and the filter
//! into the table scan, yet its passes over so many expressions cost 20-25 ms before the
//! first record is read (measured on 1 080 small files, where the whole search takes about
//! 210 ms). This module builds the same physical plan directly: the provider's scan with the
//! columns read and the filter pushed, a filter, the projection, then the session's physical
//! optimizer rules (which may still repartition). Each expression is prepared as the
//! analyzer and optimizer would prepare it: type coercion, the session's function rewrites,
//! simplification; the expressions are compiled on all cores (the scan threads are idle
//! until the plan exists).
//!
//! It must not be used for a store: a Parquet listing (perhaps run on a cluster, whose
//! planner must see the logical plan) needs the optimizer's pruning and pushdown.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use datafusion::common::tree_node::TreeNode;
use datafusion::common::DFSchema;
use datafusion::datasource::TableProvider;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::physical_expr::create_physical_expr;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::{ExecutionPlan, PhysicalExpr};
use datafusion::scalar::ScalarValue;

use crate::HuntError;

/// Plan `SELECT select FROM provider [WHERE filter]` for execution in this process. The
/// output columns are named by the expressions' aliases (a bare column keeps its name).
pub async fn select(
    state: &SessionState,
    provider: Arc<dyn TableProvider>,
    filter: Option<Expr>,
    select: Vec<Expr>,
) -> Result<Arc<dyn ExecutionPlan>, HuntError> {
    let table_schema = provider.schema();
    // The columns read, in table order: what projection pushdown would give the scan.
    let mut read: BTreeSet<String> = BTreeSet::new();
    for e in select.iter().chain(filter.iter()) {
        read.extend(e.column_refs().into_iter().map(|c| c.name.clone()));
    }
    let projection = field_indices(&table_schema, &read);
    // The filter, prepared, is what the scan sees (as the optimizer would push it); one
    // that is always true is no filter.
    let filter = match filter {
        Some(e) => {
            let read = DFSchema::try_from(table_schema.project(&projection)?)?;
            Some(Prepare::new(state, &read).logical(e)?)
        }
        None => None,
    }
    .filter(|e| !matches!(e, Expr::Literal(ScalarValue::Boolean(Some(true)), _)));
    // As the optimizer would: the filter goes to the scan when the provider takes it, and is
    // applied again on what the scan returns unless the provider applies it exactly.
    let support = match &filter {
        Some(e) => provider
            .supports_filters_pushdown(&[e])?
            .pop()
            .unwrap_or(TableProviderFilterPushDown::Unsupported),
        None => TableProviderFilterPushDown::Unsupported,
    };
    let pushed: Vec<Expr> = match support {
        TableProviderFilterPushDown::Unsupported => Vec::new(),
        _ => filter.iter().cloned().collect(),
    };
    let scan = provider
        .scan(state, Some(&projection), &pushed, None)
        .await?;
    let schema = DFSchema::try_from(scan.schema().as_ref().clone())?;
    let mut input = scan;
    if let Some(e) = filter.filter(|_| support != TableProviderFilterPushDown::Exact) {
        // Already prepared: only compiled against what the scan returns.
        let predicate = Prepare::new(state, &schema).compile(&e)?;
        input = Arc::new(FilterExec::try_new(predicate, input)?);
    }
    let named: Vec<(String, Expr)> = select
        .into_iter()
        .map(|e| match e {
            Expr::Alias(a) => (a.name, *a.expr),
            Expr::Column(c) => (c.name.clone(), Expr::Column(c)),
            other => {
                let name = other.schema_name().to_string();
                (name, other)
            }
        })
        .collect();
    let exprs = compile_all(state, &schema, named)?;
    let mut plan: Arc<dyn ExecutionPlan> = Arc::new(ProjectionExec::try_new(exprs, input)?);
    for rule in state.physical_optimizers() {
        plan = rule.optimize(plan, state.config_options())?;
    }
    Ok(plan)
}

/// The positions of the fields of `schema` named in `names`, in the schema's order.
pub(crate) fn field_indices(schema: &Schema, names: &BTreeSet<String>) -> Vec<usize> {
    schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, fl)| names.contains(fl.name()))
        .map(|(i, _)| i)
        .collect()
}

/// A compiled expression and its output column's name.
type Named = (Arc<dyn PhysicalExpr>, String);

/// Compile the named expressions on every core, keeping their order.
fn compile_all(
    state: &SessionState,
    schema: &DFSchema,
    named: Vec<(String, Expr)>,
) -> Result<Vec<Named>, HuntError> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    // Dealt round-robin: neighbouring expressions are often alike in cost.
    let mut shares: Vec<Vec<(usize, String, Expr)>> = vec![Vec::new(); workers];
    for (i, (name, e)) in named.into_iter().enumerate() {
        shares[i % workers].push((i, name, e));
    }
    let compiled = std::thread::scope(|s| {
        let running: Vec<_> = shares
            .into_iter()
            .map(|share| {
                s.spawn(move || {
                    let prepare = Prepare::new(state, schema);
                    share
                        .into_iter()
                        .map(|(i, name, e)| Ok((i, prepare.physical(e)?, name)))
                        .collect::<Result<Vec<_>, HuntError>>()
                })
            })
            .collect();
        running
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(HuntError::Internal(
                        "compiling the hunt's expressions: a worker panicked".into(),
                    ))
                })
            })
            .collect::<Result<Vec<_>, HuntError>>()
    })?;
    let mut all: Vec<_> = compiled.into_iter().flatten().collect();
    all.sort_by_key(|(i, _, _)| *i);
    Ok(all.into_iter().map(|(_, e, name)| (e, name)).collect())
}

/// Logical expressions prepared as the analyzer and optimizer would prepare them, then
/// compiled to physical ones, against one input schema.
struct Prepare<'a> {
    state: &'a SessionState,
    schema: &'a DFSchema,
    simplifier: ExprSimplifier,
}

impl<'a> Prepare<'a> {
    fn new(state: &'a SessionState, schema: &'a DFSchema) -> Self {
        let ctx = SimplifyContext::builder()
            .with_schema(Arc::new(schema.clone()))
            .with_config_options(Arc::clone(state.config_options()))
            .with_query_execution_start_time(state.execution_props().query_execution_start_time)
            .build();
        Prepare {
            state,
            schema,
            simplifier: ExprSimplifier::new(ctx),
        }
    }

    /// Type coercion, the session's function rewrites, simplification.
    fn logical(&self, e: Expr) -> Result<Expr, HuntError> {
        let mut e = self.simplifier.coerce(e, self.schema)?;
        let options = self.state.config_options();
        for rewrite in self.state.analyzer().function_rewrites() {
            e = e
                .transform_up(|x| rewrite.rewrite(x, self.schema, options))?
                .data;
        }
        Ok(self.simplifier.simplify(e)?)
    }

    fn physical(&self, e: Expr) -> Result<Arc<dyn PhysicalExpr>, HuntError> {
        self.compile(&self.logical(e)?)
    }

    /// A prepared expression ([`Prepare::logical`]) to a physical one.
    fn compile(&self, e: &Expr) -> Result<Arc<dyn PhysicalExpr>, HuntError> {
        Ok(create_physical_expr(
            e,
            self.schema,
            self.state.execution_props(),
            &PhysicalPlanningContext::default(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::datasource::MemTable;
    use datafusion::functions::string::expr_fn::lower;
    use datafusion::logical_expr::{col, lit};
    use datafusion::prelude::SessionContext;

    fn table() -> Arc<MemTable> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("unused", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![
                    Some(0),
                    Some(1),
                    None,
                    Some(3),
                    Some(2),
                ])),
                Arc::new(StringArray::from(vec![
                    Some("PSEXESVC"),
                    None,
                    Some("x"),
                    Some("psexesvc"),
                    Some("svc"),
                ])),
                Arc::new(StringArray::from(vec!["a", "b", "c", "d", "e"])),
            ],
        )
        .expect("batch");
        Arc::new(MemTable::try_new(schema, vec![vec![batch]]).expect("table"))
    }

    /// The direct plan gives what DataFusion's own planning of the same query gives: the
    /// same columns, names and rows, with literals of another type coerced (an `Int32`
    /// against the `Int64` column) and the filter applied.
    #[tokio::test]
    async fn same_result_as_the_optimizer() {
        let ctx = SessionContext::new();
        let select = vec![
            col("n"),
            col("n").gt(lit(1i32)).alias("big"),
            lower(col("name")).eq(lit("psexesvc")).alias("psexec"),
            col("name")
                .is_null()
                .or(col("n").eq(lit(3i64)))
                .alias("either"),
        ];
        for filter in [None, Some(col("n").gt_eq(lit(1i32)))] {
            let mut df = ctx.read_table(table()).expect("read");
            if let Some(f) = &filter {
                df = df.filter(f.clone()).expect("filter");
            }
            let want = df.select(select.clone()).expect("select");
            let want = pretty_format_batches(&want.collect().await.expect("collect"))
                .expect("format")
                .to_string();
            let state = ctx.state();
            let plan = select_plan(&state, filter.clone(), select.clone()).await;
            let got = datafusion::physical_plan::collect(plan, state.task_ctx())
                .await
                .expect("collect");
            let got = pretty_format_batches(&got).expect("format").to_string();
            assert_eq!(got, want, "filter {filter:?}");
        }
    }

    async fn select_plan(
        state: &SessionState,
        filter: Option<Expr>,
        select: Vec<Expr>,
    ) -> Arc<dyn ExecutionPlan> {
        super::select(state, table(), filter, select)
            .await
            .expect("plan")
    }

    /// A filter that is always true is no filter; an unknown column is an error, not a panic.
    #[tokio::test]
    async fn trivial_filter_and_unknown_column() {
        let ctx = SessionContext::new();
        let state = ctx.state();
        let plan = select_plan(&state, Some(lit(true)), vec![col("n")]).await;
        let shown = datafusion::physical_plan::displayable(plan.as_ref())
            .indent(false)
            .to_string();
        assert!(!shown.contains("FilterExec"), "{shown}");
        let rows: usize = datafusion::physical_plan::collect(plan, state.task_ctx())
            .await
            .expect("collect")
            .iter()
            .map(RecordBatch::num_rows)
            .sum();
        assert_eq!(rows, 5);
        let err = super::select(&state, table(), None, vec![col("missing")]).await;
        assert!(err.is_err());
    }
}
