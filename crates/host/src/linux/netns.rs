//! Network namespaces: finding every distinct one, and running a dump inside one.
//!
//! Namespaces are found from `/proc/<pid>/ns/net` of every process and from the bind
//! mounts in `/run/netns` (which keep a namespace alive with no process in it), deduplicated
//! by the namespace inode. A dump inside another namespace runs on a dedicated thread that
//! joins it with `setns(CLONE_NEWNET)`; the thread ends with the dump, so no other work
//! ever runs in a foreign namespace.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::sched::CloneFlags;

/// Where bind-mounted named namespaces live (`ip netns add`).
pub const RUN_NETNS: &str = "/run/netns";

/// One network namespace.
#[derive(Debug, Clone)]
pub struct Namespace {
    /// Namespace inode (what `ip netns identify` and `lsns` show).
    pub inode: u64,
    /// Its name in `/run/netns`, if any.
    pub name: Option<Arc<str>>,
    /// A container id found in the cgroup of a process in it.
    pub container_id: Option<Arc<str>>,
    /// A path to open to join it (`/run/netns/<name>` or `/proc/<pid>/ns/net`).
    pub path: PathBuf,
    /// A process living in it, for reading `/proc/<pid>/net/*` when `setns` is refused.
    pub pid: Option<u32>,
    /// Whether it is the namespace this process runs in.
    pub current: bool,
}

/// The namespace of the calling process.
pub fn current() -> Option<Namespace> {
    let inode = fs_err::metadata("/proc/thread-self/ns/net").ok()?.ino();
    let name = named().remove(&inode);
    Some(Namespace {
        inode,
        name,
        container_id: None,
        path: PathBuf::from("/proc/thread-self/ns/net"),
        pid: Some(std::process::id()),
        current: true,
    })
}

/// Inode to name of every namespace bind-mounted under `/run/netns`.
pub fn named() -> HashMap<u64, Arc<str>> {
    let mut out = HashMap::new();
    let nsfs_dev = fs_err::metadata("/proc/thread-self/ns/net")
        .map(|m| m.dev())
        .ok();
    let Ok(rd) = fs_err::read_dir(RUN_NETNS) else {
        return out;
    };
    for entry in rd.flatten() {
        if let Ok(meta) = std::fs::metadata(entry.path()) {
            // A leftover file whose namespace was unmounted lives on tmpfs, not nsfs:
            // it names nothing.
            if nsfs_dev.is_some_and(|dev| dev != meta.dev()) {
                continue;
            }
            out.entry(meta.ino())
                .or_insert_with(|| Arc::from(entry.file_name().to_string_lossy().as_ref()));
        }
    }
    out
}

/// Every distinct namespace, the current one first. Unreadable `/proc/<pid>/ns/net`
/// entries (other users' processes when not root) are counted in the second value.
pub fn list() -> (Vec<Namespace>, usize) {
    let names = named();
    let me = current();
    let mut by_inode: HashMap<u64, Namespace> = HashMap::new();
    let mut order: Vec<u64> = Vec::new();
    if let Some(me) = me {
        order.push(me.inode);
        by_inode.insert(me.inode, me);
    }
    let mut unreadable = 0;
    let pids = super::procwalk::list_pids().unwrap_or_default();
    for pid in pids {
        let path = PathBuf::from(format!("/proc/{pid}/ns/net"));
        match std::fs::metadata(&path) {
            Ok(meta) => {
                let ino = meta.ino();
                if let Some(ns) = by_inode.get_mut(&ino) {
                    if !ns.current && ns.container_id.is_none() {
                        ns.container_id = container_id_of(pid);
                    }
                    if ns.pid.is_none() {
                        ns.pid = Some(pid);
                    }
                    continue;
                }
                order.push(ino);
                by_inode.insert(
                    ino,
                    Namespace {
                        inode: ino,
                        name: names.get(&ino).cloned(),
                        container_id: container_id_of(pid),
                        path,
                        pid: Some(pid),
                        current: false,
                    },
                );
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => unreadable += 1,
        }
    }
    for (ino, name) in &names {
        if by_inode.contains_key(ino) {
            continue;
        }
        order.push(*ino);
        by_inode.insert(
            *ino,
            Namespace {
                inode: *ino,
                name: Some(name.clone()),
                container_id: None,
                path: Path::new(RUN_NETNS).join(name.as_ref()),
                pid: None,
                current: false,
            },
        );
    }
    let list = order
        .into_iter()
        .filter_map(|ino| by_inode.remove(&ino))
        .collect();
    (list, unreadable)
}

/// Runs `f` on a new thread that has joined the namespace. Fails with a sentence naming
/// the namespace when it cannot be opened or joined (it vanished, or we lack the right).
pub fn run_in<T, F>(ns: &Namespace, f: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let path = ns.path.clone();
    let inode = ns.inode;
    let handle = std::thread::Builder::new()
        .name(format!("netns-{inode}"))
        .spawn(move || -> Result<T, String> {
            let file = fs_err::File::open(&path).map_err(|e| format!("namespace {inode}: {e}"))?;
            let file: std::fs::File = file.into();
            // The namespace we opened may be a different one if the path was reused
            // between listing and opening; the inode check catches that.
            let ino = file
                .metadata()
                .map(|m| m.ino())
                .map_err(|e| format!("namespace {inode}: {e}"))?;
            if ino != inode {
                return Err(format!(
                    "namespace {inode} vanished ({} now names another)",
                    path.display()
                ));
            }
            nix::sched::setns(&file, CloneFlags::CLONE_NEWNET)
                .map_err(|e| format!("cannot enter namespace {inode} ({}): {e}", path.display()))?;
            Ok(f())
        })
        .map_err(|e| format!("cannot start a thread for namespace {inode}: {e}"))?;
    handle
        .join()
        .map_err(|_| format!("dump in namespace {inode} failed unexpectedly"))?
}

/// The container id in `/proc/<pid>/cgroup`, if the process runs in a container.
pub fn container_id_of(pid: u32) -> Option<Arc<str>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    container_id_from_cgroup(&text).map(Arc::from)
}

