//! The Linux session collector: logind first, utmp second, `w`'s columns from `/proc`,
//! wtmp for the history, and the socket tables for inbound sessions.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use jiff::Timestamp;

use super::logind::{self, LogindSession};
use super::sess_inbound;
use super::sess_proc::{self, ProcTable};
use super::utmp::{self, RecordKind, UtmpRecord};
use crate::connections::{self, ConnectionQuery};
use crate::sessions::{
    AccountingRecord, HistoryEntry, Login, SessionEnd, SessionsOptions, SessionsReport,
    SourceState, SourceStatus,
};

const LOGIND_DIR: &str = "/run/systemd/sessions";
const UTMP_PATHS: [&str; 2] = ["/run/utmp", "/var/run/utmp"];
const WTMP_PATH: &str = "/var/log/wtmp";
const WTMPDB_PATH: &str = "/var/lib/wtmpdb/wtmp.db";
const LASTLOG2_PATH: &str = "/var/lib/lastlog/lastlog2.db";

/// Problems listed per source before the rest are only counted, so a wtmp full of
/// garbage does not produce a megabyte of warnings.
const MAX_PROBLEMS_LISTED: usize = 20;

/// Collects everything [`SessionsOptions`] asks for. See [`crate::sessions::collect`].
pub fn collect(options: &SessionsOptions) -> SessionsReport {
    let now = options.now.unwrap_or_else(Timestamp::now);
    let mut report = SessionsReport::empty(now);
    let proc_root = options
        .proc_root
        .clone()
        .unwrap_or_else(|| PathBuf::from("/proc"));
    let dev_root = options
        .dev_root
        .clone()
        .unwrap_or_else(|| PathBuf::from("/dev"));

    let logind_dir = options
        .logind_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(LOGIND_DIR));
    let sessions = read_logind(&logind_dir, &mut report);

    let utmp_path = options.utmp.clone().unwrap_or_else(default_utmp);
    let utmp_records = read_accounting(
        "utmp",
        &utmp_path,
        options.utmp.is_some(),
        &mut report,
        sessions.is_some(),
    );

    let mut logins: Vec<Login> = sessions
        .unwrap_or_default()
        .iter()
        .map(login_from_logind)
        .collect();
    for record in utmp_records
        .iter()
        .filter(|r| r.kind == RecordKind::UserProcess)
    {
        merge_utmp(&mut logins, record);
    }
    report.utmp_records = utmp_records
        .iter()
        .filter(|r| r.kind != RecordKind::Empty)
        .map(accounting)
        .collect();

    add_activity(&mut logins, &proc_root, &dev_root, now, &mut report);
    report.logins = logins;

    let wtmpdb = options
        .wtmpdb
        .clone()
        .unwrap_or_else(|| PathBuf::from(WTMPDB_PATH));
    note_wtmpdb(&wtmpdb, options.history, &mut report);
    if options.wtmpdb.is_none() && Path::new(LASTLOG2_PATH).exists() {
        // lastlog2 keeps only each user's latest login, which neither `who` nor `last`
        // shows; its presence is recorded so a reader knows where else to look.
        report.sources.push(status(
            "lastlog2",
            PathBuf::from(LASTLOG2_PATH),
            SourceState::NotRead,
            0,
        ));
    }

    if options.history {
        let wtmp_path = options
            .wtmp
            .clone()
            .unwrap_or_else(|| PathBuf::from(WTMP_PATH));
        let records = read_accounting(
            "wtmp",
            &wtmp_path,
            options.wtmp.is_some(),
            &mut report,
            false,
        );
        let mut entries = history(&records);
        if options.wtmp.is_none() && options.proc_root.is_none() {
            mark_gone(&mut entries, &proc_root);
        }
        report.history = Some(entries);
    }

    if options.inbound {
        collect_inbound(
            options,
            &proc_root,
            options.proc_root.is_none(),
            &mut report,
        );
    } else {
        report.sources.push(status(
            "proc_net_tcp",
            proc_root.join("net/tcp"),
            SourceState::Skipped,
            0,
        ));
    }
    report
}

