//! The Linux socket collector: sock_diag dumps per namespace (with `/proc/net` as the
//! fallback), then one `/proc` walk for the owners of every row of every namespace.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::netns::{self, Namespace};
use super::procnet::{self, Table};
use super::procwalk::{self, WalkOptions};
use super::sock_diag::{self, DiagError, DiagSocket, InetRequest};
use crate::connections::{
    ConnectionQuery, ConnectionReport, Error, Family, OwnerNote, Owners, Process, Proto, Socket,
    StateSet,
};

/// When set, the `/proc/net` tables are read instead of netlink (as when netlink is
/// refused), to compare the two or to work around a kernel that answers badly.
pub const PROC_NET_ENV: &str = "SOCKHUNT_PROC_NET";

/// What one namespace's dump produced.
#[derive(Debug, Default)]
struct DumpOut {
    rows: Vec<Socket>,
    /// Messages that mean rows are missing.
    missing: Vec<String>,
    /// Messages about how the rows were obtained (a fallback that worked, for instance).
    notes: Vec<String>,
}

/// Collects the sockets a query selects (see [`crate::connections::collect`]).
pub fn collect(q: &ConnectionQuery) -> Result<ConnectionReport, Error> {
    if !(q.ipv4 || q.ipv6 || q.protocols.unix) {
        return Err(Error::InvalidQuery("no address family selected".into()));
    }
    let mut report = ConnectionReport::default();
    let namespaces: Vec<Namespace> = if q.all_netns {
        let (list, unreadable) = netns::list();
        if unreadable > 0 {
            report.warn(format!(
                "the network namespace of {unreadable} processes could not be read (permission denied); \
                 namespaces only they use are missing{}",
                root_hint()
            ));
        }
        list
    } else {
        netns::current().into_iter().collect()
    };

    let mut failures = Vec::new();
    let mut any_ok = false;
    if namespaces.is_empty() {
        // No /proc/thread-self: still dump what this thread sees, untagged.
        match dump_namespace(q, Path::new("/proc/net")) {
            Ok(out) => {
                any_ok = true;
                absorb(&mut report, out, None);
            }
            Err(e) => failures.push(e),
        }
    }
    for ns in &namespaces {
        let result = if ns.current {
            dump_namespace(q, Path::new("/proc/thread-self/net"))
        } else {
            let q2 = q.clone();
            match netns::run_in(ns, move || {
                dump_namespace(&q2, Path::new("/proc/thread-self/net"))
            }) {
                Ok(r) => r,
                Err(why) => match ns.pid {
                    // Not allowed to join: the tables are still readable through a
                    // process living there.
                    Some(pid) => {
                        let dir = PathBuf::from(format!("/proc/{pid}/net"));
                        let mut out = dump_procnet(q, &dir);
                        if let Ok(o) = &mut out {
                            o.notes
                                .push(format!("{why}; read {} instead", dir.display()));
                        }
                        out.map_err(|e| format!("{why}; {e}"))
                    }
                    None => Err(why),
                },
            }
        };
        match result {
            Ok(out) => {
                any_ok = true;
                absorb(&mut report, out, Some(ns));
            }
            Err(e) if ns.current => failures.push(e),
            Err(e) => report.warn(e),
        }
    }
    if !any_ok {
        return Err(Error::NoSource(failures.join("; ")));
    }
    for f in failures {
        report.warn(f);
    }

    if q.processes || !q.pids.is_empty() {
        attribute(q, &mut report);
    }
    Ok(report)
}

fn absorb(report: &mut ConnectionReport, out: DumpOut, ns: Option<&Namespace>) {
    let label = |m: String| match ns {
        Some(ns) if !ns.current => format!("namespace {}: {m}", ns_label(ns)),
        _ => m,
    };
    for m in out.missing {
        report.warn(label(m));
    }
    for m in out.notes {
        report.notes.push(label(m));
    }
    let mut rows = out.rows;
    if let Some(ns) = ns {
        for s in &mut rows {
            s.netns = Some(ns.inode);
            s.netns_name.clone_from(&ns.name);
            s.container_id.clone_from(&ns.container_id);
        }
    }
    if report.sockets.is_empty() {
        report.sockets = rows;
    } else {
        report.sockets.extend(rows);
    }
}

fn ns_label(ns: &Namespace) -> String {
    match &ns.name {
        Some(name) => format!("{} ({name})", ns.inode),
        None => ns.inode.to_string(),
    }
}

/// The (family, protocol) inet dumps a query needs: only the families asked for, since an
/// `AF_INET6` dump walks the same hash tables as `AF_INET` again.
fn inet_dumps(q: &ConnectionQuery) -> Vec<(Family, Proto)> {
    let mut out = Vec::new();
    for proto in [Proto::Tcp, Proto::Udp, Proto::Raw] {
        if !q.protocols.contains(proto) {
            continue;
        }
        if q.ipv4 {
            out.push((Family::Inet, proto));
        }
        if q.ipv6 {
            out.push((Family::Inet6, proto));
        }
    }
    out
}