/// Finds a container id in cgroup text: the last run of exactly 64 hex digits in a path,
/// which is how docker (`/docker/<id>`, `docker-<id>.scope`), containerd
/// (`cri-containerd-<id>.scope`), CRI-O (`crio-<id>.scope`), podman (`libpod-<id>.scope`)
/// and kubepods (`.../pod<uid>/<id>`) all name containers.
pub fn container_id_from_cgroup(text: &str) -> Option<String> {
    let mut found = None;
    for line in text.lines() {
        let path = line.splitn(3, ':').nth(2).unwrap_or(line);
        let bytes = path.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i].is_ascii_hexdigit() {
                let start = i;
                while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
                    i += 1;
                }
                if i - start == 64 {
                    found = Some(path[start..i].to_ascii_lowercase());
                }
            } else {
                i += 1;
            }
        }
    }
    found
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ID: &str = "3f4e1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7";

    #[test]
    fn container_ids_from_common_runtimes() {
        for text in [
            format!("0::/system.slice/docker-{ID}.scope\n"),
            format!("12:memory:/docker/{ID}\n1:name=systemd:/docker/{ID}\n"),
            format!("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234.slice/cri-containerd-{ID}.scope"),
            format!("0::/machine.slice/libpod-{ID}.scope/container"),
            format!("0::/kubepods/burstable/pod0a1b2c3d-1111-2222-3333-444455556666/{ID}"),
        ] {
            assert_eq!(container_id_from_cgroup(&text).as_deref(), Some(ID), "{text}");
        }
        assert_eq!(
            container_id_from_cgroup("0::/user.slice/user-1000.slice/session-2.scope"),
            None
        );
        // 65 hex digits is not an id.
        assert_eq!(container_id_from_cgroup(&format!("0::/x/{ID}a")), None);
    }

    #[test]
    fn a_vanished_namespace_is_an_error_not_a_panic() {
        let gone = Namespace {
            inode: 1,
            name: Some(Arc::from("gone")),
            container_id: None,
            path: PathBuf::from("/run/netns/sockhunt-no-such-namespace"),
            pid: None,
            current: false,
        };
        let err = run_in(&gone, || 1).unwrap_err();
        assert!(err.contains("namespace 1"), "{err}");
        // A path that now names another namespace is refused too.
        let mut moved = current().unwrap();
        moved.inode = 1;
        moved.current = false;
        let err = run_in(&moved, || 1).unwrap_err();
        assert!(err.contains("vanished"), "{err}");
    }

    #[test]
    fn current_namespace_is_listed_first() {
        let me = current().unwrap();
        let (all, _) = list();
        assert_eq!(all[0].inode, me.inode);
        assert!(all[0].current);
        let mut inodes: Vec<_> = all.iter().map(|n| n.inode).collect();
        inodes.sort_unstable();
        inodes.dedup();
        assert_eq!(inodes.len(), all.len());
    }
}
