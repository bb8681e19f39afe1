//! The runbook format (`runbooks/*.yml`).
//!
//! ```yaml
//! runbook: linux-t1049
//! description: Linux procedures of T1049 and the benign work that must stay quiet.
//! procedures:
//!   - id: linux-ss-tan
//!     name: ss lists TCP sockets over sock_diag
//!     attack: T1049
//!     platforms: [linux]
//!     executor: sh              # sh | bash | python3 | argv
//!     command: ss -tan          # a string, or a list for `argv`
//!     prerequisites: command -v ss
//!     cleanup: rm -f /tmp/x     # required when changes_system is true
//!     changes_system: false
//!     timeout: 10               # seconds
//!     expect:
//!       rules: [<rule id>]      # each must fire
//!       tags: [attack.t1049]    # some fired rule must carry each tag
//!       not_rules: [<rule id>]  # none of these may fire
//!       quiet: false            # true: nothing at medium or above, no attack.t1049 rule
//!   - id: windows-netstat-sysmon
//!     name: netstat -ano on Windows (Sysmon)
//!     platforms: [windows]
//!     replay:                   # platforms we cannot execute carry recorded events
//!       format: win-json
//!       records: |
//!         {"Event": ...}
//!     expect: {tags: [attack.t1049]}
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A runbook file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runbook {
    /// The runbook's name.
    pub runbook: String,
    /// What it exercises.
    #[serde(default)]
    pub description: Option<String>,
    /// Its procedures, run in order.
    pub procedures: Vec<Procedure>,
    /// The file it was read from (set by the loader).
    #[serde(skip)]
    pub path: PathBuf,
}

/// How a procedure's command is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Executor {
    /// `/bin/sh -c COMMAND`.
    Sh,
    /// `bash -c COMMAND`.
    Bash,
    /// `python3 -c COMMAND`.
    Python3,
    /// The command list is the argv itself, no shell.
    Argv,
}

/// The command: a string for the shells, a list for `argv`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Command {
    /// A script for the executor.
    Script(String),
    /// An argument vector.
    Argv(Vec<String>),
}

/// Recorded events for a platform we cannot execute here, in that platform's log shape.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// A reader format name (`win-json`, `auditd`, `cloudtrail`, `net-device`, `esxi`...).
    pub format: String,
    /// The records, as the source writes them.
    #[serde(default)]
    pub records: Option<String>,
    /// Or a file holding them, relative to the runbook.
    #[serde(default)]
    pub file: Option<PathBuf>,
}

/// What must and must not fire.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Rule ids that must each fire.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Tags that some fired rule must carry (each).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Rule ids that must not fire.
    #[serde(default)]
    pub not_rules: Vec<String>,
    /// A benign procedure: no alert at medium or above and no `attack.t1049` rule.
    #[serde(default)]
    pub quiet: bool,
}

/// One procedure.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    /// Unique id within all loaded runbooks.
    pub id: String,
    /// What it does, for the report.
    pub name: String,
    /// ATT&CK technique id (`T1049`), or `benign`.
    #[serde(default)]
    pub attack: Option<String>,
    /// Platforms it runs on (`linux`, `windows`, `macos`, `esxi`, `network`, `cloud`).
    #[serde(default)]
    pub platforms: Vec<String>,
    /// How the command is run.
    #[serde(default)]
    pub executor: Option<Executor>,
    /// The command.
    #[serde(default)]
    pub command: Option<Command>,
    /// A check run first with the same executor; non-zero exit skips the procedure.
    #[serde(default)]
    pub prerequisites: Option<String>,
    /// Undoes what the command changed; always run after it.
    #[serde(default)]
    pub cleanup: Option<String>,
    /// Whether the command changes the system (then `cleanup` is required).
    #[serde(default)]
    pub changes_system: bool,
    /// Seconds before the child is killed.
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    /// Recorded events instead of a command.
    #[serde(default)]
    pub replay: Option<Replay>,
    /// The expectations.
    #[serde(default)]
    pub expect: Expect,
}

fn default_timeout() -> u64 {
    10
}

/// A runbook that could not be read or is not valid.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct RunbookError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong (YAML errors carry their line and column).
    pub message: String,
}

impl Procedure {
    /// Whether it carries recorded events rather than a command.
    pub fn is_replay(&self) -> bool {
        self.replay.is_some()
    }

