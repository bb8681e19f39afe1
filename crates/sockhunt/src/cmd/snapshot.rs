//! `sockhunt snapshot`: host facts, connections, sessions and shares as one JSON document,
//! the triage artefact an incident responder archives.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use jiff::Timestamp;
use sockhunt_host::snapshot::{self, Snapshot, SnapshotOptions};

use super::sessions::{
    add_row, new_table, print_table, push_records, section, warn, write_csv, write_jsonl, Format,
};
use crate::cli::GlobalOpts;

/// Flags of `sockhunt snapshot`.
#[derive(Debug, Args)]
pub(crate) struct SnapshotArgs {
    /// Output format: the archived artefact is the JSON document; the others flatten it.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub(crate) format: Format,

    /// Write to this file instead of standard output. The file appears complete or not at
    /// all (written beside it, then renamed).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,

    /// Sockets of every network namespace, not only the current one.
    #[arg(long)]
    pub(crate) all_netns: bool,

    /// Shares of every mount namespace, not only the current one.
    #[arg(long)]
    pub(crate) all_mount_namespaces: bool,

    /// Leave sockets out (sessions still list inbound connections).
    #[arg(long)]
    pub(crate) no_connections: bool,

    /// Include the login history from wtmp.
    #[arg(long)]
    pub(crate) history: bool,

    /// Read this utmp file instead of /run/utmp.
    #[arg(long, value_name = "FILE")]
    pub(crate) utmp: Option<PathBuf>,

    /// Read this wtmp file instead of /var/log/wtmp.
    #[arg(long, value_name = "FILE")]
    pub(crate) wtmp: Option<PathBuf>,

    /// Read logind session files from this directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) logind_dir: Option<PathBuf>,

    /// Read this mountinfo file instead of the live mount table.
    #[arg(long, value_name = "FILE")]
    pub(crate) mountinfo: Option<PathBuf>,

    /// Pretend the collection runs at this time (RFC 3339), for reproducible output.
    #[arg(long, value_name = "TIME", hide = true)]
    pub(crate) now: Option<Timestamp>,
}

impl SnapshotArgs {
    fn options(&self) -> SnapshotOptions {
        let mut options = SnapshotOptions::live(self.all_netns);
        if self.no_connections {
            options.connections = None;
        }
        options.sessions.history = self.history;
        options.sessions.utmp = self.utmp.clone();
        options.sessions.wtmp = self.wtmp.clone();
        options.sessions.logind_dir = self.logind_dir.clone();
        options.shares.mountinfo = self.mountinfo.clone();
        options.shares.all_mount_namespaces = self.all_mount_namespaces;
        options.now = self.now;
        options
    }
}

pub(crate) fn run(args: SnapshotArgs, global: &GlobalOpts) -> anyhow::Result<ExitCode> {
    let snap = snapshot::collect(&args.options());
    match &args.output {
        Some(path) => write_atomically(path, |out| render(out, &snap, args.format, false))?,
        None => {
            let stdout = io::stdout();
            let color = global.color.enabled(io::IsTerminal::is_terminal(&stdout));
            let mut out = io::BufWriter::new(stdout.lock());
            render(&mut out, &snap, args.format, color)?;
            out.flush()?;
        }
    }
    warn(global, &snap.warnings, snap.partial);
    Ok(ExitCode::SUCCESS)
}

/// Writes into a temporary file in the destination's directory and renames it over the
/// destination, so a reader (or an interrupted run) never sees half a document.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut io::BufWriter<&std::fs::File>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let temp = tempfile::Builder::new()
        .prefix(".sockhunt-snapshot-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    {
        let mut out = io::BufWriter::new(temp.as_file());
        write(&mut out)?;
        out.flush()
            .with_context(|| format!("writing {}", temp.path().display()))?;
    }
    temp.as_file()
        .sync_all()
        .with_context(|| format!("syncing {}", temp.path().display()))?;
    temp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn render(
    out: &mut impl Write,
    snap: &Snapshot,
    format: Format,
    color: bool,
) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, snap)?;
            writeln!(out)?;
        }
        Format::Jsonl => write_jsonl(out, &records(snap))?,
        Format::Csv => write_csv(out, &records(snap))?,
        Format::Table => write_table(out, snap, color)?,
    }
    Ok(())
}

