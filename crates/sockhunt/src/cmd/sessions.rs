//! `sockhunt sessions`: who is logged in (`who -a`, `w`), the login history (`last`),
//! and inbound remote sessions (`net session`).
//!
//! Also home of the small rendering layer `shares` and `snapshot` share: the output
//! format flag, aligned tables with escaped cells, and JSON Lines and CSV rows flattened
//! from the same serialised records the JSON document holds.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use comfy_table::Table;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};
use sockhunt_host::sessions::{
    self, HistoryEntry, InboundSession, Login, SessionsOptions, SessionsReport,
};

use crate::cli::GlobalOpts;
use crate::escape;

/// Flags of `sockhunt sessions`.
#[derive(Debug, Args)]
pub(crate) struct SessionsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,

    /// Add the login history from wtmp, as `last` shows it.
    #[arg(long)]
    pub(crate) history: bool,

    /// Also list every utmp record (boot, run level, getty, dead sessions), as `who -a`.
    #[arg(short = 'a', long)]
    pub(crate) all: bool,

    /// Do not look for inbound remote sessions (established connections to local
    /// listeners).
    #[arg(long)]
    pub(crate) no_inbound: bool,

    /// Look for inbound sessions in every network namespace (containers), not only the
    /// current one.
    #[arg(long)]
    pub(crate) all_netns: bool,

    /// Read this utmp file instead of /run/utmp (a copy taken from another host).
    #[arg(long, value_name = "FILE")]
    pub(crate) utmp: Option<PathBuf>,

    /// Read this wtmp file instead of /var/log/wtmp (implies --history).
    #[arg(long, value_name = "FILE")]
    pub(crate) wtmp: Option<PathBuf>,

    /// Read logind session files from this directory instead of /run/systemd/sessions.
    #[arg(long, value_name = "DIR")]
    pub(crate) logind_dir: Option<PathBuf>,

    /// Where wtmpdb's database is looked for.
    #[arg(long, value_name = "FILE", hide = true)]
    pub(crate) wtmpdb: Option<PathBuf>,

    /// A proc file system other than /proc (a fixture tree).
    #[arg(long, value_name = "DIR", hide = true)]
    pub(crate) proc_root: Option<PathBuf>,

    /// A device directory other than /dev, for terminal idle times.
    #[arg(long, value_name = "DIR", hide = true)]
    pub(crate) dev_root: Option<PathBuf>,

    /// Pretend the collection runs at this time (RFC 3339), for reproducible output.
    #[arg(long, value_name = "TIME", hide = true)]
    pub(crate) now: Option<Timestamp>,
}

impl SessionsArgs {
    pub(crate) fn options(&self) -> SessionsOptions {
        SessionsOptions {
            logind_dir: self.logind_dir.clone(),
            utmp: self.utmp.clone(),
            wtmp: self.wtmp.clone(),
            history: self.history || self.wtmp.is_some(),
            inbound: !self.no_inbound,
            all_netns: self.all_netns,
            proc_root: self.proc_root.clone(),
            dev_root: self.dev_root.clone(),
            wtmpdb: self.wtmpdb.clone(),
            now: self.now,
        }
    }
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns (control characters escaped; colour only on a terminal).
    Table,
    /// One JSON document.
    Json,
    /// One JSON object per line, each with a `record` field naming its kind.
    Jsonl,
    /// Comma-separated values with a header, one row per record.
    Csv,
}

pub(crate) fn run(args: SessionsArgs, global: &GlobalOpts) -> anyhow::Result<ExitCode> {
    let report = sessions::collect(&args.options());
    let stdout = io::stdout();
    let color = global.color.enabled(io::IsTerminal::is_terminal(&stdout));
    let mut out = io::BufWriter::new(stdout.lock());
    match args.format {
        Format::Table => {
            let view = TableView {
                all: args.all,
                inbound: !args.no_inbound,
                netns: args.all_netns,
            };
            write_table(&mut out, &report, view, color)?;
        }
        Format::Json => write_json(&mut out, &report)?,
        Format::Jsonl => write_jsonl(&mut out, &records(&report, &args))?,
        Format::Csv => write_csv(&mut out, &records(&report, &args))?,
    }
    out.flush()?;
    warn(global, &report.warnings, report.partial);
    Ok(ExitCode::SUCCESS)
}

/// Warnings go to standard error in every format (the JSON document also carries them).
pub(crate) fn warn(global: &GlobalOpts, warnings: &[String], partial: bool) {
    if global.quiet {
        return;
    }
    let mut err = io::stderr().lock();
    for warning in warnings {
        let _ = writeln!(err, "sockhunt: warning: {}", escape::terminal(warning));
    }
    if partial {
        let _ = writeln!(
            err,
            "sockhunt: warning: results are partial (see the warnings above)"
        );
    }
}

fn records(report: &SessionsReport, args: &SessionsArgs) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    push_records(&mut out, "login", &report.logins);
    if args.all {
        push_records(&mut out, "utmp", &report.utmp_records);
    }
    push_records(&mut out, "inbound", &report.inbound);
    if let Some(history) = &report.history {
        push_records(&mut out, "history", history);
    }
    out
}

