//! VMware ESXi logs: `shell.log` (every command typed in the ESXi Shell or over SSH) and
//! `hostd.log` (the host agent: API tasks, logins), as files on the host or forwarded by
//! syslog.
//!
//! - `shell.log` lines, `2024-01-01T00:00:00Z shell[123]: [root]: esxcli network ip
//!   connection list` (ESXi 7+ adds a level such as `In(14)` after the time), become
//!   `{product: esxi, service: shell}` with `command`, `User`, `Session` (the shell's
//!   process id) and `Device` (the host, when forwarded); lines without a command (session
//!   start and end) keep `Message`.
//! - `hostd.log` lines become `{product: esxi, service: hostd}` with `User` (the
//!   `user=` of the log context, or the user of a login event), `SourceIp` (logins),
//!   `OperationId`, `Component` (`sub=`), `Task` and `Method` (`Task Created :
//!   haTask-ha-host-vim.host.NetworkSystem.queryNetworkHint-123` gives the method
//!   `vim.host.NetworkSystem.queryNetworkHint`) and `Message`.
//!
//! Other lines are counted as skipped.

use std::ops::ControlFlow;

use jiff::Timestamp;

use crate::error::FileError;
use crate::event::{Event, Fields, LogSource, Original};
use crate::readers::lines::{for_each_text_line, head_lines};
use crate::readers::{Input, ReadOptions, ReadStats};
use crate::sink::EventSink;

/// Commands typed in the ESXi Shell.
pub const ESXI_SHELL: LogSource = LogSource::new(Some("esxi"), None, Some("shell"));
/// The ESXi host agent.
pub const ESXI_HOSTD: LogSource = LogSource::new(Some("esxi"), None, Some("hostd"));

/// Whether the first bytes look like this format.
pub fn sniff(head: &[u8]) -> bool {
    head_lines(head, 10).any(|line| split(&String::from_utf8_lossy(line)).is_some())
}

struct Parts<'a> {
    time: Option<Timestamp>,
    host: Option<&'a str>,
    program: &'a str,
    pid: &'a str,
    message: &'a str,
}

/// Splits `[<pri>]TIME [LEVEL] [HOST] prog[pid][:] message`.
fn split(line: &str) -> Option<Parts<'_>> {
    let mut rest = line.trim_start();
    if rest.starts_with('<') {
        rest = &rest[rest.find('>')? + 1..];
    }
    let (time_word, after) = rest.split_once(' ')?;
    if time_word.len() < 19 || time_word.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    let time = time_word.parse::<Timestamp>().ok();
    let mut rest = after.trim_start();
    let mut host = None;
    for _ in 0..3 {
        let (word, after) = rest.split_once(' ').unwrap_or((rest, ""));
        let word_clean = word.trim_end_matches(':');
        if let Some(open) = word_clean.find('[') {
            let program = &word_clean[..open];
            if matches!(program, "shell" | "hostd" | "Hostd") {
                let pid = word_clean[open + 1..].trim_end_matches(']');
                return Some(Parts {
                    time,
                    host,
                    program,
                    pid,
                    message: after.trim_start(),
                });
            }
        }
        // A level (`In(14)`, `info`, `verbose`) or the forwarding host.
        let is_level = word.ends_with(')')
            || matches!(word, "info" | "verbose" | "warning" | "error" | "debug");
        if !is_level {
            host = Some(word);
        }
        rest = after.trim_start();
        if rest.is_empty() {
            break;
        }
    }
    None
}

/// Streams the input's events into the sink.
pub fn read(
    input: &mut Input,
    options: &ReadOptions,
    sink: &mut dyn EventSink,
    stats: &mut ReadStats,
) -> Result<(), FileError> {
    for_each_text_line(
        input,
        options,
        sink,
        stats,
        &mut |bytes, at, sink, stats| {
            let text = String::from_utf8_lossy(bytes);
            let Some(parts) = split(&text) else {
                stats.skipped += 1;
                return ControlFlow::Continue(());
            };
            let logsource = if parts.program == "shell" {
                ESXI_SHELL
            } else {
                ESXI_HOSTD
            };
            if !options.interest.wants(&logsource) {
                stats.skipped += 1;
                return ControlFlow::Continue(());
            }
            let mut event = Event::new(logsource, at);
            event.time = parts.time;
            event.host = parts.host.map(str::to_owned);
            let mut f = Fields::with_capacity(8);
            if let Some(host) = parts.host {
                f.set("Device", host);
            }
            if parts.program == "shell" {
                shell(&parts, &mut f);
            } else {
                hostd(&parts, &mut f);
            }
            event.fields = f;
            if options.keep_original {
                event.original = Some(Original::Text(text.into_owned()));
            }
            stats.events += 1;
            sink.event(event)
        },
    )
}

fn shell(parts: &Parts<'_>, f: &mut Fields) {
    f.set_nonempty("Session", parts.pid);
    // `[root]: esxcli network ip connection list`
    let message = parts.message;
    if let Some(rest) = message.strip_prefix('[') {
        if let Some((user, command)) = rest.split_once("]: ") {
            f.set_nonempty("User", user);
            f.set_nonempty("command", command.trim());
            return;
        }
    }
    f.set_nonempty("Message", message);
}

fn hostd(parts: &Parts<'_>, f: &mut Fields) {
    let mut message = parts.message;
    // `[Originator@6876 sub=Vimsvc.TaskManager opID=abc user=root] Task Created : ...`
    if let Some(rest) = message.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            for item in rest[..end].split_ascii_whitespace() {
                match item.split_once('=') {
                    Some(("sub", v)) => f.set_nonempty("Component", v),
                    Some(("opID", v)) => f.set_nonempty("OperationId", v),
                    Some(("user", v)) => f.set_nonempty("User", v),
                    _ => {}
                }
            }
            message = rest[end + 1..].trim_start();
        }
    }
    f.set_nonempty("Message", message);
    if let Some(task) = message.strip_prefix("Task Created : ") {
        let task = task.trim();
        f.set_nonempty("Task", task);
        // haTask-<moref>-<vim.Type.method>-<n>
        if let Some(at) = task.find("-vim.") {
            let method = &task[at + 1..];
            let method = method.rsplit_once('-').map_or(method, |(m, _)| m);
            f.set_nonempty("Method", method);
        }
    }
    // `Event 123 : User root@10.0.0.5 logged in as VMware-client/6.5.0`
    if let Some(at) = message.find(" : User ") {
        let rest = &message[at + 8..];
        if let Some((who, _)) = rest.split_once(' ') {
            match who.rsplit_once('@') {
                Some((user, ip)) if ip.parse::<std::net::IpAddr>().is_ok() => {
                    f.set_nonempty("User", user);
                    f.set_nonempty("SourceIp", ip);
                }
                _ => f.set_nonempty("User", who),
            }
        }
    }
}
