//! `cargo run -p uniffi-bindgen -- generate --library <lib> --language kotlin ...`
//!
//! A crate of its own so the generator's command-line code (clap, cargo
//! metadata, templates) never links into the library that apps ship.
fn main() {
    uniffi::uniffi_bindgen_main()
}