pub(crate) fn push_records<T: Serialize>(
    out: &mut Vec<(&'static str, Value)>,
    kind: &'static str,
    items: &[T],
) {
    for item in items {
        out.push((kind, serde_json::to_value(item).unwrap_or(Value::Null)));
    }
}

pub(crate) fn write_json<T: Serialize>(out: &mut impl Write, value: &T) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

fn with_kind(kind: &str, value: &Value) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("record".into(), Value::String(kind.into()));
    if let Value::Object(fields) = value {
        for (k, v) in fields {
            object.insert(k.clone(), v.clone());
        }
    }
    object
}

pub(crate) fn write_jsonl(
    out: &mut impl Write,
    records: &[(&'static str, Value)],
) -> anyhow::Result<()> {
    for (kind, value) in records {
        serde_json::to_writer(&mut *out, &with_kind(kind, value))?;
        writeln!(out)?;
    }
    Ok(())
}

/// One header for every record kind: the union of their fields in first-seen order, so a
/// spreadsheet gets one sheet and an empty cell where a kind has no such field.
pub(crate) fn write_csv(
    out: &mut impl Write,
    records: &[(&'static str, Value)],
) -> anyhow::Result<()> {
    let rows: Vec<Map<String, Value>> = records.iter().map(|(k, v)| with_kind(k, v)).collect();
    let mut header: Vec<String> = vec!["record".into()];
    for row in &rows {
        for key in row.keys() {
            if !header.contains(key) {
                header.push(key.clone());
            }
        }
    }
    let mut writer = csv::Writer::from_writer(&mut *out);
    writer.write_record(&header)?;
    for row in &rows {
        writer.write_record(header.iter().map(|key| csv_cell(row.get(key))))?;
    }
    writer.flush()?;
    Ok(())
}

fn csv_cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        // Lists of names (sources, flags, options) read better as `a;b` in a spreadsheet;
        // lists of objects stay JSON.
        Some(Value::Array(items)) if items.iter().all(|i| !i.is_object() && !i.is_array()) => items
            .iter()
            .map(|i| csv_cell(Some(i)))
            .collect::<Vec<_>>()
            .join(";"),
        Some(other) => other.to_string(),
    }
}

pub(crate) use crate::output::{new_table, print_table};

/// [`crate::output::add_row`] for rows built as owned strings.
pub(crate) fn add_row(table: &mut Table, cells: Vec<String>) {
    let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
    crate::output::add_row(table, &cells);
}

pub(crate) fn section(out: &mut impl Write, title: &str, color: bool) -> io::Result<()> {
    if color {
        writeln!(out, "\n\x1b[1m{title}\x1b[0m")
    } else {
        writeln!(out, "\n{title}")
    }
}

pub(crate) fn opt<T: ToString>(value: &Option<T>) -> String {
    value
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| "-".into())
}

/// Minutes precision, UTC, sortable.
pub(crate) fn when(time: &Option<Timestamp>) -> String {
    time.map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".into())
}

/// `w`'s IDLE format: seconds, then minutes:seconds, hours:minutes, then days.
fn idle(seconds: Option<u64>) -> String {
    match seconds {
        None => "-".into(),
        Some(s) if s < 60 => format!("{s}s"),
        Some(s) if s < 3600 => format!("{}:{:02}", s / 60, s % 60),
        Some(s) if s < 86_400 => format!("{}:{:02}m", s / 3600, (s % 3600) / 60),
        Some(s) => format!("{}days", s / 86_400),
    }
}

/// `w`'s CPU format: seconds with two decimals below a minute, then minutes:seconds.
fn cpu(seconds: Option<f64>) -> String {
    match seconds {
        None => "-".into(),
        Some(s) if s < 60.0 => format!("{s:.2}s"),
        Some(s) => {
            let whole = s as u64;
            format!("{}:{:02}", whole / 60, whole % 60)
        }
    }
}

fn login_row(l: &Login) -> Vec<String> {
    vec![
        l.user.clone(),
        opt(&l.tty),
        l.from
            .clone()
            .or_else(|| l.from_addr.map(|a| a.to_string()))
            .unwrap_or_else(|| "-".into()),
        when(&l.login_time),
        idle(l.idle_seconds),
        cpu(l.jcpu_seconds),
        cpu(l.pcpu_seconds),
        opt(&l.what),
        opt(&l.service),
        l.sources.join("+"),
    ]
}

pub(crate) fn processes(list: &[sessions::ProcessRef]) -> String {
    if list.is_empty() {
        return "-".into();
    }
    list.iter()
        .map(|p| format!("{}[{}]", p.name, p.pid))
        .collect::<Vec<_>>()
        .join(",")
}

fn endpoint(addr: std::net::IpAddr, port: u16) -> String {
    match addr {
        std::net::IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        v4 => format!("{v4}:{port}"),
    }
}

fn inbound_row(s: &InboundSession) -> Vec<String> {
    vec![
        s.service.clone().unwrap_or_else(|| "-".into()),
        endpoint(s.local_addr, s.local_port),
        endpoint(s.remote_addr, s.remote_port),
        s.user
            .clone()
            .or_else(|| s.uid.map(|u| u.to_string()))
            .unwrap_or_else(|| "-".into()),
        processes(&s.processes),
    ]
}

fn history_row(h: &HistoryEntry) -> Vec<String> {
    let ended = match h.ended_by {
        Some(sessions::SessionEnd::StillLoggedIn) => "still logged in".to_string(),
        Some(sessions::SessionEnd::Logout) => when(&h.end),
        Some(sessions::SessionEnd::Crash) => format!("crash {}", when(&h.end)),
        Some(sessions::SessionEnd::Down) => format!("down {}", when(&h.end)),
        Some(sessions::SessionEnd::Gone) => "gone - no logout".to_string(),
        None => "-".into(),
    };
    vec![
        dash(&h.user),
        dash(&h.tty),
        dash(&h.from),
        when(&h.start),
        ended,
    ]
}

/// An empty field shows as `-`, so columns stay readable and a blank is never ambiguous.
pub(crate) fn dash(text: &str) -> String {
    if text.is_empty() {
        "-".into()
    } else {
        text.to_string()
    }
}

/// Which optional sections the table view shows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TableView {
    /// Every utmp record (`-a`).
    pub(crate) all: bool,
    /// Inbound remote sessions.
    pub(crate) inbound: bool,
    /// A namespace column for inbound sessions.
    pub(crate) netns: bool,
}

