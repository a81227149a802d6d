//! `lightcap bench`: load time, caption latency per beam size (median, p90, range), the
//! time of each stage and of one decoder step, peak resident memory, and the heap a
//! caption needs on top of the loaded pack, on the calling thread.
//! Timings come from the core's own per-stage clocks; `scripts/bench.py` runs the same
//! graphs in onnxruntime and PyTorch and compares.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use lightcap::{CaptionOptions, Captioner, ConstantForm, ImageInput};
use serde_json::{Value, json};

use crate::{PackArg, heap_meter};

use crate::output::say;

#[derive(Args)]
pub(crate) struct BenchArgs {
    /// Images to caption, each `--runs` times per beam size.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) pack: PackArg,
    /// Beam sizes to time, comma-separated.
    #[arg(long, default_value = "1,5", value_delimiter = ',')]
    beams: Vec<usize>,
    /// Timed repetitions of every image (after one untimed warm-up pass).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Times the pack is loaded (and optimised) to time loading.
    #[arg(long, default_value_t = 3)]
    loads: usize,
    /// Write the report here as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Load the ONNX graphs even where the pack has the pre-optimised (NNEF) form.
    #[arg(long)]
    onnx_graphs: bool,
    /// Also time every node of the vision graph on the first image (`--runs` times):
    /// time, GFLOP and GFLOP/s per operator kind and for the slowest nodes.
    #[arg(long)]
    profile: bool,
}

