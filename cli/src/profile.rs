//! `lightcap bench --profile`: where the vision graph's time goes, per operator kind and
//! for its slowest nodes, with each one's GFLOP/s (tract's cost model), to show which
//! kernels are slow on this CPU.

use lightcap::GraphProfile;
use serde_json::{Value, json};

use crate::output::say;

/// Nodes listed one by one, slowest first.
const SLOWEST: usize = 12;

fn gflops_per_s(flops: f64, ms: f64) -> String {
    if flops > 0.0 && ms > 0.0 {
        format!("{:.1}", flops / ms / 1e6)
    } else {
        "-".into()
    }
}

/// Prints the profile and returns it as JSON.
pub(crate) fn print_profile(profile: &GraphProfile) -> Value {
    let total_ms = profile.total().as_secs_f64() * 1e3;
    say!(
        "{} graph by operator kind (medians of {} runs; {:.1} ms in all nodes):",
        profile.graph,
        profile.runs,
        total_ms
    );
    say!(
        "  {:<22} {:>5} {:>9} {:>6} {:>8} {:>8}",
        "kind",
        "nodes",
        "ms",
        "share",
        "GFLOP",
        "GFLOP/s"
    );
    let kinds = profile.by_kind();
    for kind in &kinds {
        let ms = kind.time.as_secs_f64() * 1e3;
        say!(
            "  {:<22} {:>5} {:>9.2} {:>5.1}% {:>8.3} {:>8}",
            kind.kind,
            kind.nodes,
            ms,
            100.0 * ms / total_ms.max(f64::MIN_POSITIVE),
            kind.flops / 1e9,
            gflops_per_s(kind.flops, ms)
        );
    }
    let mut slowest: Vec<_> = profile.ops.iter().collect();
    slowest.sort_by_key(|op| std::cmp::Reverse(op.time));
    say!("  slowest nodes:");
    for op in slowest.iter().take(SLOWEST) {
        let ms = op.time.as_secs_f64() * 1e3;
        say!(
            "  {:>8.2} ms {:>8} GFLOP/s  {:<14} {:<22} {}",
            ms,
            gflops_per_s(op.flops, ms),
            op.kind,
            op.shape,
            op.node
        );
    }
    json!({
        "graph": profile.graph,
        "runs": profile.runs,
        "total_ms": total_ms,
        "kinds": kinds.iter().map(|k| json!({
            "kind": k.kind, "nodes": k.nodes, "ms": k.time.as_secs_f64() * 1e3, "flops": k.flops,
        })).collect::<Vec<_>>(),
        "nodes": profile.ops.iter().map(|op| json!({
            "node": op.node, "kind": op.kind, "shape": op.shape,
            "ms": op.time.as_secs_f64() * 1e3, "flops": op.flops,
        })).collect::<Vec<_>>(),
    })
}
