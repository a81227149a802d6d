#![no_main]
// One file of a model pack replaced by arbitrary bytes (see lightcap_fuzz::pack).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lightcap_fuzz::pack(data);
});