fn default_utmp() -> PathBuf {
    UTMP_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(UTMP_PATHS[0]))
}

fn status(name: &str, path: PathBuf, state: SourceState, records: usize) -> SourceStatus {
    SourceStatus {
        name: name.to_string(),
        path,
        state,
        records,
        problems: Vec::new(),
    }
}

fn push_problems(source: &mut SourceStatus, problems: impl IntoIterator<Item = String>) {
    let mut extra = 0usize;
    for problem in problems {
        if source.problems.len() < MAX_PROBLEMS_LISTED {
            source.problems.push(problem);
        } else {
            extra += 1;
        }
    }
    if extra > 0 {
        source.problems.push(format!("... and {extra} more"));
    }
}

fn read_logind(dir: &Path, report: &mut SessionsReport) -> Option<Vec<LogindSession>> {
    match logind::read_dir(dir) {
        Ok(read) => {
            let mut source = status(
                "logind",
                dir.to_path_buf(),
                SourceState::Read,
                read.sessions.len(),
            );
            if !read.problems.is_empty() {
                report.warn_partial(format!(
                    "{}: {} session file(s) could not be read",
                    dir.display(),
                    read.problems.len()
                ));
                push_problems(
                    &mut source,
                    read.problems
                        .iter()
                        .map(|p| format!("{}: {}", p.path.display(), p.message)),
                );
            }
            report.sources.push(source);
            Some(read.sessions)
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            report
                .sources
                .push(status("logind", dir.to_path_buf(), SourceState::Absent, 0));
            None
        }
        Err(err) => {
            report.warn_partial(format!("logind sessions not read: {err}"));
            let mut source = status("logind", dir.to_path_buf(), SourceState::Unreadable, 0);
            source.problems.push(err.to_string());
            report.sources.push(source);
            None
        }
    }
}

/// Reads a utmp-format file. A missing utmp is normal where logind replaced it, so it
/// only warns when logind was not there either, or when the file was named explicitly.
fn read_accounting(
    name: &str,
    path: &Path,
    explicit: bool,
    report: &mut SessionsReport,
    have_logind: bool,
) -> Vec<UtmpRecord> {
    match utmp::read_path(path) {
        Ok(file) => {
            let mut source = status(
                name,
                path.to_path_buf(),
                SourceState::Read,
                file.records.len(),
            );
            if !file.problems.is_empty() {
                report.warn_partial(format!(
                    "{}: {} damaged record(s); the other {} were read",
                    path.display(),
                    file.problems.len(),
                    file.records.len()
                ));
                push_problems(
                    &mut source,
                    file.problems
                        .iter()
                        .map(|p| format!("{} offset {}: {}", path.display(), p.offset, p.message)),
                );
            }
            report.sources.push(source);
            file.records
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            report
                .sources
                .push(status(name, path.to_path_buf(), SourceState::Absent, 0));
            if explicit {
                report.warn_partial(format!("{name} file {} does not exist", path.display()));
            } else if name == "utmp" && !have_logind {
                report.warnings.push(format!(
                    "neither {LOGIND_DIR} nor {} exists: no source of current logins",
                    path.display()
                ));
            } else if name == "wtmp" {
                report.warnings.push(format!(
                    "{} does not exist: no login history",
                    path.display()
                ));
            }
            Vec::new()
        }
        Err(err) => {
            let hint = if err.kind() == io::ErrorKind::PermissionDenied {
                " (permission denied: run as root or as a member of group utmp)"
            } else {
                ""
            };
            report.warn_partial(format!("{name} not read: {err}{hint}"));
            let mut source = status(name, path.to_path_buf(), SourceState::Unreadable, 0);
            source.problems.push(err.to_string());
            report.sources.push(source);
            Vec::new()
        }
    }
}

fn note_wtmpdb(path: &Path, history: bool, report: &mut SessionsReport) {
    if !path.exists() {
        report
            .sources
            .push(status("wtmpdb", path.to_path_buf(), SourceState::Absent, 0));
        return;
    }
    report.sources.push(status(
        "wtmpdb",
        path.to_path_buf(),
        SourceState::NotRead,
        0,
    ));
    let message = format!(
        "{} exists (wtmpdb, SQLite) and is not read: login history recorded there is missing \
         from this report; `wtmpdb last` shows it",
        path.display()
    );
    if history {
        report.warn_partial(message);
    } else {
        report.warnings.push(message);
    }
}

