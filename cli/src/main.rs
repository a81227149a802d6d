//! `lightcap`: caption images from the command line.
//!
//!     lightcap caption photo.jpg more/*.png --beam 3 --json
//!     lightcap info --pack models/default
//!     lightcap bench --beams 1,5 --runs 5 --json report.json tests/images/*.png
//!     lightcap export-nnef --pack models/default

use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod bench;
mod export_nnef;
mod heap_meter;
mod output;
mod profile;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use lightcap::{Caption, CaptionOptions, Captioner, ImageInput};
use serde_json::json;

use output::say;

/// Counts heap bytes for `lightcap bench`'s memory figures.
#[global_allocator]
static HEAP: heap_meter::HeapMeter = heap_meter::HeapMeter;

/// The pack bundled with the source tree, used when neither --pack nor
/// LIGHTCAP_PACK names one.
const BUNDLED_PACK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default");

#[derive(Parser)]
#[command(
    name = "lightcap",
    version,
    about = "On-device image captioning with LightCap model packs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Caption one or more images.
    Caption(CaptionArgs),
    /// Show what a model pack holds.
    Info(PackArg),
    /// Time loading and captioning on this thread: medians, p90, stages, memory.
    Bench(bench::BenchArgs),
    /// Write the pre-optimised form (tract's NNEF) of a pack's graphs next to them.
    ExportNnef(export_nnef::ExportNnefArgs),
}

