//! `lightcap export-nnef`: write the pre-optimised form of a pack's graphs.
//!
//! Each ONNX graph of the pack gets a `.nnef.tar` twin next to it (`vision.onnx` gives
//! `vision.nnef.tar`), tract's NNEF of the graph as loading types and declutters it, with
//! the pack's int8 weights kept int8. The manifest is not touched here:
//! `python -m lightcap.nnef_form PACK` runs this and then lists the new files in the
//! manifest, as the export scripts do.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use lightcap::manifest::{MANIFEST_FILE, Manifest};

use crate::output::say;

#[derive(Args)]
pub(crate) struct ExportNnefArgs {
    /// Model pack folder whose ONNX graphs are converted.
    #[arg(long)]
    pack: PathBuf,
}

/// The file name of a graph's pre-optimised form: `vision.onnx` gives `vision.nnef.tar`.
fn nnef_name(onnx: &str) -> String {
    let stem = onnx.strip_suffix(".onnx").unwrap_or(onnx);
    format!("{stem}.nnef.tar")
}

pub(crate) fn run(args: &ExportNnefArgs) -> Result<ExitCode, String> {
    let dir = &args.pack;
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let manifest = Manifest::parse(&read(&dir.join(MANIFEST_FILE))?)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    for spec in [&manifest.graphs.vision, &manifest.graphs.decoder] {
        let onnx = read(&dir.join(&spec.file))?;
        let graph = lightcap::nnef::export_graph(&onnx)
            .map_err(|e| format!("cannot convert {}: {e:#}", spec.file))?;
        let name = nnef_name(&spec.file);
        let path = dir.join(&name);
        std::fs::write(&path, &graph.bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        say!(
            "{} -> {name}: {:.1} MB ({:.1} MB as ONNX), {} of {} int8 weights kept int8",
            spec.file,
            graph.bytes.len() as f64 / 1e6,
            onnx.len() as f64 / 1e6,
            graph.int8_weights,
            graph.onnx_int8_weights,
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_nnef_twin_of_a_graph_is_named_after_it() {
        assert_eq!(super::nnef_name("vision.onnx"), "vision.nnef.tar");
        assert_eq!(super::nnef_name("decoder"), "decoder.nnef.tar");
    }
}