fn table_of(family: Family, proto: Proto) -> Table {
    match proto {
        Proto::Tcp => Table::Tcp(family),
        Proto::Udp => Table::Udp(family),
        Proto::Raw => Table::Raw(family),
        Proto::Unix => Table::Unix,
    }
}

fn kernel_states(q: &ConnectionQuery) -> StateSet {
    // Request sockets are NEW_SYN_RECV in the kernel but SYN_RECV to users.
    let mut states = q.states;
    if states.contains(crate::connections::SocketState::SYN_RECV) {
        states = states.union(StateSet::of(&[
            crate::connections::SocketState::NEW_SYN_RECV,
        ]));
    }
    states
}

/// Dumps the calling thread's namespace over netlink, falling back to the text tables in
/// `net_dir` per table when netlink is refused.
fn dump_namespace(q: &ConnectionQuery, net_dir: &Path) -> Result<DumpOut, String> {
    if std::env::var_os(PROC_NET_ENV).is_some() {
        let mut out = dump_procnet(q, net_dir)?;
        out.notes.push(format!(
            "{PROC_NET_ENV} is set: read {} instead of netlink",
            net_dir.display()
        ));
        return Ok(out);
    }
    let mut diag = match DiagSocket::open() {
        Ok(d) => d,
        Err(e) => {
            let mut out = dump_procnet(q, net_dir)?;
            out.notes
                .push(format!("{e}; read {} instead", net_dir.display()));
            return Ok(out);
        }
    };
    let mut out = DumpOut::default();
    // Sized once from the kernel's socket count: a growing Vec of 100,000 rows would
    // otherwise peak at twice its length. Pages never filled are never resident, so a
    // filter that keeps few rows costs nothing for the generous size.
    out.rows.reserve(socket_count_estimate(net_dir));
    let states = kernel_states(q);
    for (family, proto) in inet_dumps(q) {
        let mut req = InetRequest {
            family: if family == Family::Inet {
                sock_diag::AF_INET
            } else {
                sock_diag::AF_INET6
            },
            protocol: match proto {
                Proto::Tcp => sock_diag::IPPROTO_TCP,
                Proto::Udp => sock_diag::IPPROTO_UDP,
                _ => sock_diag::IPPROTO_RAW,
            },
            states,
            ports: q.ports.clone(),
        };
        let before = out.rows.len();
        let mut res = diag.dump_inet(&req, &mut |s| {
            if q.matches(&s) {
                out.rows.push(s);
            }
        });
        if matches!(&res, Err(DiagError::Kernel { source, .. }) if source.raw_os_error() == Some(libc::EINVAL))
            && !req.ports.is_empty()
        {
            // An older kernel without port-equality bytecode: filter here instead.
            out.rows.truncate(before);
            req.ports.clear();
            res = diag.dump_inet(&req, &mut |s| {
                if q.matches(&s) {
                    out.rows.push(s);
                }
            });
        }
        match res {
            Ok(stats) if stats.interrupted => out.missing.push(format!(
                "the {} {} dump was interrupted by concurrent changes; a socket may be missing or repeated",
                proto.as_str(),
                family.as_str()
            )),
            Ok(_) => {}
            Err(e) => {
                out.rows.truncate(before);
                fallback_table(&mut out, q, net_dir, table_of(family, proto), &e);
            }
        }
    }
    if q.protocols.unix && q.ports.is_empty() {
        let before = out.rows.len();
        let res = diag.dump_unix(kernel_states(q), &mut |s| {
            if q.matches(&s) {
                out.rows.push(s);
            }
        });
        if let Err(e) = res {
            out.rows.truncate(before);
            fallback_table(&mut out, q, net_dir, Table::Unix, &e);
        }
    }
    Ok(out)
}

/// Sockets in use plus TIME-WAIT sockets, from `sockstat` (an upper bound of the rows).
fn socket_count_estimate(net_dir: &Path) -> usize {
    let Ok(text) = fs_err::read_to_string(net_dir.join("sockstat")) else {
        return 0;
    };
    let field = |line_prefix: &str, name: &str| -> usize {
        text.lines()
            .find(|l| l.starts_with(line_prefix))
            .and_then(|l| {
                let mut words = l.split_whitespace();
                words.find(|w| *w == name)?;
                words.next()?.parse().ok()
            })
            .unwrap_or(0)
    };
    (field("sockets:", "used") + field("TCP:", "tw")).min(1 << 22)
}

fn fallback_table(
    out: &mut DumpOut,
    q: &ConnectionQuery,
    net_dir: &Path,
    table: Table,
    err: &DiagError,
) {
    let path = net_dir.join(table.file_name());
    match procnet::read_table(net_dir, table) {
        Ok((rows, bad)) => {
            out.rows.extend(rows.into_iter().filter(|s| q.matches(s)));
            out.notes
                .push(format!("{err}; read {} instead", path.display()));
            if bad > 0 {
                out.missing.push(format!(
                    "{}: {bad} lines could not be parsed and were skipped",
                    path.display()
                ));
            }
        }
        Err(e) => out.missing.push(format!("{err}; fallback failed too: {e}")),
    }
}