fn records(snap: &Snapshot) -> Vec<(&'static str, serde_json::Value)> {
    let mut out = Vec::new();
    push_records(
        &mut out,
        "host",
        std::slice::from_ref(&HostRecord::from(snap)),
    );
    push_records(&mut out, "interface", &snap.host.interfaces);
    if let Some(conns) = &snap.connections {
        push_records(&mut out, "socket", &conns.sockets);
    }
    push_records(&mut out, "login", &snap.sessions.logins);
    push_records(&mut out, "inbound", &snap.sessions.inbound);
    if let Some(history) = &snap.sessions.history {
        push_records(&mut out, "history", history);
    }
    push_records(&mut out, "share", &snap.shares.shares);
    let warnings: Vec<WarningRecord<'_>> = snap
        .warnings
        .iter()
        .map(|w| WarningRecord { message: w })
        .collect();
    push_records(&mut out, "warning", &warnings);
    out
}

#[derive(serde::Serialize)]
struct WarningRecord<'a> {
    message: &'a str,
}

/// The scalar host facts as one flat record (the interfaces get records of their own).
#[derive(serde::Serialize)]
struct HostRecord<'a> {
    hostname: &'a Option<String>,
    kernel: Option<String>,
    os: &'a Option<String>,
    machine_id: &'a Option<String>,
    boot_id: &'a Option<String>,
    boot_time: &'a Option<Timestamp>,
    time: Timestamp,
    partial: bool,
}

impl<'a> From<&'a Snapshot> for HostRecord<'a> {
    fn from(s: &'a Snapshot) -> Self {
        HostRecord {
            hostname: &s.host.hostname,
            kernel: s
                .host
                .kernel
                .as_ref()
                .map(|k| format!("{} {} {}", k.sysname, k.release, k.machine)),
            os: &s.host.os,
            machine_id: &s.host.machine_id,
            boot_id: &s.host.boot_id,
            boot_time: &s.host.boot_time,
            time: s.host.time,
            partial: s.partial,
        }
    }
}

fn write_table(out: &mut impl Write, snap: &Snapshot, color: bool) -> anyhow::Result<()> {
    let host = HostRecord::from(snap);
    let mut table = new_table(&["FACT", "VALUE"], color);
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    add_row(&mut table, vec!["hostname".into(), dash(host.hostname)]);
    add_row(&mut table, vec!["kernel".into(), dash(&host.kernel)]);
    add_row(&mut table, vec!["os".into(), dash(host.os)]);
    add_row(&mut table, vec!["boot id".into(), dash(host.boot_id)]);
    add_row(
        &mut table,
        vec!["booted (UTC)".into(), super::sessions::when(host.boot_time)],
    );
    add_row(&mut table, vec!["time (UTC)".into(), host.time.to_string()]);
    let sockets = snap
        .connections
        .as_ref()
        .map_or("not collected".to_string(), |c| c.sockets.len().to_string());
    add_row(&mut table, vec!["sockets".into(), sockets]);
    add_row(
        &mut table,
        vec!["logins".into(), snap.sessions.logins.len().to_string()],
    );
    add_row(
        &mut table,
        vec![
            "inbound sessions".into(),
            snap.sessions.inbound.len().to_string(),
        ],
    );
    add_row(
        &mut table,
        vec![
            "network shares".into(),
            snap.shares.shares.len().to_string(),
        ],
    );
    add_row(&mut table, vec!["partial".into(), snap.partial.to_string()]);
    print_table(out, &table)?;

    section(out, "Interfaces", color)?;
    let mut table = new_table(&["INTERFACE", "FLAGS", "MAC", "ADDRESSES"], color);
    for iface in &snap.host.interfaces {
        let addrs: Vec<String> = iface
            .addresses
            .iter()
            .map(|a| match a.prefix_len {
                Some(len) => format!("{}/{len}", a.address),
                None => a.address.to_string(),
            })
            .collect();
        add_row(
            &mut table,
            vec![
                iface.name.clone(),
                iface.flags.join(","),
                super::sessions::opt(&iface.mac),
                addrs.join(" "),
            ],
        );
    }
    print_table(out, &table)?;

    section(out, "Sessions", color)?;
    let view = super::sessions::TableView {
        all: false,
        inbound: true,
        netns: true,
    };
    super::sessions::write_table(out, &snap.sessions, view, color)?;

    section(out, "Network shares", color)?;
    super::shares::write_table(out, &snap.shares, color)?;
    Ok(())
}
