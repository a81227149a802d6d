//! Where a graph's time goes: every node of its optimised plan timed as it runs, with
//! the multiply-adds tract's cost model assigns it, so each operator's GFLOP/s shows
//! which of tract's kernels are slow on this CPU (`lightcap bench --profile`).

use std::time::{Duration, Instant};

use tract_nnef::prelude::*;
use tract_nnef::tract_core::ops::{Cost, TypedOp};
use tract_nnef::tract_core::plan::{SimpleState, eval};

use crate::error::{Error, Result};
use crate::pack::Plan;
use crate::panic_guard::catch_panic;

/// One node of a profiled plan.
#[derive(Debug, Clone, PartialEq)]
pub struct OpTiming {
    /// The node's name in the optimised graph.
    pub node: String,
    /// The operator's kind (`Conv`, `DepthWise`, `OptMatMul`, ...), as tract names it.
    pub kind: String,
    /// The node's first output shape, e.g. `1,112,14,14`.
    pub shape: String,
    /// Median time of one evaluation over the profiled runs.
    pub time: Duration,
    /// Floating-point operations of one evaluation (2 per multiply-add), from tract's
    /// cost model; 0 where the operator declares none (layout changes, activations).
    pub flops: f64,
}

/// Every node of one graph's plan, in evaluation order.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphProfile {
    /// `vision` or `decoder`.
    pub graph: &'static str,
    /// Evaluations each node's median is taken over.
    pub runs: usize,
    pub ops: Vec<OpTiming>,
}

/// Time, operations and node count of one operator kind, summed over a graph.
#[derive(Debug, Clone, PartialEq)]
pub struct KindTotal {
    pub kind: String,
    pub nodes: usize,
    pub time: Duration,
    pub flops: f64,
}

impl GraphProfile {
    /// The sum of the nodes' medians: close to, not equal to, a whole run's median.
    pub fn total(&self) -> Duration {
        self.ops.iter().map(|op| op.time).sum()
    }

    /// Totals per operator kind, slowest first.
    pub fn by_kind(&self) -> Vec<KindTotal> {
        let mut totals: Vec<KindTotal> = Vec::new();
        for op in &self.ops {
            match totals.iter_mut().find(|t| t.kind == op.kind) {
                Some(total) => {
                    total.nodes += 1;
                    total.time += op.time;
                    total.flops += op.flops;
                }
                None => totals.push(KindTotal {
                    kind: op.kind.clone(),
                    nodes: 1,
                    time: op.time,
                    flops: op.flops,
                }),
            }
        }
        totals.sort_by_key(|total| std::cmp::Reverse(total.time));
        totals
    }
}

/// Runs `plan` on `inputs` `runs` times (after one untimed run), timing every node.
pub(crate) fn profile_plan(
    plan: &Plan,
    inputs: TVec<TValue>,
    runs: usize,
    graph: &'static str,
) -> Result<GraphProfile> {
    let fail = |message: String| Error::Inference { graph, message };
    let model = plan.model();
    let flops: Vec<f64> = (0..model.nodes().len())
        .map(|id| node_flops(model, id))
        .collect();
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(runs); model.nodes().len()];
    for run in 0..=runs {
        let mut state = SimpleState::new(plan).map_err(|e| fail(format!("{e:#}")))?;
        let timed = run > 0; // the first run warms caches and lazily built kernels
        catch_panic(|| {
            state.run_plan_with_eval(inputs.clone(), |session, op_state, node, input| {
                let start = Instant::now();
                let outputs = eval(session, op_state, node, input);
                if timed {
                    samples[node.id].push(start.elapsed());
                }
                outputs
            })
        })
        .map_err(fail)?
        .map_err(|e| fail(format!("{e:#}")))?;
    }
    let timed: Vec<usize> = model
        .eval_order()
        .map_err(|e| fail(format!("{e:#}")))?
        .into_iter()
        .filter(|&id| !samples[id].is_empty())
        .collect();
    let ops = timed
        .into_iter()
        .map(|id| {
            let node = model.node(id);
            let shape = model
                .outlet_fact(OutletId::new(id, 0))
                .map(|fact| format!("{:?}", fact.shape).replace(' ', ""))
                .unwrap_or_default();
            OpTiming {
                node: node.name.clone(),
                kind: node.op().name().into_owned(),
                shape,
                time: median(&mut samples[id]),
                flops: flops[id],
            }
        })
        .collect();
    Ok(GraphProfile { graph, runs, ops })
}

/// Two operations per multiply-add tract's cost model counts for the node; 0 where its
/// sizes are symbolic or it declares no cost.
fn node_flops(model: &TypedModel, id: usize) -> f64 {
    let Ok(inputs) = model.node_input_facts(id) else {
        return 0.0;
    };
    let op: &dyn TypedOp = &*model.node(id).op;
    let Ok(costs) = op.cost(&inputs) else {
        return 0.0;
    };
    costs
        .iter()
        .filter(|(cost, _)| matches!(cost, Cost::FMA(_)))
        .filter_map(|(_, count)| count.to_i64().ok())
        // A fold from +0.0: an empty f64 sum is -0.0.
        .fold(0.0, |total, count| total + 2.0 * count as f64)
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(kind: &str, ms: u64, flops: f64) -> OpTiming {
        OpTiming {
            node: format!("{kind}-{ms}"),
            kind: kind.into(),
            shape: "1,8".into(),
            time: Duration::from_millis(ms),
            flops,
        }
    }

    #[test]
    fn kinds_are_summed_and_the_slowest_comes_first() {
        let profile = GraphProfile {
            graph: "vision",
            runs: 3,
            ops: vec![
                timing("Conv", 2, 10.0),
                timing("DepthWise", 5, 4.0),
                timing("Conv", 1, 6.0),
            ],
        };
        let kinds = profile.by_kind();
        assert_eq!(kinds[0].kind, "DepthWise");
        assert_eq!((kinds[1].kind.as_str(), kinds[1].nodes), ("Conv", 2));
        assert_eq!(kinds[1].time, Duration::from_millis(3));
        assert_eq!(kinds[1].flops, 16.0);
        assert_eq!(profile.total(), Duration::from_millis(8));
    }

    #[test]
    fn the_median_is_the_middle_sample() {
        let mut samples = [5, 1, 3].map(Duration::from_millis);
        assert_eq!(median(&mut samples), Duration::from_millis(3));
    }
}
