//! Property tests: mount table lines and mount sources never make the parsers panic, and
//! escaping round-trips.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use sockhunt_host::linux::mounts;
use sockhunt_host::shares;

fn escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            ' ' => out.push_str("\\040"),
            '\t' => out.push_str("\\011"),
            '\n' => out.push_str("\\012"),
            '\\' => out.push_str("\\134"),
            c => out.push(c),
        }
    }
    out
}

proptest! {
    #[test]
    fn mountinfo_lines_never_panic(line in "\\PC{0,200}") {
        let _ = mounts::parse_line(&line);
    }

    #[test]
    fn mount_points_round_trip_through_kernel_escaping(mp in "/\\PC{0,60}", source in "[^ ]\\PC{0,40}") {
        let line = format!("36 25 0:32 / {} rw,relatime shared:1 - nfs4 {} rw,addr=192.0.2.1", escape(&mp), escape(&source));
        let m = mounts::parse_line(&line).unwrap();
        prop_assert_eq!(m.mount_point, mp);
        prop_assert_eq!(m.source, source);
    }

    #[test]
    fn sources_never_panic(protocol in prop::sample::select(vec!["nfs", "smb", "sshfs", "ceph", "webdav", "9p", "lustre", "rclone"]),
                           source in "\\PC{0,80}") {
        let _ = shares::parse_source(protocol, &source);
    }
}