fn strip_dev(tty: &str) -> String {
    tty.strip_prefix("/dev/").unwrap_or(tty).to_string()
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn login_from_logind(s: &LogindSession) -> Login {
    Login {
        user: s
            .user
            .clone()
            .or_else(|| s.uid.map(|u| u.to_string()))
            .unwrap_or_default(),
        uid: s.uid,
        tty: s
            .tty
            .as_deref()
            .map(strip_dev)
            .or_else(|| s.display.clone()),
        from: s.remote_host.clone(),
        from_addr: None,
        login_time: s.started,
        pid: s.leader,
        session_id: Some(s.id.clone()),
        service: s.service.clone(),
        session_type: s.session_type.clone(),
        class: s.class.clone(),
        state: s.state.clone(),
        remote: Some(s.remote),
        seat: s.seat.clone(),
        sources: vec!["logind".to_string()],
        ..Login::default()
    }
}

/// A utmp user record joins the logind session on the same terminal for the same user;
/// otherwise it is a login logind does not know about (no logind, or a login program that
/// bypassed PAM) and is listed on its own.
fn merge_utmp(logins: &mut Vec<Login>, record: &UtmpRecord) {
    let same = logins.iter_mut().find(|l| {
        l.sources.iter().any(|s| s == "logind")
            && !l.sources.iter().any(|s| s == "utmp")
            && l.user == record.user
            && l.tty.as_deref() == Some(record.line.as_str())
    });
    match same {
        Some(login) => {
            login.sources.push("utmp".to_string());
            login.from_addr = record.addr;
            if login.from.is_none() {
                login.from = non_empty(&record.host);
            }
            if login.login_time.is_none() {
                login.login_time = record.time;
            }
            if login.pid.is_none() {
                login.pid = Some(record.pid);
            }
        }
        None => logins.push(Login {
            user: record.user.clone(),
            tty: non_empty(&record.line),
            from: non_empty(&record.host),
            from_addr: record.addr,
            login_time: record.time,
            pid: Some(record.pid),
            sources: vec!["utmp".to_string()],
            ..Login::default()
        }),
    }
}

/// A terminal name from utmp or logind is attacker-controllable text: only plain device
/// names are looked up under `/dev`.
fn tty_device(dev_root: &Path, tty: &str) -> Option<PathBuf> {
    let plain = !tty.is_empty()
        && !tty.starts_with(':')
        && !tty.starts_with('/')
        && tty
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    plain.then(|| dev_root.join(tty))
}

fn add_activity(
    logins: &mut [Login],
    proc_root: &Path,
    dev_root: &Path,
    now: Timestamp,
    report: &mut SessionsReport,
) {
    if logins.is_empty() {
        return;
    }
    let table = match ProcTable::read(proc_root) {
        Ok(table) => table,
        Err(err) => {
            report.warn_partial(format!(
                "processes not read ({err}): IDLE, JCPU, PCPU and WHAT are missing"
            ));
            let mut source = status("proc", proc_root.to_path_buf(), SourceState::Unreadable, 0);
            source.problems.push(err.to_string());
            report.sources.push(source);
            return;
        }
    };
    report.sources.push(status(
        "proc",
        proc_root.to_path_buf(),
        SourceState::Read,
        table.procs.len(),
    ));
    let now_system = SystemTime::UNIX_EPOCH
        + Duration::from_secs(u64::try_from(now.as_second()).unwrap_or_default());
    let tps = procfs::ticks_per_second();
    for login in logins.iter_mut() {
        let device = login.tty.as_deref().and_then(|t| tty_device(dev_root, t));
        let activity = sess_proc::activity(&table, device.as_deref(), login.pid, now_system, tps);
        login.idle_seconds = activity.idle.map(|d| d.as_secs());
        login.jcpu_seconds = activity.jcpu;
        login.pcpu_seconds = activity.pcpu;
        login.what = activity.what;
    }
}

fn accounting(r: &UtmpRecord) -> AccountingRecord {
    AccountingRecord {
        kind: r.kind.name().to_string(),
        time: r.time,
        user: r.user.clone(),
        line: r.line.clone(),
        id: r.id.clone(),
        host: r.host.clone(),
        addr: r.addr,
        pid: r.pid,
        exit_status: r.exit_status,
        offset: r.offset,
    }
}

/// Pairs logins with their ends the way `last` does: a dead-process record on the same
/// terminal is a logout, a boot while logged in is a crash, a shutdown record is `down`.
pub fn history(records: &[UtmpRecord]) -> Vec<HistoryEntry> {
    let mut out: Vec<HistoryEntry> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let close_all = |out: &mut Vec<HistoryEntry>, open: &mut Vec<usize>, how, at| {
        for index in open.drain(..) {
            out[index].end = at;
            out[index].ended_by = Some(how);
        }
    };
    for r in records {
        match r.kind {
            RecordKind::UserProcess => {
                open.push(out.len());
                out.push(HistoryEntry {
                    kind: "login".into(),
                    user: r.user.clone(),
                    tty: r.line.clone(),
                    from: r.host.clone(),
                    from_addr: r.addr,
                    start: r.time,
                    end: None,
                    ended_by: Some(SessionEnd::StillLoggedIn),
                    pid: r.pid,
                });
            }
            RecordKind::DeadProcess => {
                if let Some(pos) = open
                    .iter()
                    .rposition(|&i| out[i].tty == r.line && !r.line.is_empty())
                {
                    let index = open.remove(pos);
                    out[index].end = r.time;
                    out[index].ended_by = Some(SessionEnd::Logout);
                }
            }
            RecordKind::BootTime => {
                close_all(&mut out, &mut open, SessionEnd::Crash, r.time);
                out.push(system_entry("reboot", r));
            }
            RecordKind::RunLevel if r.user == "shutdown" => {
                close_all(&mut out, &mut open, SessionEnd::Down, r.time);
                out.push(system_entry("shutdown", r));
            }
            _ => {}
        }
    }
    out
}

/// A login still open in the live wtmp whose process has vanished. Only logins after the
/// last boot are judged: earlier pids belong to another boot.
fn mark_gone(entries: &mut [HistoryEntry], proc_root: &Path) {
    let since_boot = entries
        .iter()
        .rposition(|e| e.kind == "reboot")
        .map_or(0, |i| i + 1);
    for entry in &mut entries[since_boot..] {
        if entry.ended_by == Some(SessionEnd::StillLoggedIn)
            && entry.pid > 0
            && !proc_root.join(entry.pid.to_string()).exists()
        {
            entry.ended_by = Some(SessionEnd::Gone);
        }
    }
}

fn system_entry(kind: &str, r: &UtmpRecord) -> HistoryEntry {
    HistoryEntry {
        kind: kind.to_string(),
        user: r.user.clone(),
        tty: if kind == "reboot" {
            "system boot".into()
        } else {
            r.line.clone()
        },
        from: r.host.clone(),
        from_addr: None,
        start: r.time,
        end: None,
        ended_by: None,
        pid: r.pid,
    }
}

/// Inbound sessions come from the connection inventory (sock_diag, with every holder
/// process) when it answers; the `/proc/net/tcp` reader below is the fallback, and the
/// only source when a `/proc` root other than the live one is given.
fn collect_inbound(
    options: &SessionsOptions,
    proc_root: &Path,
    live: bool,
    report: &mut SessionsReport,
) {
    if live {
        let query = ConnectionQuery {
            all_netns: options.all_netns,
            ..ConnectionQuery::tcp_sessions(true)
        };
        match connections::collect(&query) {
            Ok(conns) => {
                let inbound = crate::sessions::inbound_from_connections(&conns);
                report.sources.push(status(
                    "connections",
                    proc_root.to_path_buf(),
                    SourceState::Read,
                    conns.sockets.len(),
                ));
                for warning in conns.warnings {
                    report.warnings.push(format!("connections: {warning}"));
                }
                report.partial |= conns.partial;
                report.inbound = inbound;
                return;
            }
            Err(err) => {
                tracing::info!("connection inventory unavailable ({err}); reading /proc/net/tcp");
            }
        }
    }
    if options.all_netns {
        report.warn_partial(
            "inbound sessions of other network namespaces not listed: the connection \
             inventory is unavailable and /proc/net/tcp shows only this namespace",
        );
    }
    collect_inbound_procfs(proc_root, report);
}

fn collect_inbound_procfs(proc_root: &Path, report: &mut SessionsReport) {
    let mut tables = Vec::new();
    for (protocol, file) in [("tcp", "net/tcp"), ("tcp6", "net/tcp6")] {
        let path = proc_root.join(file);
        match fs_err::read_to_string(&path) {
            Ok(text) => {
                let (rows, bad) = sess_inbound::parse_table(&text);
                let mut source =
                    status("proc_net_tcp", path.clone(), SourceState::Read, rows.len());
                if !bad.is_empty() {
                    report.warn_partial(format!(
                        "{}: {} line(s) not understood",
                        path.display(),
                        bad.len()
                    ));
                    push_problems(
                        &mut source,
                        bad.iter()
                            .map(|(n, line)| format!("{} line {n}: {line:?}", path.display())),
                    );
                }
                report.sources.push(source);
                tables.push((protocol, rows));
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound && protocol == "tcp6" => {
                // IPv6 disabled on this kernel.
                report
                    .sources
                    .push(status("proc_net_tcp", path, SourceState::Absent, 0));
            }
            Err(err) => {
                report.warn_partial(format!("inbound sessions incomplete: {err}"));
                let mut source = status("proc_net_tcp", path, SourceState::Unreadable, 0);
                source.problems.push(err.to_string());
                report.sources.push(source);
            }
        }
    }
    let mut inbound = sess_inbound::inbound(&tables);
    let wanted: HashSet<u64> = inbound
        .iter()
        .map(|s| s.inode)
        .filter(|&i| i != 0)
        .collect();
    let owners = sess_inbound::owners(proc_root, &wanted);
    let mut unattributed = 0usize;
    for session in &mut inbound {
        match owners.by_inode.get(&session.inode) {
            Some(procs) => session.processes = procs.clone(),
            None => unattributed += 1,
        }
    }
    if unattributed > 0 && owners.unreadable > 0 {
        report.warn_partial(format!(
            "owning process of {unattributed} of {} inbound connection(s) not found: the \
             descriptor tables of {} process(es) could not be read{}",
            inbound.len(),
            owners.unreadable,
            if nix::unistd::geteuid().is_root() {
                ""
            } else {
                " (run as root to see them)"
            }
        ));
    }
    crate::sessions::finish_inbound(&mut inbound);
    report.inbound = inbound;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn open_logins_of_vanished_processes_are_gone() {
        let proc_root = tempfile::tempdir().unwrap();
        std::fs::create_dir(proc_root.path().join("100")).unwrap();
        let login = |pid| HistoryEntry {
            kind: "login".into(),
            user: "u".into(),
            tty: format!("pts/{pid}"),
            from: String::new(),
            from_addr: None,
            start: None,
            end: None,
            ended_by: Some(SessionEnd::StillLoggedIn),
            pid,
        };
        let mut entries = vec![login(100), login(200)];
        mark_gone(&mut entries, proc_root.path());
        assert_eq!(entries[0].ended_by, Some(SessionEnd::StillLoggedIn));
        assert_eq!(entries[1].ended_by, Some(SessionEnd::Gone));
    }

    #[test]
    fn hostile_tty_names_are_not_looked_up() {
        let dev = Path::new("/dev");
        assert_eq!(tty_device(dev, "pts/3"), Some(PathBuf::from("/dev/pts/3")));
        for bad in ["../etc/shadow", "/etc/passwd", ":0", "pts//1", "", "pts/.."] {
            assert_eq!(tty_device(dev, bad), None, "{bad}");
        }
    }
}
