//! Share collection over fixture mountinfo files, and the live mount table.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sockhunt_host::shares::{self, SharesOptions};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mountinfo")
        .join(name)
}

fn from_fixture(name: &str) -> shares::SharesReport {
    shares::collect(&SharesOptions {
        mountinfo: Some(fixture(name)),
        ..SharesOptions::default()
    })
}

#[test]
fn every_network_type_in_the_fixture_is_found() {
    let report = from_fixture("network");
    let found: Vec<(&str, &str, Option<&str>, Option<&str>)> = report
        .shares
        .iter()
        .map(|s| {
            (
                s.protocol.as_str(),
                s.mount_point.as_str(),
                s.server.as_deref(),
                s.share.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "nfs",
                "/mnt/team share",
                Some("fs1.example.net"),
                Some("/export/team")
            ),
            (
                "nfs",
                "/srv/legacy",
                Some("2001:db8::10"),
                Some("/export/legacy")
            ),
            (
                "smb",
                "/mnt/finance",
                Some("files.corp.example"),
                Some("finance$")
            ),
            (
                "sshfs",
                "/home/bob/remote",
                Some("jump.example.org"),
                Some("/srv/data")
            ),
            ("9p", "/mnt/host9p", None, Some("hostshare")),
            (
                "glusterfs",
                "/mnt/gluster",
                Some("gl1.example"),
                Some("/vol0")
            ),
            (
                "ceph",
                "/mnt/cephfs",
                Some("10.0.0.1,10.0.0.2:6789"),
                Some("/volumes/shared")
            ),
            (
                "ceph",
                "/mnt/cephnew",
                Some("5a1f0b2c.cephfs"),
                Some("/data")
            ),
            (
                "webdav",
                "/mnt/dav",
                Some("dav.example.org"),
                Some("/remote.php/dav")
            ),
            ("rclone", "/mnt/drive", Some("gdrive"), Some("backups")),
            (
                "lustre",
                "/lustre",
                Some("10.0.0.1@tcp:10.0.0.2@tcp"),
                Some("/lfs")
            ),
            ("afs", "/afs", None, Some("AFS")),
            (
                "smb",
                "/mnt/evil\n124 27 0:66 / /x rw - nfs fake:/x rw",
                Some("evil.example"),
                Some("share\u{202e}txt.exe")
            ),
        ]
    );
    assert_eq!(report.mounts_examined, 16);
}

#[test]
fn owners_and_options_come_from_the_right_place() {
    let report = from_fixture("network");
    let by_mp = |mp: &str| report.shares.iter().find(|s| s.mount_point == mp).unwrap();

    let cifs = by_mp("/mnt/finance");
    assert_eq!(cifs.owner_uid, Some(41001));
    assert_eq!(cifs.owner_source.as_deref(), Some("uid_option"));
    assert_eq!(cifs.remote_user.as_deref(), Some("svc_backup"));
    assert_eq!(cifs.server_addr.as_deref(), Some("198.51.100.40"));
    assert!(cifs.fs_options.contains(&"vers=3.1.1".to_string()));

    let sshfs = by_mp("/home/bob/remote");
    assert_eq!(sshfs.owner_uid, Some(41002));
    assert_eq!(sshfs.owner_source.as_deref(), Some("fuse_user_id"));
    assert_eq!(sshfs.remote_user.as_deref(), Some("bob"));

    let nfs = by_mp("/srv/legacy");
    assert!(nfs.read_only);
    // A fixture's mount points are not on this host, so they are not looked up.
    assert_eq!(nfs.owner_uid, None);
    assert_eq!(by_mp("/mnt/cephfs").remote_user.as_deref(), Some("admin"));
}