pub(crate) fn write_table(
    out: &mut impl Write,
    report: &SessionsReport,
    view: TableView,
    color: bool,
) -> anyhow::Result<()> {
    let mut table = new_table(
        &[
            "USER",
            "TTY",
            "FROM",
            "LOGIN@ (UTC)",
            "IDLE",
            "JCPU",
            "PCPU",
            "WHAT",
            "SERVICE",
            "SOURCE",
        ],
        color,
    );
    // systemd 256+ opens a `manager` session for every user's service manager: not a
    // login, and it would list every user twice. `-a` and the data formats keep them.
    let mut managers = 0usize;
    for login in &report.logins {
        if !view.all
            && login
                .class
                .as_deref()
                .is_some_and(|c| c.starts_with("manager"))
        {
            managers += 1;
            continue;
        }
        add_row(&mut table, login_row(login));
    }
    print_table(out, &table)?;
    if managers > 0 {
        writeln!(
            out,
            "({managers} user-manager session(s) not shown; -a shows them)"
        )?;
    }

    if view.all {
        section(out, "utmp records (who -a)", color)?;
        let mut table = new_table(
            &[
                "TYPE",
                "TIME (UTC)",
                "USER",
                "LINE",
                "ID",
                "HOST",
                "PID",
                "EXIT",
            ],
            color,
        );
        for r in &report.utmp_records {
            add_row(
                &mut table,
                vec![
                    r.kind.clone(),
                    when(&r.time),
                    dash(&r.user),
                    dash(&r.line),
                    dash(&r.id),
                    dash(&r.host),
                    r.pid.to_string(),
                    r.exit_status.to_string(),
                ],
            );
        }
        print_table(out, &table)?;
    }

    if view.inbound {
        section(out, "Inbound remote sessions", color)?;
        let mut header = vec!["SERVICE", "LOCAL", "REMOTE", "USER", "PROCESS"];
        if view.netns {
            header.push("NETNS");
        }
        let mut table = new_table(&header, color);
        for s in &report.inbound {
            let mut row = inbound_row(s);
            if view.netns {
                row.push(
                    s.netns_name
                        .clone()
                        .or_else(|| s.netns.map(|n| n.to_string()))
                        .unwrap_or_else(|| "-".into()),
                );
            }
            add_row(&mut table, row);
        }
        print_table(out, &table)?;
    }

    if let Some(history) = &report.history {
        section(out, "Login history (wtmp)", color)?;
        let mut table = new_table(&["USER", "TTY", "FROM", "START (UTC)", "END"], color);
        for h in history {
            add_row(&mut table, history_row(h));
        }
        print_table(out, &table)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn w_time_formats() {
        assert_eq!(idle(Some(5)), "5s");
        assert_eq!(idle(Some(125)), "2:05");
        assert_eq!(idle(Some(7260)), "2:01m");
        assert_eq!(idle(Some(3 * 86_400)), "3days");
        assert_eq!(cpu(Some(0.5)), "0.50s");
        assert_eq!(cpu(Some(125.0)), "2:05");
    }

    #[test]
    fn csv_header_is_the_union_of_fields() {
        let records = vec![
            ("a", serde_json::json!({"x": 1, "y": "two"})),
            (
                "b",
                serde_json::json!({"y": "three", "z": [1, 2], "w": [{"k": 1}]}),
            ),
        ];
        let mut buf = Vec::new();
        write_csv(&mut buf, &records).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "record,x,y,z,w\na,1,two,,\nb,,three,1;2,\"[{\"\"k\"\":1}]\"\n"
        );
    }
}
