#![no_main]
// The JSON splitter and the cloud readers (CloudTrail, Azure, GCP); the last byte picks
// the reader.

#[path = "common.rs"]
mod common;

use sockhunt_events::Format;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((pick, rest)) = data.split_last() else {
        return;
    };
    let format = match pick % 3 {
        0 => Format::CloudTrail,
        1 => Format::Azure,
        _ => Format::Gcp,
    };
    common::run(format, rest);
});
