//! `sockhunt connections` (alias `conns`): every socket with its owning processes, in the
//! current or every network namespace, with the filters users know from `ss`.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use sockhunt_host::connections::{
    self, Address, ConnectionQuery, ConnectionReport, Proto, Protocols, Socket, SocketState,
    SocketType, StateSet,
};

use crate::cli::GlobalOpts;
use crate::escape::terminal;

/// Flags of `sockhunt connections`.
#[derive(Debug, Args)]
#[command(after_help = "\
With no protocol flag every protocol is listed; -4/-6 alone limit the listing to TCP, UDP and raw.
By default only connected sockets are listed, as ss does: add -l for listeners or -a for all.
Sockets come from netlink sock_diag; where it is refused (or SOCKHUNT_PROC_NET=1 is set) the
/proc/net tables are read instead. Warnings name anything that could not be seen.

EXAMPLES:
    sockhunt conns -tlp                        listening TCP sockets and their processes
    sockhunt conns -ta --format jsonl          every TCP socket as JSON lines
    sockhunt conns -t --state established --port 22
    sockhunt conns --all-netns -la             listeners in every network namespace")]
pub(crate) struct ConnectionsArgs {
    /// TCP sockets.
    #[arg(short = 't', long)]
    tcp: bool,
    /// UDP sockets.
    #[arg(short = 'u', long)]
    udp: bool,
    /// Raw sockets.
    #[arg(short = 'w', long)]
    raw: bool,
    /// Unix domain sockets.
    #[arg(short = 'x', long)]
    unix: bool,
    /// Only listening sockets (and unconnected UDP and raw sockets).
    #[arg(short = 'l', long)]
    listening: bool,
    /// Sockets in every state.
    #[arg(short = 'a', long)]
    all: bool,
    /// Only IPv4.
    #[arg(short = '4', long)]
    ipv4: bool,
    /// Only IPv6.
    #[arg(short = '6', long)]
    ipv6: bool,
    /// Only these states (established, syn-sent, syn-recv, fin-wait-1, fin-wait-2,
    /// time-wait, closed, close-wait, last-ack, listening, closing; groups all,
    /// connected, synchronized, bucket). Overrides -l and -a.
    #[arg(long, value_name = "STATE", value_delimiter = ',')]
    state: Vec<String>,
    /// Only sockets with this local or remote port.
    #[arg(long, value_name = "PORT", value_delimiter = ',')]
    port: Vec<u16>,
    /// Only sockets held by this process.
    #[arg(long, value_name = "PID", value_delimiter = ',')]
    pid: Vec<u32>,
    /// Only sockets created by this user (name or uid).
    #[arg(long, value_name = "USER", value_delimiter = ',')]
    user: Vec<String>,
    /// Skip finding the owning processes (faster).
    #[arg(long, conflicts_with = "processes")]
    no_processes: bool,
    /// Show owning processes (the default; accepted for `ss -p` habits).
    #[arg(short = 'p', long)]
    processes: bool,
    /// Numeric output (always the case; accepted for `ss -n` habits).
    #[arg(short = 'n', long)]
    numeric: bool,
    /// Find every owner of shared sockets even with --port or --user (which otherwise stop
    /// the walk of /proc once each of a few sockets has one owner).
    #[arg(long)]
    all_owners: bool,
    /// Every network namespace: each row is tagged with its namespace, name and container.
    #[arg(long)]
    all_netns: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns like `ss`; colour only on a terminal.
    Table,
    /// One JSON array.
    Json,
    /// One JSON object per line, streamed.
    Jsonl,
    /// CSV with a header; several owners are joined with `;`.
    Csv,
}

impl ConnectionsArgs {
    /// Turns the raw flags into the query the collector trusts.
    fn query(&self) -> anyhow::Result<ConnectionQuery> {
        let any_proto = self.tcp || self.udp || self.raw || self.unix;
        let family_only = self.ipv4 || self.ipv6;
        let protocols = if any_proto {
            Protocols {
                tcp: self.tcp,
                udp: self.udp,
                raw: self.raw,
                unix: self.unix,
            }
        } else if family_only {
            Protocols {
                unix: false,
                ..Protocols::ALL
            }
        } else {
            Protocols::ALL
        };
        let states = if !self.state.is_empty() {
            let mut set = StateSet(0);
            for word in &self.state {
                let s = SocketState::parse_set(word)
                    .with_context(|| format!("unknown state {:?} (see --help)", terminal(word)))?;
                set = set.union(s);
            }
            set
        } else if self.all {
            StateSet::ALL
        } else if self.listening {
            StateSet::LISTENING
        } else {
            StateSet::CONNECTED
        };
        let mut uids = Vec::new();
        for u in &self.user {
            let uid = match u.parse::<u32>() {
                Ok(uid) => uid,
                Err(_) => uzers::get_user_by_name(u)
                    .map(|user| user.uid())
                    .with_context(|| format!("unknown user {:?}", terminal(u)))?,
            };
            uids.push(uid);
        }
        Ok(ConnectionQuery {
            protocols,
            ipv4: self.ipv4 || !self.ipv6,
            ipv6: self.ipv6 || !self.ipv4,
            states,
            ports: self.port.clone(),
            pids: self.pid.clone(),
            uids,
            processes: !self.no_processes,
            all_owners: self.all_owners,
            all_netns: self.all_netns,
        })
    }
}

