//! Mounted network file systems, the `net use` view: which remote servers this host has
//! shares from, where they are mounted, with which options, and for whom.
//!
//! Platform-neutral: the model, the list of network file system types, and the parsing of
//! a mount source (`server:/export`, `//server/share`, `user@host:path`, a URL) into server
//! and share. [`collect`] dispatches to the running operating system.

use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use crate::sessions::SourceStatus;

/// What to read.
#[derive(Debug, Clone)]
pub struct SharesOptions {
    /// A mountinfo file to read instead of the live mount table (a fixture, or a copy
    /// taken from another host). Mount points are then not looked up on this host.
    pub mountinfo: Option<PathBuf>,
    /// With [`mountinfo`](Self::mountinfo): the directory its mount points are relative
    /// to (a mounted disk image), so their owners can still be looked up.
    pub root: Option<PathBuf>,
    /// Also read the mount table of every other mount namespace (containers), through
    /// `/proc/<pid>/mountinfo` of one process in each.
    pub all_mount_namespaces: bool,
    /// How long to wait for a mount point's owner: a dead NFS server makes `stat` hang.
    pub stat_timeout: Duration,
    /// The proc file system (`/proc`).
    pub proc_root: Option<PathBuf>,
    /// Override the time stamped on the report (tests).
    pub now: Option<Timestamp>,
}

impl Default for SharesOptions {
    fn default() -> Self {
        Self {
            mountinfo: None,
            root: None,
            all_mount_namespaces: false,
            stat_timeout: Duration::from_secs(2),
            proc_root: None,
            now: None,
        }
    }
}

/// The mounted network shares.
#[derive(Debug, Clone, Serialize)]
pub struct SharesReport {
    /// When the collection ran (UTC).
    pub collected_at: Timestamp,
    /// Network mounts, in mount table order.
    pub shares: Vec<Share>,
    /// Mounts examined in total (network or not).
    pub mounts_examined: usize,
    /// What was read and how it went.
    pub sources: Vec<SourceStatus>,
    /// Human-readable notes about missing or damaged data.
    pub warnings: Vec<String>,
    /// True when the list is known to be incomplete.
    pub partial: bool,
}

impl SharesReport {
    /// An empty report.
    pub fn empty(collected_at: Timestamp) -> Self {
        Self {
            collected_at,
            shares: Vec::new(),
            mounts_examined: 0,
            sources: Vec::new(),
            warnings: Vec::new(),
            partial: false,
        }
    }

    /// Records a warning that makes the report partial.
    pub fn warn_partial(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
        self.partial = true;
    }
}

/// One mounted network file system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Share {
    /// Protocol family: nfs, smb, sshfs, 9p, glusterfs, ceph, afs, webdav, rclone...
    pub protocol: String,
    /// File system type as the kernel names it (`nfs4`, `cifs`, `fuse.sshfs`).
    pub fs_type: String,
    /// Server (host name, address, monitor list), when the source names one.
    pub server: Option<String>,
    /// Export, share or remote path.
    pub share: Option<String>,
    /// Remote user named in the source (`user@host:`) or options (`username=`).
    pub remote_user: Option<String>,
    /// Server address the kernel resolved (`addr=` option).
    pub server_addr: Option<String>,
    /// The mount source as written.
    pub source: String,
    /// Where it is mounted.
    pub mount_point: String,
    /// Per-mount options.
    pub options: Vec<String>,
    /// File-system options (protocol version, security, uid mapping...).
    pub fs_options: Vec<String>,
    /// Mounted read-only.
    pub read_only: bool,
    /// Owner uid of the mount.
    pub owner_uid: Option<u32>,
    /// Owner name.
    pub owner: Option<String>,
    /// Where the owner comes from: `uid_option` (cifs `uid=`), `fuse_user_id` (the user
    /// who mounted a FUSE file system) or `mount_point` (owner of the mounted directory).
    pub owner_source: Option<String>,
    /// Mount id in its mount table.
    pub mount_id: u32,
    /// Mount namespace inode, when more than one namespace was read.
    pub mount_namespace: Option<u64>,
    /// A process in that namespace, when more than one namespace was read.
    pub namespace_pid: Option<i32>,
}

