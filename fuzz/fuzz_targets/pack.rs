#![no_main]
// One file of a model pack replaced by arbitrary bytes (see lightcap_fuzz::pack).
// A typed error is a correct answer; only a panic, crash or hang is a finding.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = lightcap_fuzz::pack(data);
});