pub(crate) fn run(args: ConnectionsArgs, global: &GlobalOpts) -> anyhow::Result<ExitCode> {
    let query = args.query()?;
    let report = connections::collect(&query).context("cannot list sockets")?;
    let stdout = io::stdout();
    let color = global.color.enabled(stdout.is_terminal());
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    match args.format {
        Format::Table => write_table(&mut out, &report, &query, color)?,
        Format::Json => write_json(&mut out, &report)?,
        Format::Jsonl => write_jsonl(&mut out, &report)?,
        Format::Csv => write_csv(&mut out, &report)?,
    }
    out.flush()?;
    drop(out);
    for note in &report.notes {
        tracing::info!("{}", terminal(note));
    }
    if !global.quiet {
        for w in &report.warnings {
            eprintln!("sockhunt: warning: {}", terminal(w));
        }
        if report.partial {
            eprintln!("sockhunt: warning: results are partial (see the warnings above)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_jsonl(out: &mut impl Write, report: &ConnectionReport) -> anyhow::Result<()> {
    for s in &report.sockets {
        serde_json::to_writer(&mut *out, s)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn write_json(out: &mut impl Write, report: &ConnectionReport) -> anyhow::Result<()> {
    out.write_all(b"[")?;
    for (i, s) in report.sockets.iter().enumerate() {
        out.write_all(if i == 0 { b"\n  " } else { b",\n  " })?;
        serde_json::to_writer(&mut *out, s)?;
    }
    out.write_all(if report.sockets.is_empty() {
        b"]\n"
    } else {
        b"\n]\n"
    })?;
    Ok(())
}

fn write_csv(out: &mut impl Write, report: &ConnectionReport) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "proto",
        "family",
        "socket_type",
        "state",
        "local_addr",
        "local_port",
        "remote_addr",
        "remote_port",
        "peer_inode",
        "recv_q",
        "send_q",
        "inode",
        "uid",
        "netns",
        "netns_name",
        "container_id",
        "pids",
        "comms",
        "users",
        "exes",
        "cmdlines",
        "processes_note",
    ])?;
    let opt = |v: Option<String>| v.unwrap_or_default();
    for s in &report.sockets {
        let join = |f: &dyn Fn(&connections::Process) -> String| {
            s.processes
                .iter()
                .map(|p| f(p))
                .collect::<Vec<_>>()
                .join(";")
        };
        w.write_record([
            s.proto.as_str().to_owned(),
            s.family.as_str().to_owned(),
            s.socket_type.as_str().to_owned(),
            s.state.name().to_owned(),
            opt(s.local_addr.as_ref().map(ToString::to_string)),
            opt(s.local_port.map(|p| p.to_string())),
            opt(s.remote_addr.as_ref().map(ToString::to_string)),
            opt(s.remote_port.map(|p| p.to_string())),
            opt(s.peer_inode.map(|p| p.to_string())),
            s.recv_q.to_string(),
            s.send_q.to_string(),
            s.inode.to_string(),
            opt(s.uid.map(|u| u.to_string())),
            opt(s.netns.map(|n| n.to_string())),
            opt(s.netns_name.as_deref().map(str::to_owned)),
            opt(s.container_id.as_deref().map(str::to_owned)),
            join(&|p| p.pid.to_string()),
            join(&|p| p.comm.clone().unwrap_or_default()),
            join(&|p| p.user.clone().unwrap_or_default()),
            join(&|p| p.exe.clone().unwrap_or_default()),
            join(&|p| p.cmdline.clone().unwrap_or_default()),
            opt(s.processes_note.map(|n| n.as_str().to_owned())),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// `ss`-style short protocol name.
fn netid(s: &Socket) -> &'static str {
    match (s.proto, s.socket_type) {
        (Proto::Unix, SocketType::Stream) => "u_str",
        (Proto::Unix, SocketType::Dgram) => "u_dgr",
        (Proto::Unix, SocketType::Seqpacket) => "u_seq",
        (Proto::Unix, _) => "u_oth",
        (p, _) => p.as_str(),
    }
}

fn endpoint(addr: Option<&Address>, port: Option<u16>) -> String {
    let port = port.map_or_else(
        || "*".to_owned(),
        |p| {
            if p == 0 {
                "*".to_owned()
            } else {
                p.to_string()
            }
        },
    );
    match addr {
        Some(Address::Ip(ip)) if ip.is_unspecified() => format!("*:{port}"),
        Some(Address::Ip(std::net::IpAddr::V6(ip))) => format!("[{ip}]:{port}"),
        Some(Address::Ip(ip)) => format!("{ip}:{port}"),
        Some(Address::Path(p)) => terminal(p).into_owned(),
        None => "*".to_owned(),
    }
}

fn process_cell(s: &Socket) -> String {
    if s.processes.is_empty() {
        return match &s.processes_note {
            Some(note) if s.inode != 0 => {
                let text = note.as_str();
                format!("({})", text.split(':').next().unwrap_or(text))
            }
            _ => String::new(),
        };
    }
    let parts: Vec<String> = s
        .processes
        .iter()
        .map(|p| {
            let comm = p.comm.as_deref().map_or_else(|| "?".into(), terminal);
            let user = p.user.as_deref().map_or_else(|| "?".into(), terminal);
            format!("{comm}(pid={},user={user})", p.pid)
        })
        .collect();
    parts.join(",")
}

fn write_table(
    out: &mut impl Write,
    report: &ConnectionReport,
    query: &ConnectionQuery,
    color: bool,
) -> anyhow::Result<()> {
    let with_ns = query.all_netns;
    let mut header = vec![
        "Netid",
        "State",
        "Recv-Q",
        "Send-Q",
        "Local Address:Port",
        "Peer Address:Port",
    ];
    if with_ns {
        header.push("Netns");
    }
    if query.processes {
        header.push("Process");
    }
    let rows: Vec<Vec<String>> = report
        .sockets
        .iter()
        .map(|s| {
            let (local, peer) = if s.proto == Proto::Unix {
                (
                    format!("{} {}", endpoint(s.local_addr.as_ref(), None), s.inode),
                    format!("* {}", s.peer_inode.unwrap_or(0)),
                )
            } else {
                (
                    endpoint(s.local_addr.as_ref(), s.local_port),
                    endpoint(s.remote_addr.as_ref(), s.remote_port),
                )
            };
            let mut row = vec![
                netid(s).to_owned(),
                s.state.name().to_owned(),
                s.recv_q.to_string(),
                s.send_q.to_string(),
                local,
                peer,
            ];
            if with_ns {
                let mut ns = s.netns.map(|n| n.to_string()).unwrap_or_default();
                if let Some(name) = &s.netns_name {
                    ns.push_str(&format!(" ({})", terminal(name)));
                }
                if let Some(id) = &s.container_id {
                    ns.push_str(&format!(" [{}]", id.get(..12).unwrap_or(id)));
                }
                row.push(ns);
            }
            if query.processes {
                row.push(process_cell(s));
            }
            row
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let last = header.len() - 1;
    let numeric = |i: usize| i == 2 || i == 3;
    let write_row = |out: &mut dyn Write, cells: &[&str], style: Option<&str>| -> io::Result<()> {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            if i > 0 {
                line.push_str("  ");
            }
            if numeric(i) {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                if i != last {
                    line.push_str(&" ".repeat(pad));
                }
            }
        }
        match style {
            Some(code) if color => writeln!(out, "\x1b[{code}m{}\x1b[0m", line.trim_end()),
            _ => writeln!(out, "{}", line.trim_end()),
        }
    };
    write_row(out, &header, Some("1"))?;
    for (row, s) in rows.iter().zip(&report.sockets) {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        let style = match s.state {
            SocketState::LISTEN => Some("32"),
            SocketState::ESTABLISHED => None,
            _ if s.is_listening() => Some("32"),
            _ => Some("2"),
        };
        write_row(out, &cells, style)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_read_like_ss() {
        let ip = |s: &str| Address::Ip(s.parse().unwrap());
        assert_eq!(endpoint(Some(&ip("0.0.0.0")), Some(22)), "*:22");
        assert_eq!(endpoint(Some(&ip("::1")), Some(80)), "[::1]:80");
        assert_eq!(endpoint(Some(&ip("10.0.0.1")), Some(0)), "10.0.0.1:*");
        assert_eq!(
            endpoint(Some(&Address::Path("/tmp/\x1b[2Jx".into())), None),
            "/tmp/\\x1b[2Jx"
        );
    }

    #[test]
    fn hostile_process_names_are_escaped() {
        let mut s = Socket::new(
            Proto::Tcp,
            connections::Family::Inet,
            SocketType::Stream,
            SocketState::LISTEN,
        );
        s.processes = std::sync::Arc::from(vec![std::sync::Arc::new(connections::Process {
            pid: 7,
            comm: Some("evil\u{202e}txt\x1b]0;x".into()),
            exe: None,
            cmdline: None,
            uid: Some(0),
            user: Some("root".into()),
        })]);
        assert_eq!(
            process_cell(&s),
            "evil\\u{202e}txt\\x1b]0;x(pid=7,user=root)"
        );
    }
}
