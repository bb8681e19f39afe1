#![no_main]
// Rule loading. Calls the Sigma parser directly for now; when the detect crate's own
// loader (one YAML loader function, rule tests beside rules) is settled, this target
// should call that instead, so our validation is fuzzed too.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = rsigma_parser::parse_sigma_yaml(text);
    }
});
