//! Running one procedure in a child process: clean environment, own process group,
//! optional other user, killed at its timeout.

use std::io::Read;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use crate::model::{Command, Executor, Procedure};

/// The environment every child gets: nothing inherited, so a procedure behaves the same
/// from any shell and cannot pick up the caller's secrets.
const CLEAN_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Who the child runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// What running a command did.
#[derive(Debug, Clone)]
pub struct Executed {
    /// The child's pid (the root of the procedure's process tree).
    pub pid: u32,
    /// When it was started.
    pub started: Instant,
    /// Its exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Whether it was killed at its timeout.
    pub timed_out: bool,
    /// The last bytes of its standard output and error, for the report.
    pub output_tail: String,
}

/// A command that could not be started.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ExecError(String);

/// The argv for a script under an executor.
pub fn argv(executor: Executor, command: &Command) -> Result<Vec<String>, ExecError> {
    Ok(match (executor, command) {
        (Executor::Sh, Command::Script(s)) => vec!["/bin/sh".into(), "-c".into(), s.clone()],
        (Executor::Bash, Command::Script(s)) => vec!["bash".into(), "-c".into(), s.clone()],
        (Executor::Python3, Command::Script(s)) => vec!["python3".into(), "-c".into(), s.clone()],
        (Executor::Argv, Command::Argv(v)) => v.clone(),
        _ => {
            return Err(ExecError(
                "the executor does not fit the command's shape".into(),
            ))
        }
    })
}

/// Runs a procedure's command.
pub fn run_procedure(procedure: &Procedure, run_as: Option<RunAs>) -> Result<Executed, ExecError> {
    let command = procedure
        .command
        .as_ref()
        .ok_or_else(|| ExecError(format!("procedure `{}` has no command", procedure.id)))?;
    let argv = argv(procedure.executor.unwrap_or(Executor::Sh), command)?;
    run_argv(&argv, Duration::from_secs(procedure.timeout), run_as)
}

/// Runs a shell snippet (prerequisites, cleanup) with `/bin/sh -c`.
pub fn run_shell(
    script: &str,
    timeout: Duration,
    run_as: Option<RunAs>,
) -> Result<Executed, ExecError> {
    run_argv(
        &["/bin/sh".into(), "-c".into(), script.to_owned()],
        timeout,
        run_as,
    )
}

/// Runs an argv with a clean environment in its own process group, killing the group
/// at the timeout.
pub fn run_argv(
    argv: &[String],
    timeout: Duration,
    run_as: Option<RunAs>,
) -> Result<Executed, ExecError> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| ExecError("empty argv".into()))?;
    let mut cmd = StdCommand::new(program);
    cmd.args(args)
        .env_clear()
        .env("PATH", CLEAN_PATH)
        .env("LANG", "C.UTF-8")
        .env("HOME", "/tmp")
        .current_dir("/tmp")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        if let Some(who) = run_as {
            cmd.gid(who.gid).uid(who.uid);
        }
    }
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| ExecError(format!("cannot start `{program}`: {e}")))?;
    let pid = child.id();
    // Drain the pipes on their own threads so a chatty child never blocks on a full pipe.
    let stdout = child.stdout.take().map(spawn_tail);
    let stderr = child.stderr.take().map(spawn_tail);
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() >= timeout => {
                timed_out = true;
                kill_group(pid);
                break child.wait().ok();
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(ExecError(format!("waiting for `{program}`: {e}"))),
        }
    };
    // Anything the procedure left running in its group goes with it.
    kill_group(pid);
    let mut output_tail = String::new();
    for handle in [stdout, stderr].into_iter().flatten() {
        if let Ok(text) = handle.join() {
            output_tail.push_str(&text);
        }
    }
    Ok(Executed {
        pid,
        started,
        code: status.and_then(|s| s.code()),
        timed_out,
        output_tail,
    })
}

fn spawn_tail<R: Read + Send + 'static>(mut reader: R) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        const KEEP: usize = 2048;
        let mut tail: Vec<u8> = Vec::new();
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            tail.extend_from_slice(&buf[..n]);
            if tail.len() > 2 * KEEP {
                tail.drain(..tail.len() - KEEP);
            }
        }
        if tail.len() > KEEP {
            tail.drain(..tail.len() - KEEP);
        }
        String::from_utf8_lossy(&tail).into_owned()
    })
}

#[cfg(unix)]
fn kill_group(pid: u32) {
    use nix::sys::signal::{killpg, Signal};
    use nix::unistd::Pid;
    if let Ok(raw) = i32::try_from(pid) {
        let _ = killpg(Pid::from_raw(raw), Signal::SIGKILL);
    }
}

#[cfg(not(unix))]
fn kill_group(_pid: u32) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_runs_with_a_clean_environment() {
        std::env::set_var("SOCKHUNT_SECRET_FOR_TEST", "1");
        let out = run_shell(
            "echo ${SOCKHUNT_SECRET_FOR_TEST:-clean}; echo $PATH",
            Duration::from_secs(5),
            None,
        )
        .expect("runs");
        assert_eq!(out.code, Some(0));
        assert!(
            out.output_tail.starts_with("clean\n"),
            "{}",
            out.output_tail
        );
        assert!(!out.timed_out);
    }

    #[test]
    fn a_child_is_killed_at_its_timeout() {
        let started = Instant::now();
        let out = run_shell("sleep 30", Duration::from_millis(200), None).expect("runs");
        assert!(out.timed_out);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
