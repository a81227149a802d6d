//! The `lightcap` command end to end, with the bundled default pack.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn lightcap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lightcap"))
        .args(args)
        .current_dir(repo())
        .env_remove("LIGHTCAP_PACK")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn captions_one_image_with_the_bundled_pack() {
    let out = lightcap(&["caption", "tests/images/scene_wide.png"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1);
    assert!(!stdout.trim().is_empty());
}

#[test]
fn json_lines_hold_caption_concepts_and_timings() {
    let out = lightcap(&[
        "caption",
        "--json",
        "--beam",
        "2",
        "tests/images/scene_wide.png",
        "tests/images/small.png",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let records: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo().join("models/default/manifest.json")).unwrap(),
    )
    .unwrap();
    let top_k = manifest["concepts"]["top_k"].as_u64().unwrap() as usize;
    for r in &records {
        assert!(r["caption"].is_string());
        assert_eq!(r["concepts"].as_array().unwrap().len(), top_k);
        assert!(r["timings_ms"]["total"].as_f64().unwrap() > 0.0);
        let confidence = r["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&confidence), "{confidence}");
        assert!(r["unsure"].is_boolean());
        let features = r["features"].as_object().unwrap();
        for name in lightcap::confidence::FEATURE_NAMES {
            assert!(features[name].as_f64().unwrap().is_finite(), "{name}");
        }
        let log_probs = r["token_log_probs"].as_array().unwrap();
        let tokens = r["tokens"].as_array().unwrap().len();
        let finished = r["finished"].as_bool().unwrap();
        assert_eq!(log_probs.len(), tokens + usize::from(finished));
        let sum: f64 = log_probs.iter().map(|v| v.as_f64().unwrap()).sum();
        assert!((sum - r["log_prob"].as_f64().unwrap()).abs() < 1e-3);
    }
}

#[test]
fn a_failure_is_one_line_and_a_nonzero_exit_while_other_images_still_caption() {
    let out = lightcap(&[
        "caption",
        "tests/images/scene_wide.png",
        "no/such.png",
        "Cargo.toml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout).lines().count(),
        1,
        "the good image is still captioned"
    );
    let stderr = text(&out.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 2, "{stderr}");
    assert!(
        errors[0].contains("no/such.png") && errors[1].contains("unsupported image format"),
        "{stderr}"
    );
    assert!(stderr.contains("2 of 3 images failed"));
}

#[test]
fn bad_options_and_bad_packs_fail_clearly() {
    let out = lightcap(&["caption", "--beam", "0", "tests/images/small.png"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("beam_size"));

    let out = lightcap(&[
        "caption",
        "--pack",
        "tests/images",
        "tests/images/small.png",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot load model pack"));
}

#[test]
fn info_describes_the_pack() {
    let out = lightcap(&["info"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("concepts:"));
}

#[test]
fn bench_profile_times_every_vision_node_and_sums_them_by_kind() {
    let json = std::env::temp_dir().join(format!("lightcap-profile-{}.json", std::process::id()));
    let out = lightcap(&[
        "bench",
        "--profile",
        "--beams",
        "1",
        "--runs",
        "1",
        "--loads",
        "1",
        "--json",
        json.to_str().unwrap(),
        "tests/images/small.png",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("vision graph by operator kind"));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    std::fs::remove_file(&json).ok();
    let profile = &report["vision_profile"];
    let nodes = profile["nodes"].as_array().unwrap();
    let kinds = profile["kinds"].as_array().unwrap();
    // Every node is in one kind's total, and the convolutions and matrix products carry
    // the graph's operations.
    let counted: u64 = kinds.iter().map(|k| k["nodes"].as_u64().unwrap()).sum();
    assert_eq!(counted as usize, nodes.len());
    let flops: f64 = nodes.iter().map(|n| n["flops"].as_f64().unwrap()).sum();
    assert!(
        flops > 1e8,
        "{flops} FLOP for EfficientNet-Lite0 and the fusion layers"
    );
    // EfficientNet-Lite0's 16 depthwise convolutions run in LightCap's kernel, which
    // declares its operations too.
    let depthwise: Vec<_> = nodes
        .iter()
        .filter(|n| n["kind"] == "DepthwiseConv(lightcap)")
        .collect();
    assert_eq!(depthwise.len(), 16, "depthwise convolutions profiled");
    assert!(depthwise.iter().all(|n| n["flops"].as_f64().unwrap() > 0.0));
    assert!(
        !nodes.iter().any(|n| n["kind"] == "DepthWiseConv"),
        "tract's depthwise operator left in the plan"
    );
    assert!(nodes.iter().all(|n| n["ms"].as_f64().unwrap() >= 0.0));
}

#[test]
fn tracts_kernels_give_the_same_captions_as_lightcaps() {
    let images = [
        "tests/images/scene_wide.png",
        "tests/images/scene_tall.png",
        "models/examples/cat.jpg",
    ];
    // Float32 on every CPU: float16 graphs keep tract's operators either way.
    let caption = |extra: &[&str]| {
        let mut args = vec!["caption", "--precision", "f32"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&images);
        let out = lightcap(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let ours = caption(&[]);
    assert_eq!(ours.lines().count(), images.len());
    assert_eq!(ours, caption(&["--tract-kernels"]));
}

#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    // The reader takes the first line and closes the pipe while images remain.
    let image = repo().join("tests/images/scene_wide.png");
    let image = image.to_str().unwrap();
    let images: Vec<&str> = std::iter::repeat_n(image, 40).collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lightcap"))
        .arg("caption")
        .args(&images)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}
