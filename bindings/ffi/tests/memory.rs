//! Memory over a long run through the binding layer, driven as an app drives it:
//! engines created, used and closed (dropping the last `Arc` is what `close()` does in
//! Kotlin and Swift), with captions, streamed captions and refused inputs in between.
//! Resident memory is sampled after each engine and must not trend up after a warm-up.
//! `scripts/check-leaks.sh` runs the same loop, shorter, under valgrind, which also
//! sees leaks too small to move the resident size.
//!
//! This file is its own test binary on purpose: other tests in the same process would
//! move the resident size.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lightcap_ffi::{
    CancellationToken, CaptionListener, CaptionOptions, Engine, ImageSource, LightCapError,
    PixelFormat,
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|value| {
            value
                .parse()
                .unwrap_or_else(|_| panic!("{name}={value} is not a count"))
        })
        .unwrap_or(default)
}

/// Resident set size of this process, from /proc (Linux).
/// Hands the C allocator's free pages back to the system, so a resident sample measures
/// what is live rather than what glibc keeps for reuse (which swings samples by 10 to 25
/// MiB from one engine to the next and hid any trend).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: glibc's malloc_trim only returns free memory; it touches no live block.
        unsafe { malloc_trim(0) };
    }
}

fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .expect("a VmRSS line");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmRSS in kB");
    kib * 1024
}

/// Streams partial captions nowhere: the streaming path's allocations are what count.
struct IgnoringListener;

impl CaptionListener for IgnoringListener {
    fn on_partial_caption(&self, _text: String) {}
}

/// The inputs one round cycles through: every test image encoded, one as a raw RGBA
/// frame, and two the engine must refuse.
fn inputs() -> Vec<(ImageSource, bool)> {
    let mut inputs = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(repo().join("tests/images"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "png"))
        .collect();
    names.sort();
    for path in names {
        let bytes = std::fs::read(path).unwrap();
        inputs.push((ImageSource::Encoded { bytes }, true));
    }
    inputs.push((
        ImageSource::Frame {
            pixels: vec![90; 64 * 48 * 4],
            width: 64,
            height: 48,
            row_stride: 64 * 4,
            format: PixelFormat::Rgba8,
        },
        true,
    ));
    inputs.push((ImageSource::Encoded { bytes: Vec::new() }, false));
    inputs.push((
        ImageSource::Encoded {
            bytes: b"not an image".to_vec(),
        },
        false,
    ));
    inputs
}

#[test]
fn memory_stays_flat_over_thousands_of_captions_and_closed_engines() {
    let engines = env_count("LIGHTCAP_MEMORY_ENGINES", 20);
    let calls_per_engine = env_count("LIGHTCAP_MEMORY_CALLS_PER_ENGINE", 100);
    let warm_up = 3;
    let pack = repo().join("tests/packs/tiny").display().to_string();
    let inputs = inputs();
    // Short captions: what is checked is memory across calls, not long decodes.
    let options = CaptionOptions {
        beam_size: 1,
        max_length: Some(6),
        min_length: 0,
        length_penalty: 1.0,
        no_repeat_ngram_size: 0,
        max_image_pixels: 64_000_000,
    };

    let mut samples = Vec::with_capacity(engines);
    let (mut captions, mut refusals) = (0usize, 0usize);
    for round in 0..engines {
        let engine: Arc<Engine> = Engine::from_path(pack.clone()).expect("the tiny pack loads");
        for call in 0..calls_per_engine {
            let (image, valid) = &inputs[(round + call) % inputs.len()];
            // Every third call streams, so the listener and token paths run too.
            let result = if call % 3 == 0 {
                let listener = Box::new(IgnoringListener);
                engine.caption_streaming(
                    image.clone(),
                    listener,
                    CancellationToken::new(),
                    options.clone(),
                )
            } else {
                engine.caption(image.clone(), options.clone())
            };
            match (result, valid) {
                (Ok(caption), true) => {
                    assert!(caption.tokens.len() <= 6, "{:?}", caption.tokens);
                    captions += 1;
                }
                (Err(LightCapError::EmptyImage(_)), false)
                | (Err(LightCapError::UnsupportedImageFormat(_)), false) => refusals += 1,
                (other, valid) => {
                    panic!("call {call} of engine {round} (valid: {valid}): {other:?}")
                }
            }
        }
        drop(engine);
        release_free_memory();
        samples.push(resident_bytes());
    }

    let mib = |bytes: u64| bytes as f64 / (1 << 20) as f64;
    let trace: Vec<String> = samples.iter().map(|&s| format!("{:.1}", mib(s))).collect();
    eprintln!(
        "{engines} engines, {captions} captions, {refusals} refusals; resident MiB after each engine: {}",
        trace.join(" ")
    );
    assert_eq!(captions + refusals, engines * calls_per_engine);
    // A leak shows as a rising trend. The least-squares slope of the samples after
    // warm-up must stay under 1 MiB per engine: a leaked engine would add its 4 MB of
    // graphs every round.
    let settled = samples.get(warm_up..).unwrap_or_default();
    if settled.len() >= 6 {
        let n = settled.len() as f64;
        let mean_x = (n - 1.0) / 2.0;
        let mean_y = settled.iter().map(|&s| mib(s)).sum::<f64>() / n;
        let (mut covariance, mut variance) = (0.0, 0.0);
        for (x, &y) in settled.iter().enumerate() {
            covariance += (x as f64 - mean_x) * (mib(y) - mean_y);
            variance += (x as f64 - mean_x).powi(2);
        }
        let slope = covariance / variance;
        assert!(
            slope < 1.0,
            "resident memory rises by {slope:.2} MiB per engine: {}",
            trace.join(" ")
        );
    }
}
