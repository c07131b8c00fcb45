#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| jszg_fuzz_targets::jpeg_gate(data));
