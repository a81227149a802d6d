//! The command lines of the documentation, run with the built `lightcap`.
//!
//! Input: every ```` ```console ```` block of README.md and docs/*.md. A line starting
//! with `$ lightcap ` (or `$ cargo run -p lightcap-cli -- `) is run from the
//! repository root and must exit 0; other `$` lines (setup, scripts) are not run. The
//! lines below a command are its output as shown: when there are any, the real output
//! must have as many lines, each starting with the shown line's `label:` where it has
//! one (`models/examples/scene.png:`, `model:`), and a shown line `...` stands for any
//! number of lines. `--json` output must be JSON objects. Commands that need files the
//! repository does not have belong in ```` ```sh ```` blocks.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One runnable command of a console block, with the output the document shows.
struct Example {
    place: String,
    args: Vec<String>,
    shown: Vec<String>,
}

fn documents() -> Vec<PathBuf> {
    let mut files = vec![repo().join("README.md")];
    let mut guides: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/ is readable")
        .map(|entry| entry.expect("docs/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    guides.sort();
    files.extend(guides);
    files
}

/// Characters a shell would interpret; the documented lines are run without one.
const SHELL_SYNTAX: [char; 13] = [
    '*', '?', '|', '<', '>', ';', '&', '$', '`', '\'', '"', '(', ')',
];

/// The arguments to pass to `lightcap` for a `$` line, or `None` when the line runs
/// something else.
fn lightcap_args(command: &str, place: &str) -> Option<Vec<String>> {
    // A comment starts with ` #`, as in a shell.
    let command = command.split(" #").next().unwrap_or_default();
    let words: Vec<&str> = command.split_whitespace().collect();
    let args = match words.as_slice() {
        ["lightcap", rest @ ..] => rest,
        ["cargo", "run", rest @ ..] => {
            let split = rest.iter().position(|&w| w == "--")?;
            if !rest[..split].contains(&"lightcap-cli") {
                return None;
            }
            &rest[split + 1..]
        }
        _ => return None,
    };
    for word in args {
        assert!(
            !word.contains(SHELL_SYNTAX),
            "{place}: `{word}`: the documentation's lightcap lines are run without a shell, \
             so they take plain words only (no globs, quotes, pipes or redirections)"
        );
    }
    Some(args.iter().map(|w| w.to_string()).collect())
}

fn examples(path: &Path) -> Vec<Example> {
    let text = std::fs::read_to_string(path).expect("document is readable");
    let name = path
        .strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string();
    let mut found = Vec::new();
    let (mut in_fence, mut in_console) = (false, false);
    // Output lines belong to the last command when it is one we run.
    let mut collecting = false;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            if in_fence {
                in_fence = false;
                in_console = false;
            } else {
                in_fence = true;
                in_console = info.split_whitespace().next() == Some("console");
            }
            collecting = false;
            continue;
        }
        if !in_console {
            continue;
        }
        let place = format!("{name}:{}", index + 1);
        if let Some(command) = line.strip_prefix("$ ") {
            collecting = match lightcap_args(command, &place) {
                Some(args) => {
                    found.push(Example {
                        place,
                        args,
                        shown: Vec::new(),
                    });
                    true
                }
                None => false,
            };
        } else if collecting && let Some(example) = found.last_mut() {
            example.shown.push(line.to_string());
        }
    }
    found
}

/// Whether an output line has the shape of the line the document shows.
fn agrees(shown: &str, actual: &str) -> bool {
    match shown.find(": ") {
        Some(end) => actual.starts_with(&shown[..=end]),
        None => true,
    }
}

/// Shown lines against real ones; a shown `...` matches any number of lines.
fn fits(shown: &[String], actual: &[&str]) -> bool {
    match shown.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=actual.len()).any(|skip| fits(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(line, more)| agrees(first, line) && fits(rest, more)),
    }
}

fn run(example: &Example) {
    let out = Command::new(env!("CARGO_BIN_EXE_lightcap"))
        .args(&example.args)
        .current_dir(repo())
        .env_remove("LIGHTCAP_PACK")
        .output()
        .expect("lightcap runs");
    let command = format!("lightcap {}", example.args.join(" "));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}: `{command}` failed ({}):\n{}",
        example.place,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    if example.args.iter().any(|a| a == "--json") {
        for line in &lines {
            let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| {
                panic!(
                    "{}: `{command}` printed a line that is not JSON ({e}): {line}",
                    example.place
                )
            });
            assert!(value.is_object(), "{}: `{command}`: {line}", example.place);
        }
    }
    if !example.shown.is_empty() {
        assert!(
            fits(&example.shown, &lines),
            "{}: `{command}` printed\n{stdout}\nwhich does not have the shape the document shows:\n{}",
            example.place,
            example.shown.join("\n")
        );
    }
}

#[test]
fn every_lightcap_line_of_the_documentation_runs_and_prints_what_it_shows() {
    let mut total = 0;
    for path in documents() {
        let found = examples(&path);
        if path.ends_with("README.md") {
            assert!(
                !found.is_empty(),
                "README.md shows no `$ lightcap` line in a console block"
            );
        }
        for example in &found {
            run(example);
        }
        total += found.len();
    }
    assert!(total > 0);
}

#[test]
fn shapes_are_compared_by_label_and_elision() {
    let shown = |lines: &[&str]| lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    let out = ["a.png: a cat", "b.png: a dog"];
    assert!(fits(&shown(&["a.png: something", "b.png: else"]), &out));
    assert!(fits(&shown(&["a.png: something", "..."]), &out));
    assert!(fits(&shown(&["..."]), &out));
    assert!(!fits(&shown(&["b.png: a dog", "a.png: a cat"]), &out));
    assert!(!fits(&shown(&["a.png: a cat"]), &out));
    assert!(!fits(
        &shown(&["a.png: a cat", "b.png: a dog", "c.png: more"]),
        &out
    ));
    assert_eq!(
        lightcap_args("cargo run -p lightcap-cli -- info   # the pack", "here"),
        Some(vec!["info".to_string()])
    );
    assert_eq!(lightcap_args("scripts/test-all.sh", "here"), None);
}
