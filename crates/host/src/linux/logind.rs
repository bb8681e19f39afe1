//! systemd-logind's session files in `/run/systemd/sessions/`.
//!
//! logind writes one `KEY=value` file per session, readable without D-Bus and present on
//! distributions that no longer write utmp at all. The files say "do not parse", but they
//! are the only source that survives a system bus an attacker has stopped, and their keys
//! have been stable for a decade. Unknown keys are ignored; a missing key leaves its field
//! empty.

use std::io;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;

/// One logind session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LogindSession {
    /// Session id (the file name).
    pub id: String,
    /// `UID`.
    pub uid: Option<u32>,
    /// `USER`.
    pub user: Option<String>,
    /// `STATE`: online, active or closing.
    pub state: Option<String>,
    /// `ACTIVE=1`.
    pub active: bool,
    /// `REMOTE=1`.
    pub remote: bool,
    /// `TYPE`: tty, x11, wayland, mir or unspecified.
    pub session_type: Option<String>,
    /// `CLASS`: user, greeter, lock-screen, background, manager...
    pub class: Option<String>,
    /// `TTY`, as logind stores it (`/dev/pts/0` or `pts/0`).
    pub tty: Option<String>,
    /// `DISPLAY`.
    pub display: Option<String>,
    /// `REMOTE_HOST`.
    pub remote_host: Option<String>,
    /// `REMOTE_USER`.
    pub remote_user: Option<String>,
    /// `SERVICE`: the PAM service (sshd, login, gdm-password...).
    pub service: Option<String>,
    /// `LEADER`: the session leader process.
    pub leader: Option<i32>,
    /// `SEAT`.
    pub seat: Option<String>,
    /// `SCOPE`: the systemd scope unit.
    pub scope: Option<String>,
    /// `REALTIME`: when the session started.
    pub started: Option<Timestamp>,
}

/// A session file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogindProblem {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

/// Sessions read from a directory, and the files that could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LogindSessions {
    /// Sessions sorted by id.
    pub sessions: Vec<LogindSession>,
    /// Files that could not be read.
    pub problems: Vec<LogindProblem>,
}

/// Reads every session file in `dir`. Only listing the directory can fail as a whole.
///
/// `<id>.ref` entries are FIFOs logind holds to notice a session's end: opening one
/// would block, so only regular files are read.
pub fn read_dir(dir: &Path) -> io::Result<LogindSessions> {
    let mut out = LogindSessions::default();
    for entry in fs_err::read_dir(dir)? {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                out.problems.push(LogindProblem {
                    path: dir.to_path_buf(),
                    message: err.to_string(),
                });
                continue;
            }
        };
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.contains('.') || name.starts_with('.') {
            continue;
        }
        match entry.file_type() {
            Ok(kind) if kind.is_file() => {}
            Ok(_) => continue,
            Err(err) => {
                out.problems.push(LogindProblem {
                    path,
                    message: err.to_string(),
                });
                continue;
            }
        }
        match fs_err::read_to_string(&path) {
            Ok(text) => out.sessions.push(parse(&name, &text)),
            Err(err) => out.problems.push(LogindProblem {
                path,
                message: err.to_string(),
            }),
        }
    }
    out.sessions
        .sort_by(|a, b| natural_id(&a.id).cmp(&natural_id(&b.id)));
    Ok(out)
}

/// Numeric ids sort numerically ("2" before "10"); others ("c1") after them by name.
fn natural_id(id: &str) -> (u8, u64, &str) {
    match id.parse::<u64>() {
        Ok(n) => (0, n, id),
        Err(_) => (1, 0, id),
    }
}

/// Parses the text of one session file.
pub fn parse(id: &str, text: &str) -> LogindSession {
    let mut s = LogindSession {
        id: id.to_string(),
        ..LogindSession::default()
    };
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let text = || (!value.is_empty()).then(|| value.to_string());
        match key {
            "UID" => s.uid = value.parse().ok(),
            "USER" => s.user = text(),
            "STATE" => s.state = text(),
            "ACTIVE" => s.active = value == "1",
            "REMOTE" => s.remote = value == "1",
            "TYPE" => s.session_type = text(),
            "CLASS" => s.class = text(),
            "TTY" => s.tty = text(),
            "DISPLAY" => s.display = text(),
            "REMOTE_HOST" => s.remote_host = text(),
            "REMOTE_USER" => s.remote_user = text(),
            "SERVICE" => s.service = text(),
            "LEADER" => s.leader = value.parse().ok().filter(|pid: &i32| *pid > 0),
            "SEAT" => s.seat = text(),
            "SCOPE" => s.scope = text(),
            "REALTIME" => {
                s.started = value
                    .parse::<i64>()
                    .ok()
                    .and_then(|us| Timestamp::from_microsecond(us).ok())
            }
            _ => {}
        }
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_ssh_session() {
        let text = "# This is private data. Do not parse.\nUID=1000\nUSER=alice\nACTIVE=1\n\
                    STATE=active\nREMOTE=1\nTYPE=tty\nCLASS=user\nSCOPE=session-7.scope\n\
                    TTY=/dev/pts/1\nREMOTE_HOST=198.51.100.4\nSERVICE=sshd\nLEADER=812\n\
                    REALTIME=1700000000123456\nMONOTONIC=99\n";
        let s = parse("7", text);
        assert_eq!(s.uid, Some(1000));
        assert_eq!(s.user.as_deref(), Some("alice"));
        assert!(s.remote && s.active);
        assert_eq!(s.tty.as_deref(), Some("/dev/pts/1"));
        assert_eq!(s.leader, Some(812));
        assert_eq!(s.started.unwrap().as_microsecond(), 1_700_000_000_123_456);
    }

    #[test]
    fn garbage_yields_empty_fields_not_errors() {
        let s = parse(
            "x",
            "UID=notanumber\n\0\0\nLEADER=\nREALTIME=99999999999999999999\n=\n",
        );
        assert_eq!(s.uid, None);
        assert_eq!(s.leader, None);
        assert_eq!(s.started, None);
    }
}
