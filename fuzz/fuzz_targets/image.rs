#![no_main]
// Arbitrary bytes as an encoded image or a raw camera frame (see lightcap_fuzz::image).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lightcap_fuzz::image(data);
});
