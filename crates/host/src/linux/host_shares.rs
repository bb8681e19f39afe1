//! The Linux share collector: network mounts from `/proc/self/mountinfo`, or from one
//! process of every mount namespace, with the owner of each mount.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::mounts::{self, MountInfo};
use crate::sessions::{SourceState, SourceStatus};
use crate::shares::{
    network_protocol, option_value, parse_source, Share, SharesOptions, SharesReport,
};

/// Where the mounts of one table are visible from.
struct Table {
    path: PathBuf,
    /// `(namespace inode, pid)` when several namespaces are read.
    namespace: Option<(u64, i32)>,
    /// Prefix that makes a mount point of that namespace reachable from here
    /// (`/proc/<pid>/root`), or `None` to not look mount points up at all.
    root: Option<PathBuf>,
}

/// See [`crate::shares::collect`].
pub fn collect(options: &SharesOptions) -> SharesReport {
    let mut report = SharesReport::empty(options.now.unwrap_or_else(Timestamp::now));
    let proc_root = options
        .proc_root
        .clone()
        .unwrap_or_else(|| PathBuf::from("/proc"));
    let tables = match &options.mountinfo {
        Some(path) => vec![Table {
            path: path.clone(),
            namespace: None,
            root: options.root.clone(),
        }],
        None if options.all_mount_namespaces => namespace_tables(&proc_root, &mut report),
        None => vec![Table {
            path: proc_root.join("self/mountinfo"),
            namespace: None,
            root: Some(PathBuf::from("/")),
        }],
    };
    for table in tables {
        read_table(&table, options.stat_timeout, &mut report);
    }
    report
}