    /// Whether it can be executed on the platform sockhunt is running on.
    pub fn runs_here(&self) -> bool {
        !self.is_replay()
            && (self.platforms.is_empty()
                || self
                    .platforms
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(std::env::consts::OS)))
    }

    fn validate(&self) -> Result<(), String> {
        if self.id.trim().is_empty() {
            return Err("a procedure has an empty id".into());
        }
        match (&self.command, &self.replay) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "procedure `{}` has both `command` and `replay`",
                    self.id
                ))
            }
            (None, None) => {
                return Err(format!(
                    "procedure `{}` has neither `command` nor `replay`",
                    self.id
                ))
            }
            _ => {}
        }
        if let Some(replay) = &self.replay {
            if replay.records.is_none() == replay.file.is_none() {
                return Err(format!(
                    "procedure `{}`: replay needs exactly one of `records` and `file`",
                    self.id
                ));
            }
        }
        if let Some(command) = &self.command {
            let executor = self.executor.unwrap_or(Executor::Sh);
            match (executor, command) {
                (Executor::Argv, Command::Script(_)) => {
                    return Err(format!(
                        "procedure `{}`: executor argv needs a list",
                        self.id
                    ))
                }
                (Executor::Argv, Command::Argv(v)) if v.is_empty() => {
                    return Err(format!("procedure `{}`: empty argv", self.id))
                }
                (e, Command::Argv(_)) if e != Executor::Argv => {
                    return Err(format!(
                        "procedure `{}`: a command list needs `executor: argv`",
                        self.id
                    ))
                }
                _ => {}
            }
        }
        if self.changes_system && self.cleanup.is_none() {
            return Err(format!(
                "procedure `{}` changes the system but declares no cleanup: refused",
                self.id
            ));
        }
        if self.timeout == 0 || self.timeout > 600 {
            return Err(format!(
                "procedure `{}`: timeout must be 1..=600 seconds",
                self.id
            ));
        }
        let e = &self.expect;
        if !e.quiet && e.rules.is_empty() && e.tags.is_empty() {
            return Err(format!(
                "procedure `{}` expects nothing: give `rules`, `tags` or `quiet: true`",
                self.id
            ));
        }
        Ok(())
    }
}

/// Parses one runbook from text; `path` names it in errors.
pub fn parse(text: &str, path: &Path) -> Result<Runbook, RunbookError> {
    let mut runbook: Runbook = serde_saphyr::from_str(text).map_err(|e| RunbookError {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    runbook.path = path.to_path_buf();
    for procedure in &runbook.procedures {
        procedure.validate().map_err(|message| RunbookError {
            path: path.to_path_buf(),
            message,
        })?;
    }
    Ok(runbook)
}

/// Loads every `*.yml`/`*.yaml` runbook under the paths given (files or directories).
/// A malformed runbook is returned as an error beside the others, which still load.
/// Duplicate procedure ids across runbooks are errors of the later file.
pub fn load_dir_or_file(paths: &[PathBuf]) -> (Vec<Runbook>, Vec<RunbookError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        collect(path, &mut files, &mut errors);
    }
    files.sort();
    let mut runbooks: Vec<Runbook> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for file in files {
        let text = match fs_err::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                errors.push(RunbookError {
                    path: file,
                    message: e.to_string(),
                });
                continue;
            }
        };
        match parse(&text, &file) {
            Ok(rb) => {
                if let Some(dup) = rb.procedures.iter().find(|p| !seen.insert(p.id.clone())) {
                    errors.push(RunbookError {
                        path: file,
                        message: format!(
                            "procedure id `{}` is already used by another runbook",
                            dup.id
                        ),
                    });
                    continue;
                }
                runbooks.push(rb);
            }
            Err(e) => errors.push(e),
        }
    }
    (runbooks, errors)
}

fn collect(path: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<RunbookError>) {
    if path.is_dir() {
        match fs_err::read_dir(path) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    collect(&entry.path(), files, errors);
                }
            }
            Err(e) => errors.push(RunbookError {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
        }
    } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
        files.push(path.to_path_buf());
    } else if !path.exists() {
        errors.push(RunbookError {
            path: path.to_path_buf(),
            message: "no such file or directory".into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_runbook_parses() {
        let rb = parse(
            "runbook: t\nprocedures:\n  - id: a\n    name: ss\n    executor: sh\n    command: ss -tan\n    expect: {tags: [attack.t1049]}\n",
            Path::new("t.yml"),
        )
        .expect("valid");
        assert_eq!(rb.procedures.len(), 1);
        assert!(rb.procedures[0].runs_here() || std::env::consts::OS != "linux");
    }

    #[test]
    fn changing_the_system_without_cleanup_is_refused() {
        let err = parse(
            "runbook: t\nprocedures:\n  - id: a\n    name: x\n    command: touch /tmp/x\n    changes_system: true\n    expect: {quiet: true}\n",
            Path::new("t.yml"),
        )
        .expect_err("refused");
        assert!(err.message.contains("cleanup"), "{err}");
    }

    #[test]
    fn yaml_errors_name_the_file_and_line() {
        let err =
            parse("runbook: t\nprocedures:\n  - id: [\n", Path::new("bad.yml")).expect_err("bad");
        let text = err.to_string();
        assert!(text.starts_with("bad.yml: "), "{text}");
        assert!(text.contains("line") || text.contains(':'), "{text}");
    }
}