#[derive(Args)]
pub(crate) struct PackArg {
    /// Model pack folder [default: $LIGHTCAP_PACK, else the bundled pack]
    #[arg(long)]
    pack: Option<PathBuf>,
    /// Float precision to compute in (auto: float16 where the CPU has it natively).
    #[arg(long, value_enum, default_value_t = PrecisionArg::Auto)]
    precision: PrecisionArg,
    /// Run tract's operators everywhere, not LightCap's own kernels where tract's are slow
    /// (to measure what those save, or to rule them out).
    #[arg(long)]
    pub(crate) tract_kernels: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum PrecisionArg {
    Auto,
    F32,
    F16,
}

impl PackArg {
    /// The pack's files, to be loaded in the precision asked for.
    pub(crate) fn files(&self) -> lightcap::Result<lightcap::PackFiles> {
        let precision = match self.precision {
            PrecisionArg::Auto => lightcap::Precision::Auto,
            PrecisionArg::F32 => lightcap::Precision::Float32,
            PrecisionArg::F16 => lightcap::Precision::Float16,
        };
        let files = lightcap::PackFiles::read_dir(&pack_dir(self))?.with_precision(precision);
        Ok(match self.tract_kernels {
            true => files.use_tract_kernels(),
            false => files,
        })
    }
}

#[derive(Args)]
struct CaptionArgs {
    /// Image files (JPEG, PNG, WebP, GIF, BMP, TIFF).
    #[arg(required = true)]
    images: Vec<PathBuf>,
    #[command(flatten)]
    pack: PackArg,
    /// Beam size (1 = greedy).
    #[arg(long, default_value_t = 1)]
    beam: usize,
    /// Most tokens to generate [default: the pack's].
    #[arg(long)]
    max_length: Option<usize>,
    /// Fewest tokens before the caption may end.
    #[arg(long, default_value_t = 0)]
    min_length: usize,
    /// Length penalty for beam search.
    #[arg(long, default_value_t = 1.0)]
    length_penalty: f32,
    /// Never repeat an n-gram of this size (0 = off).
    #[arg(long, default_value_t = 0)]
    no_repeat_ngram: usize,
    /// Print one JSON object per image (JSON lines) instead of text.
    #[arg(long)]
    json: bool,
}

fn pack_dir(arg: &PackArg) -> PathBuf {
    arg.pack
        .clone()
        .or_else(|| std::env::var_os("LIGHTCAP_PACK").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(BUNDLED_PACK))
}

fn load(arg: &PackArg) -> Result<Captioner, String> {
    let dir = pack_dir(arg);
    arg.files()
        .and_then(Captioner::from_files)
        .map_err(|e| format!("cannot load model pack {}: {e}", dir.display()))
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Caption(args) => caption(&args),
        Command::Info(arg) => info(&arg),
        Command::Bench(args) => bench::run(&args, &pack_dir(&args.pack)),
        Command::ExportNnef(args) => export_nnef::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn info(arg: &PackArg) -> Result<ExitCode, String> {
    let captioner = load(arg)?;
    let m = captioner.manifest();
    say!(
        "model:    {} {} ({})",
        m.model.name,
        m.model.version,
        m.model.license
    );
    if !m.model.description.is_empty() {
        say!("          {}", m.model.description);
    }
    say!("image:    {0}x{0}, grid {1}x{1}", m.image.size, m.grid_size);
    say!("concepts: {} (top {})", m.concepts.count, m.concepts.top_k);
    let calibration = captioner.calibration();
    match &m.confidence {
        Some(spec) => say!(
            "confidence: calibrated on features {}, unsure below {}",
            spec.features.join(", "),
            calibration.threshold()
        ),
        None => say!(
            "confidence: uncalibrated (geometric-mean token probability), unsure below {}",
            calibration.threshold()
        ),
    }
    say!(
        "decoder:  {} layers, {} heads of {}, max {} tokens",
        m.cache.layers,
        m.cache.heads,
        m.cache.head_dim,
        m.decoding.max_length
    );
    let bytes: u64 = m.files.iter().map(|f| f.bytes).sum();
    say!(
        "size:     {:.1} MB in {} files",
        bytes as f64 / 1e6,
        m.files.len() + 1
    );
    Ok(ExitCode::SUCCESS)
}

fn caption(args: &CaptionArgs) -> Result<ExitCode, String> {
    let captioner = load(&args.pack)?;
    let options = CaptionOptions {
        beam_size: args.beam,
        max_length: args.max_length,
        min_length: args.min_length,
        length_penalty: args.length_penalty,
        no_repeat_ngram_size: args.no_repeat_ngram,
        ..CaptionOptions::default()
    };
    let progress = if args.images.len() > 1 {
        ProgressBar::new(args.images.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    progress.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} images, {per_sec}, eta {eta}")
            .expect("valid template"),
    );
    let mut failures = 0usize;
    for path in &args.images {
        let result = captioner.caption(ImageInput::File(path), &options);
        progress.suspend(|| match &result {
            Ok(caption) => print_caption(path, caption, args.json, args.images.len() > 1),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                if args.json {
                    say!("{}", json!({"image": path, "error": e.to_string()}));
                }
            }
        });
        failures += usize::from(result.is_err());
        progress.inc(1);
    }
    progress.finish_and_clear();
    if failures > 0 {
        eprintln!("{failures} of {} images failed", args.images.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_caption(path: &Path, caption: &Caption, as_json: bool, with_name: bool) {
    if as_json {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        let t = &caption.timings;
        let record = json!({
            "image": path,
            "caption": caption.text,
            "tokens": caption.tokens,
            "token_ids": caption.token_ids,
            "log_prob": caption.log_prob,
            "token_log_probs": caption.token_log_probs,
            "finished": caption.finished,
            "confidence": caption.confidence,
            "unsure": caption.unsure,
            "features": caption.features.named().into_iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "concepts": caption.concepts.iter().map(|c| json!({"name": c.name, "score": c.score})).collect::<Vec<_>>(),
            "timings_ms": {
                "decode": ms(t.decode), "preprocess": ms(t.preprocess), "vision": ms(t.vision),
                "text": ms(t.text), "total": ms(t.total),
            },
        });
        say!("{record}");
    } else {
        let unsure = if caption.unsure { " (unsure)" } else { "" };
        if with_name {
            say!("{}: {}{unsure}", path.display(), caption.text);
        } else {
            say!("{}{unsure}", caption.text);
        }
    }
}