/// Reads every table a query needs from a `net` directory.
fn dump_procnet(q: &ConnectionQuery, net_dir: &Path) -> Result<DumpOut, String> {
    let mut out = DumpOut::default();
    let mut tables: Vec<Table> = inet_dumps(q)
        .into_iter()
        .map(|(f, p)| table_of(f, p))
        .collect();
    if q.protocols.unix && q.ports.is_empty() {
        tables.push(Table::Unix);
    }
    let mut errors = Vec::new();
    let mut read_any = false;
    for table in tables {
        match procnet::read_table(net_dir, table) {
            Ok((rows, bad)) => {
                read_any = true;
                out.rows.extend(rows.into_iter().filter(|s| q.matches(s)));
                if bad > 0 {
                    out.missing.push(format!(
                        "{}: {bad} lines could not be parsed and were skipped",
                        net_dir.join(table.file_name()).display()
                    ));
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if !read_any && !errors.is_empty() {
        return Err(errors.join("; "));
    }
    out.missing.extend(errors);
    Ok(out)
}

/// Attaches owning processes (and applies the `pids` filter) with one `/proc` walk.
fn attribute(q: &ConnectionQuery, report: &mut ConnectionReport) {
    let inodes: Vec<u64> = report.sockets.iter().map(|s| s.inode).collect();
    // Stopping once every socket has an owner pays off when a filter narrowed the
    // listing to a few sockets; a plain listing wants every owner of shared listeners.
    let narrowed = !q.ports.is_empty() || !q.uids.is_empty();
    let walk = procwalk::find_owners(
        &inodes,
        &WalkOptions {
            pids: q.pids.clone(),
            early_stop: narrowed && !q.all_owners,
        },
    );
    drop(inodes);
    if let Some(e) = &walk.proc_error {
        report.warn(format!("cannot list processes: {e}; owners are unknown"));
    }
    if !walk.denied.is_empty() {
        let shown: Vec<String> = walk.denied.iter().take(5).map(u32::to_string).collect();
        let more = if walk.denied.len() > 5 { ", ..." } else { "" };
        report.warn(format!(
            "permission denied reading /proc/<pid>/fd of {} processes (pid {}{more}); sockets they hold show no owner{}",
            walk.denied.len(),
            shown.join(", "),
            root_hint()
        ));
    }
    if walk.exited > 0 {
        report.notes.push(format!(
            "{} processes exited during the /proc walk",
            walk.exited
        ));
    }
    let hits = walk.hits;

    let mut pids: Vec<u32> = if q.processes {
        hits.iter().map(|&(_, pid)| pid).collect()
    } else {
        Vec::new()
    };
    pids.sort_unstable();
    pids.dedup();
    let details: HashMap<u32, Arc<Process>> = procwalk::process_details(&pids);
    // Rows held by the same processes share one owner list.
    let mut shared: HashMap<Vec<u32>, Owners> = HashMap::new();
    let mut owners_of = |pids: &[u32]| -> Owners {
        if let Some(o) = shared.get(pids) {
            return o.clone();
        }
        let list: Owners = pids
            .iter()
            .filter_map(|p| details.get(p).cloned())
            .collect();
        shared.insert(pids.to_vec(), list.clone());
        list
    };
    let empty_note = if walk.proc_error.is_some() || !walk.denied.is_empty() {
        OwnerNote::PermissionDenied
    } else if walk.exited > 0 {
        OwnerNote::Exited
    } else if walk.stopped_early {
        OwnerNote::NotLookedFor
    } else {
        OwnerNote::NotHeld
    };

    let mut next = 0;
    let mut pid_buf: Vec<u32> = Vec::new();
    let mut keep: Vec<bool> = if q.pids.is_empty() {
        Vec::new()
    } else {
        vec![false; report.sockets.len()]
    };
    for (i, s) in report.sockets.iter_mut().enumerate() {
        pid_buf.clear();
        while next < hits.len() && hits[next].0 as usize == i {
            pid_buf.push(hits[next].1);
            next += 1;
        }
        if let Some(k) = keep.get_mut(i) {
            *k = !pid_buf.is_empty();
        }
        if !q.processes {
            continue;
        }
        if pid_buf.is_empty() {
            s.processes_note = Some(if s.inode == 0 {
                OwnerNote::NoDescriptor
            } else {
                empty_note
            });
        } else {
            s.processes = owners_of(&pid_buf);
        }
    }
    if !keep.is_empty() {
        let mut k = keep.into_iter();
        report.sockets.retain(|_| k.next().unwrap_or(false));
    }
}

fn root_hint() -> &'static str {
    if nix::unistd::geteuid().is_root() {
        ""
    } else {
        " (run as root to see them)"
    }
}
