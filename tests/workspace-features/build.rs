// Empty on purpose: cargo resolves `[build-dependencies]` only for a package with a
// build script, and those are what pin the host crates' features (see Cargo.toml).
fn main() {}