/// The protocol family of a network file system type, `None` for local file systems.
pub fn network_protocol(fs_type: &str) -> Option<&'static str> {
    Some(match fs_type {
        "nfs" | "nfs4" => "nfs",
        "cifs" | "smb3" | "smbfs" | "fuse.smbnetfs" => "smb",
        "fuse.sshfs" | "sshfs" => "sshfs",
        "9p" => "9p",
        "glusterfs" | "fuse.glusterfs" => "glusterfs",
        "ceph" | "fuse.ceph" | "fuse.ceph-fuse" => "ceph",
        "afs" | "openafs" => "afs",
        "davfs" | "fuse.davfs" | "fuse.davfs2" => "webdav",
        "fuse.rclone" => "rclone",
        "lustre" => "lustre",
        "ocfs2" => "ocfs2",
        "gfs2" => "gfs2",
        "beegfs" => "beegfs",
        "gpfs" => "gpfs",
        "orangefs" | "pvfs2" => "orangefs",
        "coda" => "coda",
        "ncpfs" => "ncp",
        "fuse.s3fs" | "fuse.goofys" | "fuse.mountpoint-s3" => "s3",
        "fuse.gcsfuse" => "gcs",
        "fuse.blobfuse" | "fuse.blobfuse2" => "azure-blob",
        "fuse.juicefs" => "juicefs",
        "fuse.curlftpfs" => "ftp",
        _ => return None,
    })
}

/// Server, share and remote user as named by a mount source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceParts {
    /// Server.
    pub server: Option<String>,
    /// Share or path on the server.
    pub share: Option<String>,
    /// User named in the source.
    pub remote_user: Option<String>,
}

fn some(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

/// Splits a mount source into server and share according to its protocol's syntax.
pub fn parse_source(protocol: &str, source: &str) -> SourceParts {
    match protocol {
        "smb" => parse_unc(source),
        "ceph" if source.contains('=') => parse_ceph_new(source),
        "webdav" => parse_url(source),
        "9p" | "afs" | "s3" | "gcs" | "azure-blob" | "juicefs" => SourceParts {
            share: some(source),
            ..SourceParts::default()
        },
        _ if source.contains("://") => parse_url(source),
        _ => parse_host_path(source),
    }
}

/// `//server/share/sub` (or with backslashes), `//[v6]/share`.
fn parse_unc(source: &str) -> SourceParts {
    let normal = source.replace('\\', "/");
    let Some(rest) = normal.strip_prefix("//") else {
        return SourceParts {
            share: some(source),
            ..SourceParts::default()
        };
    };
    let (server, share) = rest.split_once('/').unwrap_or((rest, ""));
    SourceParts {
        server: some(server),
        share: some(share),
        remote_user: None,
    }
}

/// `[user@]host:path`, `[v6addr]:path`, and multi-address forms like Lustre's
/// `nid1:nid2:/fsname` or Ceph's `mon1,mon2:6789:/path`, which split at the first `:/`.
fn parse_host_path(source: &str) -> SourceParts {
    let (server, path) = if let Some(rest) = source.strip_prefix('[') {
        match rest.split_once(']') {
            Some((addr, tail)) => (
                addr.to_string(),
                tail.strip_prefix(':').unwrap_or(tail).to_string(),
            ),
            None => {
                return SourceParts {
                    share: some(source),
                    ..SourceParts::default()
                }
            }
        }
    } else if let Some(at) = source.find(":/") {
        (source[..at].to_string(), source[at + 1..].to_string())
    } else if let Some((host, path)) = source.split_once(':') {
        (host.to_string(), path.to_string())
    } else {
        return SourceParts {
            share: some(source),
            ..SourceParts::default()
        };
    };
    let (user, server) = match server.rsplit_once('@') {
        // Lustre NIDs (`10.0.0.1@tcp`) also contain `@`: only a user when the part
        // before it does not look like an address.
        Some((user, host)) if !host.starts_with("tcp") && !host.starts_with("o2ib") => {
            (some(user), host.to_string())
        }
        _ => (None, server),
    };
    SourceParts {
        server: some(&server),
        share: some(&path),
        remote_user: user,
    }
}

/// Ceph's newer device syntax: `user@fsid.fsname=/path`.
fn parse_ceph_new(source: &str) -> SourceParts {
    let (head, path) = source.split_once('=').unwrap_or((source, ""));
    let (user, cluster) = match head.split_once('@') {
        Some((user, cluster)) => (some(user), cluster),
        None => (None, head),
    };
    SourceParts {
        server: some(cluster),
        share: some(path),
        remote_user: user,
    }
}

/// `https://host[:port]/path`.
fn parse_url(source: &str) -> SourceParts {
    let Some((_, rest)) = source.split_once("://") else {
        return SourceParts {
            share: some(source),
            ..SourceParts::default()
        };
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (user, host) = match authority.rsplit_once('@') {
        Some((user, host)) => (some(user.split(':').next().unwrap_or(user)), host),
        None => (None, authority),
    };
    SourceParts {
        server: some(host),
        share: some(path),
        remote_user: user,
    }
}

/// The value of `key=` in a list of options.
pub fn option_value<'a>(options: &'a [String], key: &str) -> Option<&'a str> {
    options
        .iter()
        .find_map(|o| o.strip_prefix(key)?.strip_prefix('='))
}

