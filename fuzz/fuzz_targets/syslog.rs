#![no_main]
// The syslog-shaped readers: Sysmon for Linux, network devices, ESXi. The last byte
// picks the reader, so one corpus serves the three.

#[path = "common.rs"]
mod common;

use sockhunt_events::Format;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((pick, rest)) = data.split_last() else {
        return;
    };
    let format = match pick % 3 {
        0 => Format::SysmonLinux,
        1 => Format::NetDevice,
        _ => Format::Esxi,
    };
    common::run(format, rest);
});