#[test]
fn bad_lines_are_counted_with_their_numbers() {
    let report = from_fixture("network");
    assert!(report.partial);
    let source = &report.sources[0];
    assert_eq!(source.records, 16);
    assert_eq!(source.problems.len(), 3, "{:?}", source.problems);
    assert!(
        source.problems[0].contains("line 17"),
        "{}",
        source.problems[0]
    );
    assert!(source.problems[1].contains("line 18"));
    assert!(source.problems[2].contains("line 19") && source.problems[2].contains("parent id"));
}

#[test]
fn missing_mountinfo_is_a_warning_not_a_failure() {
    let report = from_fixture("does-not-exist");
    assert!(report.partial);
    assert!(report.shares.is_empty());
    assert!(
        report.warnings[0].contains("does-not-exist"),
        "{:?}",
        report.warnings
    );
}

#[test]
fn binary_garbage_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage");
    let mut bytes: Vec<u8> = (0..=255u8).cycle().take(64 * 1024).collect();
    bytes.extend_from_slice(b"\n1 2 3 4 5 6 - - - -\n9 9 0:1 \\ \\0 \\\\\\ - cifs // uid=x\n");
    std::fs::write(&path, bytes).unwrap();
    let report = shares::collect(&SharesOptions {
        mountinfo: Some(path),
        ..SharesOptions::default()
    });
    assert!(report.partial);
    assert_eq!(report.shares.len(), 1);
    assert_eq!(report.shares[0].server, None);
    assert_eq!(report.shares[0].owner_uid, None);
}

#[test]
fn live_mount_table_reads() {
    let report = shares::collect(&SharesOptions::default());
    assert!(report.mounts_examined > 0, "{:?}", report.warnings);
    assert!(!report.partial, "{:?}", report.warnings);
}

/// A process in its own mount namespace (`unshare -m`): with every namespace asked for, its
/// mount table is read too.
#[test]
fn other_mount_namespaces_are_read() {
    let mut child = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sleep", "86398"])
        .stdin(Stdio::null())
        .spawn()
        .expect("unshare(1)");
    let pid = child.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(10);
    let own = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    while std::fs::read_link(format!("/proc/{pid}/ns/mnt"))
        .ok()
        .as_ref()
        == Some(&own)
        || std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default() != "sleep\n"
    {
        assert!(
            Instant::now() < deadline,
            "unshare did not enter a new namespace"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let report = shares::collect(&SharesOptions {
        all_mount_namespaces: true,
        ..SharesOptions::default()
    });
    let _ = child.kill();
    let _ = child.wait();
    let wanted = format!("/proc/{pid}/mountinfo");
    assert!(
        report.sources.iter().any(|s| s.path == Path::new(&wanted)),
        "{:?}",
        report.sources.iter().map(|s| &s.path).collect::<Vec<_>>()
    );
}

/// A mount table copied from another host, with that host's disk mounted somewhere:
/// mount point owners are looked up under the given root, and a missing one is named.
#[test]
fn owners_are_looked_up_under_a_root() {
    let root = tempfile::tempdir().unwrap();
    let team = root.path().join("mnt/team share");
    std::fs::create_dir_all(&team).unwrap();
    std::os::unix::fs::chown(&team, Some(43210), Some(43210)).unwrap();
    let report = shares::collect(&SharesOptions {
        mountinfo: Some(fixture("network")),
        root: Some(root.path().to_path_buf()),
        ..SharesOptions::default()
    });
    let nfs = report
        .shares
        .iter()
        .find(|s| s.mount_point == "/mnt/team share")
        .unwrap();
    assert_eq!(nfs.owner_uid, Some(43210));
    assert_eq!(nfs.owner_source.as_deref(), Some("mount_point"));
    // The cifs share keeps its uid= option; mount points that do not exist are named.
    let cifs = report
        .shares
        .iter()
        .find(|s| s.mount_point == "/mnt/finance")
        .unwrap();
    assert_eq!(cifs.owner_source.as_deref(), Some("uid_option"));
    let missing = root.path().join("srv/legacy");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.starts_with(&format!("{}: owner unknown", missing.display()))),
        "{:?}",
        report.warnings
    );
}