/// Median, 90th percentile, minimum and maximum of some durations, in milliseconds.
fn summary(mut ms: Vec<f64>) -> Value {
    if ms.is_empty() {
        return Value::Null;
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    json!({"median": at(0.5), "p90": at(0.9), "min": ms[0], "max": ms[ms.len() - 1], "n": ms.len()})
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Peak resident memory of this process so far (Linux `VmHWM`), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

pub(crate) fn run(args: &BenchArgs, pack: &Path) -> Result<ExitCode, String> {
    let load = || {
        let start = Instant::now();
        let files = args.pack.files().map(|files| match args.onnx_graphs {
            true => files.use_onnx_graphs(),
            false => files,
        });
        files
            .and_then(Captioner::from_files)
            .map(|c| (c, ms(start.elapsed())))
            .map_err(|e| format!("cannot load model pack {}: {e}", pack.display()))
    };
    let mut load_ms = Vec::new();
    let mut captioner = None;
    let mut heap_peak_while_loading = 0;
    for _ in 0..args.loads.max(1) {
        drop(captioner.take()); // one pack in memory at a time, as in an app
        heap_meter::restart_peak();
        let (c, t) = load()?;
        heap_peak_while_loading = heap_peak_while_loading.max(heap_meter::peak_bytes());
        load_ms.push(t);
        captioner = Some(c);
    }
    let captioner = captioner.expect("loaded at least once");
    let heap_with_loaded_pack = heap_meter::restart_peak();
    let peak_while_loading = peak_rss_mb();
    let images: Vec<(PathBuf, Vec<u8>)> = args
        .images
        .iter()
        .map(|p| {
            std::fs::read(p)
                .map(|b| (p.clone(), b))
                .map_err(|e| format!("{}: {e}", p.display()))
        })
        .collect::<Result<_, _>>()?;

    let mut per_beam = serde_json::Map::new();
    let mut working = Vec::new();
    say!(
        "{:<6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "beam",
        "total",
        "p90",
        "decode",
        "preproc",
        "vision",
        "per step"
    );
    for &beam in &args.beams {
        let options = CaptionOptions {
            beam_size: beam,
            ..CaptionOptions::default()
        };
        let caption = |bytes: &[u8]| {
            captioner
                .caption(ImageInput::Encoded(bytes), &options)
                .map_err(|e| e.to_string())
        };
        for (_, bytes) in &images {
            caption(bytes)?; // warm-up: first-run allocations are not what an app sees later
        }
        // From here the heap peak covers captions only: what one needs on top of the pack.
        let heap_with_pack = heap_meter::restart_peak();
        let (mut total, mut decode, mut preprocess, mut vision, mut text, mut step) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for _ in 0..args.runs.max(1) {
            for (_, bytes) in &images {
                let c = caption(bytes)?;
                let t = &c.timings;
                total.push(ms(t.total));
                decode.push(ms(t.decode));
                preprocess.push(ms(t.preprocess));
                vision.push(ms(t.vision));
                text.push(ms(t.text));
                // One decoder step per generated token, plus the one that chose [SEP].
                let steps = c.token_ids.len() + usize::from(c.finished);
                step.push(ms(t.text) / steps.max(1) as f64);
            }
        }
        let caption_heap = heap_meter::peak_bytes() - heap_with_pack;
        let report = json!({
            "heap_with_pack_mb": mb(heap_with_pack), "caption_heap_peak_mb": mb(caption_heap),
            "total_ms": summary(total), "decode_ms": summary(decode),
            "preprocess_ms": summary(preprocess), "vision_ms": summary(vision),
            "text_ms": summary(text), "decoder_step_ms": summary(step),
        });
        let median = |key: &str| report[key]["median"].as_f64().unwrap_or(f64::NAN);
        say!(
            "{:<6} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>10.2}",
            beam,
            median("total_ms"),
            report["total_ms"]["p90"].as_f64().unwrap_or(f64::NAN),
            median("decode_ms"),
            median("preprocess_ms"),
            median("vision_ms"),
            median("decoder_step_ms"),
        );
        working.push((beam, heap_with_pack, caption_heap));
        per_beam.insert(beam.to_string(), report);
    }
    let load_summary = summary(load_ms);
    let peak = peak_rss_mb();
    say!(
        "load {:.0} ms (median of {}); peak resident memory {} (reached while loading: {}); \
         peak heap while loading {:.1} MB",
        load_summary["median"].as_f64().unwrap_or(f64::NAN),
        args.loads.max(1),
        peak.map_or("unknown".into(), |mb| format!("{mb:.0} MB")),
        peak_while_loading.map_or("unknown".into(), |mb| format!("{mb:.0} MB")),
        mb(heap_peak_while_loading),
    );
    for (beam, with_pack, caption) in working {
        say!(
            "beam {beam}: a caption's heap peaks {:.1} MB above the {:.1} MB the loaded pack holds",
            mb(caption),
            mb(with_pack),
        );
    }
    let constants = print_constants(&captioner, heap_with_loaded_pack);
    let load_stages = print_load_stages(&captioner);
    let vision_profile = match args.profile {
        true => {
            let profile = captioner
                .profile_vision(ImageInput::Encoded(&images[0].1), args.runs)
                .map_err(|e| e.to_string())?;
            crate::profile::print_profile(&profile)
        }
        false => Value::Null,
    };
    if let Some(path) = &args.json {
        let report = json!({
            "vision_profile": vision_profile,
            "constants": constants, "load_stages_ms": load_stages,
            "pack": pack, "model": captioner.manifest().model.name,
            "kernels": if args.pack.tract_kernels { "tract" } else { "lightcap" },
            "images": args.images, "runs": args.runs, "threads": 1,
            "load_ms": load_summary, "beams": per_beam,
            "peak_rss_mb": peak, "peak_rss_while_loading_mb": peak_while_loading,
            "heap_peak_while_loading_mb": mb(heap_peak_while_loading),
        });
        std::fs::write(path, serde_json::to_string_pretty(&report).unwrap())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Where the loaded pack's heap goes: the graphs' constants by graph and form, and the
/// largest of them. Returns the same as JSON.
fn print_constants(captioner: &Captioner, heap_with_pack: usize) -> Value {
    let constants = captioner.constant_tensors();
    let form = |f: ConstantForm| match f {
        ConstantForm::Plain => "plain".to_string(),
        ConstantForm::Packed { copies } => format!("packed x{copies}"),
        ConstantForm::Other => "other".to_string(),
    };
    let mut totals: Vec<(String, usize, usize)> = Vec::new();
    for c in &constants {
        let key = format!(
            "{} {}",
            c.graph,
            form(c.form).split(' ').next().unwrap_or("")
        );
        match totals.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, bytes, count)) => {
                *bytes += c.bytes;
                *count += 1;
            }
            None => totals.push((key, c.bytes, 1)),
        }
    }
    let all: usize = constants.iter().map(|c| c.bytes).sum();
    say!(
        "constants: {:.1} MB of the {:.1} MB of heap the loaded pack holds",
        mb(all),
        mb(heap_with_pack)
    );
    for (key, bytes, count) in &totals {
        say!("  {key:<16} {:>8.1} MB in {count} tensors", mb(*bytes));
    }
    say!("  largest:");
    for c in constants.iter().take(8) {
        say!(
            "  {:>8.1} MB  {:<8} {:<10} {:<12} {:?} {}",
            mb(c.bytes),
            c.graph,
            form(c.form),
            c.datum_type,
            c.shape,
            c.node
        );
    }
    let rows: Vec<Value> = constants
        .iter()
        .map(|c| {
            json!({"graph": c.graph, "node": c.node, "datum_type": c.datum_type,
                   "shape": c.shape, "form": form(c.form), "bytes": c.bytes})
        })
        .collect();
    json!({"total_mb": mb(all), "heap_with_pack_mb": mb(heap_with_pack), "tensors": rows})
}

/// How long each step of the last load took. Returns them as JSON (name -> ms).
fn print_load_stages(captioner: &Captioner) -> Value {
    let stages = &captioner.load_stages().stages;
    let total: f64 = stages.iter().map(|(_, t)| ms(*t)).sum();
    say!("loading, by step (the last load; {total:.0} ms):");
    let mut json = serde_json::Map::new();
    for (name, time) in stages {
        say!("  {:>7.1} ms  {name}", ms(*time));
        json.insert(name.clone(), json!(ms(*time)));
    }
    Value::Object(json)
}
