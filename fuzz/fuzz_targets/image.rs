#![no_main]
// Arbitrary bytes as an encoded image or a raw camera frame (see lightcap_fuzz::image).
// A typed error is a correct answer; only a panic, crash or hang is a finding.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = lightcap_fuzz::image(data);
});