fn mount_namespace(proc_root: &Path, pid: &str) -> Option<u64> {
    let link = std::fs::read_link(proc_root.join(pid).join("ns/mnt")).ok()?;
    link.to_str()?
        .strip_prefix("mnt:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// One table per mount namespace, the collector's own first.
fn namespace_tables(proc_root: &Path, report: &mut SharesReport) -> Vec<Table> {
    let mut tables = Vec::new();
    let mut seen = HashSet::new();
    if let Some(own) = mount_namespace(proc_root, "self") {
        seen.insert(own);
        let pid = std::process::id() as i32;
        tables.push(Table {
            path: proc_root.join("self/mountinfo"),
            namespace: Some((own, pid)),
            root: Some(PathBuf::from("/")),
        });
    }
    let mut hidden = 0usize;
    let mut pids: Vec<i32> = match fs_err::read_dir(proc_root) {
        Ok(dir) => dir
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect(),
        Err(err) => {
            report.warn_partial(format!("other mount namespaces not listed: {err}"));
            Vec::new()
        }
    };
    pids.sort_unstable();
    for pid in pids {
        match mount_namespace(proc_root, &pid.to_string()) {
            Some(ns) if seen.insert(ns) => tables.push(Table {
                path: proc_root.join(pid.to_string()).join("mountinfo"),
                namespace: Some((ns, pid)),
                root: Some(proc_root.join(pid.to_string()).join("root")),
            }),
            Some(_) => {}
            None => hidden += 1,
        }
    }
    if hidden > 0 {
        let hint = if nix::unistd::geteuid().is_root() {
            ""
        } else {
            " (run as root to see them)"
        };
        report.warn_partial(format!(
            "mount namespace of {hidden} process(es) could not be read{hint}; shares mounted only \
             there are missing"
        ));
    }
    tables
}

fn read_table(table: &Table, stat_timeout: Duration, report: &mut SharesReport) {
    let file = match fs_err::File::open(&table.path) {
        Ok(file) => file,
        Err(err) => {
            report.warn_partial(format!("mount table not read: {err}"));
            report.sources.push(SourceStatus {
                name: "mountinfo".into(),
                path: table.path.clone(),
                state: SourceState::Unreadable,
                records: 0,
                problems: vec![err.to_string()],
            });
            return;
        }
    };
    let (mounts, problems) = match mounts::parse_reader(std::io::BufReader::new(file)) {
        Ok(parsed) => parsed,
        Err(err) => {
            report.warn_partial(format!("{}: read failed: {err}", table.path.display()));
            (Vec::new(), Vec::new())
        }
    };
    let mut source = SourceStatus {
        name: "mountinfo".into(),
        path: table.path.clone(),
        state: SourceState::Read,
        records: mounts.len(),
        problems: Vec::new(),
    };
    if !problems.is_empty() {
        report.warn_partial(format!(
            "{}: {} line(s) not understood, the others were read",
            table.path.display(),
            problems.len()
        ));
        source.problems = problems
            .iter()
            .map(|p| format!("{} line {}: {}", table.path.display(), p.line, p.message))
            .collect();
    }
    report.sources.push(source);
    report.mounts_examined += mounts.len();
    let mut shares: Vec<Share> = mounts
        .iter()
        .filter_map(share_from)
        .map(|mut share| {
            share.mount_namespace = table.namespace.map(|(ns, _)| ns);
            share.namespace_pid = table.namespace.map(|(_, pid)| pid);
            share
        })
        .collect();
    if let Some(root) = &table.root {
        owners_from_mount_points(&mut shares, root, stat_timeout, report);
    }
    for mut share in shares {
        share.owner = share
            .owner_uid
            .and_then(uzers::get_user_by_uid)
            .map(|u| u.name().to_string_lossy().into_owned());
        report.shares.push(share);
    }
}

/// Builds the share of a network mount; `None` for local file systems.
pub fn share_from(mount: &MountInfo) -> Option<Share> {
    let protocol = network_protocol(&mount.fs_type)?;
    let parts = parse_source(protocol, &mount.source);
    let (owner_uid, owner_source) = if protocol == "smb" && mount.fs_type != "fuse.smbnetfs" {
        (
            option_value(&mount.super_options, "uid").and_then(|v| v.parse().ok()),
            "uid_option",
        )
    } else if mount.fs_type.starts_with("fuse.") {
        (
            option_value(&mount.super_options, "user_id").and_then(|v| v.parse().ok()),
            "fuse_user_id",
        )
    } else {
        (None, "mount_point")
    };
    let remote_user = parts.remote_user.or_else(|| {
        option_value(&mount.super_options, "username")
            .or_else(|| option_value(&mount.super_options, "user"))
            .or_else(|| option_value(&mount.super_options, "name"))
            .map(str::to_string)
    });
    Some(Share {
        protocol: protocol.to_string(),
        fs_type: mount.fs_type.clone(),
        server: parts.server,
        share: parts.share,
        remote_user,
        server_addr: option_value(&mount.super_options, "addr").map(str::to_string),
        source: mount.source.clone(),
        mount_point: mount.mount_point.clone(),
        options: mount.mount_options.clone(),
        fs_options: mount.super_options.clone(),
        read_only: mount.mount_options.iter().any(|o| o == "ro"),
        owner_uid,
        owner: None,
        owner_source: owner_uid.map(|_| owner_source.to_string()),
        mount_id: mount.mount_id,
        mount_namespace: None,
        namespace_pid: None,
    })
}

/// `stat` of a network mount point blocks for as long as its server does not answer
/// (a hard NFS mount: forever). Every lookup runs on its own thread, all against one
/// deadline, so ten dead servers cost one timeout rather than ten; threads still blocked
/// at the deadline are abandoned.
fn owners_from_mount_points(
    shares: &mut [Share],
    root: &Path,
    timeout: Duration,
    report: &mut SharesReport,
) {
    let mut pending = Vec::new();
    for (index, share) in shares.iter().enumerate() {
        // A forged table could name `/../..` to probe outside the root: skip such paths.
        if share.owner_uid.is_some() || share.mount_point.split('/').any(|c| c == "..") {
            continue;
        }
        let path = root.join(share.mount_point.trim_start_matches('/'));
        let (tx, rx) = mpsc::channel();
        let probe = path.clone();
        let spawned = std::thread::Builder::new()
            .name("share-stat".into())
            .spawn(move || {
                let _ = tx.send(std::fs::metadata(&probe).map(|m| m.uid()));
            });
        match spawned {
            Ok(_) => pending.push((index, path, rx)),
            Err(err) => {
                report.warn_partial(format!("{}: owner not looked up: {err}", path.display()))
            }
        }
    }
    let deadline = Instant::now() + timeout;
    for (index, path, rx) in pending {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Ok(uid)) => {
                shares[index].owner_uid = Some(uid);
                shares[index].owner_source = Some("mount_point".into());
            }
            Ok(Err(err)) => {
                report.warn_partial(format!("{}: owner unknown: {err}", path.display()));
            }
            Err(_) => report.warn_partial(format!(
                "{}: no answer within {} ms (server unreachable?); owner unknown",
                path.display(),
                timeout.as_millis()
            )),
        }
    }
}