/// Lists the mounted network shares. Never fails as a whole: see
/// [`SharesReport::partial`].
pub fn collect(options: &SharesOptions) -> SharesReport {
    #[cfg(target_os = "linux")]
    {
        crate::linux::host_shares::collect(options)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let mut report = SharesReport::empty(options.now.unwrap_or_else(Timestamp::now));
        report.sources.push(SourceStatus {
            name: "mounts".into(),
            path: PathBuf::new(),
            state: crate::sessions::SourceState::Absent,
            records: 0,
            problems: Vec::new(),
        });
        report.warn_partial("share collection is not implemented on this operating system");
        report
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parts(protocol: &str, source: &str) -> (Option<String>, Option<String>, Option<String>) {
        let p = parse_source(protocol, source);
        (p.server, p.share, p.remote_user)
    }

    fn s(text: &str) -> Option<String> {
        Some(text.to_string())
    }

    #[test]
    fn sources_split_by_protocol() {
        assert_eq!(
            parts("nfs", "fs1:/export/home"),
            (s("fs1"), s("/export/home"), None)
        );
        assert_eq!(
            parts("nfs", "[2001:db8::10]:/export"),
            (s("2001:db8::10"), s("/export"), None)
        );
        assert_eq!(
            parts("smb", "//files.corp/finance$/q3"),
            (s("files.corp"), s("finance$/q3"), None)
        );
        assert_eq!(parts("smb", "\\\\srv\\share"), (s("srv"), s("share"), None));
        assert_eq!(
            parts("sshfs", "bob@jump.example:"),
            (s("jump.example"), None, s("bob"))
        );
        assert_eq!(
            parts("sshfs", "bob@jump.example:/srv/data"),
            (s("jump.example"), s("/srv/data"), s("bob"))
        );
        assert_eq!(parts("9p", "hostshare"), (None, s("hostshare"), None));
        assert_eq!(
            parts("ceph", "10.0.0.1,10.0.0.2:6789:/volumes/a"),
            (s("10.0.0.1,10.0.0.2:6789"), s("/volumes/a"), None)
        );
        assert_eq!(
            parts("ceph", "admin@5a1f.cephfs=/data"),
            (s("5a1f.cephfs"), s("/data"), s("admin"))
        );
        assert_eq!(
            parts("lustre", "10.0.0.1@tcp:10.0.0.2@tcp:/lfs"),
            (s("10.0.0.1@tcp:10.0.0.2@tcp"), s("/lfs"), None)
        );
        assert_eq!(
            parts("webdav", "https://u:pw@dav.example.org/remote.php/dav"),
            (s("dav.example.org"), s("/remote.php/dav"), s("u"))
        );
        assert_eq!(
            parts("rclone", "gdrive:backups"),
            (s("gdrive"), s("backups"), None)
        );
        assert_eq!(parts("nfs", "weird"), (None, s("weird"), None));
        assert_eq!(parts("smb", "notunc"), (None, s("notunc"), None));
    }

    #[test]
    fn local_file_systems_are_not_shares() {
        for fs in ["ext4", "tmpfs", "proc", "fuse", "overlay", "fuse.portal"] {
            assert_eq!(network_protocol(fs), None, "{fs}");
        }
        assert_eq!(network_protocol("smb3"), Some("smb"));
    }
}
