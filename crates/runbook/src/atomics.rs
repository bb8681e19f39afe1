//! Atomic Red Team interop: a technique's YAML (`atomics/T1049/T1049.yaml`) turned into
//! procedures, so users can point `runbook run --atomics` at their own checkout.
//!
//! Tests for another platform, tests whose dependencies are not met and tests that need
//! a download are not run: each becomes a skip with its reason. Executed tests expect a
//! detection carrying the technique's tag (`attack.t1049`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::{Command, Executor, Expect, Procedure, RunbookError};

#[derive(Debug, Deserialize)]
struct TechniqueFile {
    attack_technique: String,
    #[serde(default)]
    atomic_tests: Vec<AtomicTest>,
}

#[derive(Debug, Deserialize)]
struct AtomicTest {
    name: String,
    #[serde(default)]
    auto_generated_guid: Option<String>,
    #[serde(default)]
    supported_platforms: Vec<String>,
    #[serde(default)]
    input_arguments: BTreeMap<String, InputArgument>,
    #[serde(default)]
    dependencies: Vec<Dependency>,
    executor: AtomicExecutor,
}

#[derive(Debug, Deserialize)]
struct InputArgument {
    #[serde(default)]
    default: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Dependency {
    #[serde(default)]
    prereq_command: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AtomicExecutor {
    name: String,
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    cleanup_command: Option<String>,
    #[serde(default)]
    elevation_required: bool,
}

/// One atomic test, ready to run or already decided to be skipped.
#[derive(Debug, Clone)]
pub struct AtomicProcedure {
    /// The procedure (its `prerequisites` hold the dependency checks, joined).
    pub procedure: Procedure,
    /// Why it will not be run, when known before running anything.
    pub skip: Option<String>,
    /// The technique file it came from.
    pub source: PathBuf,
}

/// Reads every `T*.yaml` technique file under a path (an atomics checkout, a technique
/// folder, or one file).
pub fn load(path: &Path) -> (Vec<AtomicProcedure>, Vec<RunbookError>) {
    let mut files = Vec::new();
    collect(path, &mut files);
    files.sort();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    if files.is_empty() {
        errors.push(RunbookError {
            path: path.to_path_buf(),
            message: "no Atomic Red Team technique YAML (T*.yaml) found".into(),
        });
    }
    for file in files {
        match fs_err::read_to_string(&file) {
            Ok(text) => match parse(&text, &file) {
                Ok(mut procs) => out.append(&mut procs),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(RunbookError {
                path: file,
                message: e.to_string(),
            }),
        }
    }
    (out, errors)
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_dir() {
        if let Ok(entries) = fs_err::read_dir(path) {
            for entry in entries.flatten() {
                collect(&entry.path(), files);
            }
        }
    } else if path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('T') && (n.ends_with(".yaml") || n.ends_with(".yml")))
    {
        files.push(path.to_path_buf());
    }
}

/// Parses one technique file.
pub fn parse(text: &str, path: &Path) -> Result<Vec<AtomicProcedure>, RunbookError> {
    let file: TechniqueFile = serde_saphyr::from_str(text).map_err(|e| RunbookError {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let tag = format!("attack.{}", file.attack_technique.to_ascii_lowercase());
    let here = std::env::consts::OS;
    let mut out = Vec::new();
    for (n, test) in file.atomic_tests.into_iter().enumerate() {
        let id = format!(
            "{}-{}",
            file.attack_technique,
            test.auto_generated_guid
                .as_deref()
                .map_or_else(|| (n + 1).to_string(), |g| g.chars().take(8).collect())
        );
        let args: BTreeMap<String, String> = test
            .input_arguments
            .iter()
            .map(|(k, v)| {
                let value = match &v.default {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                (k.clone(), value)
            })
            .collect();
        let command = test
            .executor
            .command
            .as_deref()
            .map(|c| substitute(c, &args));
        let cleanup = test
            .executor
            .cleanup_command
            .as_deref()
            .map(|c| substitute(c, &args))
            .filter(|c| !c.trim().is_empty());
        let prereqs: Vec<String> = test
            .dependencies
            .iter()
            .filter_map(|d| d.prereq_command.as_deref().map(|c| substitute(c, &args)))
            .collect();
        let executor = match test.executor.name.as_str() {
            "sh" => Some(Executor::Sh),
            "bash" => Some(Executor::Bash),
            _ => None,
        };
        let platform_ok = test
            .supported_platforms
            .iter()
            .any(|p| p.eq_ignore_ascii_case(here));
        let skip = if !platform_ok {
            Some(format!(
                "platform {} (this is {here})",
                test.supported_platforms.join(", ")
            ))
        } else if executor.is_none() {
            Some(format!("executor `{}` cannot run here", test.executor.name))
        } else if command.as_deref().is_none_or(|c| c.trim().is_empty()) {
            Some("the test has no command (manual executor)".into())
        } else if command.as_deref().is_some_and(needs_download) {
            Some("the test needs a download".into())
        } else if test.executor.elevation_required && !is_root() {
            Some("the test needs elevation and sockhunt is not root".into())
        } else {
            None
        };
        let procedure = Procedure {
            id,
            name: test.name,
            attack: Some(file.attack_technique.clone()),
            platforms: test.supported_platforms,
            executor: Some(executor.unwrap_or(Executor::Sh)),
            command: Some(Command::Script(command.unwrap_or_default())),
            prerequisites: if prereqs.is_empty() {
                None
            } else {
                Some(prereqs.join("\n"))
            },
            cleanup,
            changes_system: false,
            timeout: 30,
            replay: None,
            expect: Expect {
                tags: vec![tag.clone()],
                ..Expect::default()
            },
        };
        out.push(AtomicProcedure {
            procedure,
            skip,
            source: path.to_path_buf(),
        });
    }
    Ok(out)
}

/// Replaces `#{name}` with the argument's default.
fn substitute(text: &str, args: &BTreeMap<String, String>) -> String {
    let mut out = text.to_owned();
    for (k, v) in args {
        out = out.replace(&format!("#{{{k}}}"), v);
    }
    out
}

/// Whether a command fetches something from the network: never run here.
fn needs_download(command: &str) -> bool {
    let lower = command.to_ascii_lowercase();
    [
        "curl ",
        "wget ",
        "invoke-webrequest",
        "iwr ",
        "http://",
        "https://",
        "git clone",
        "pip install",
        "apt-get install",
        "apt install",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

#[cfg(unix)]
fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[cfg(not(unix))]
fn is_root() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
attack_technique: T1049
display_name: System Network Connections Discovery
atomic_tests:
- name: Connections on Windows
  auto_generated_guid: 0940a971-809a-48f1-9c4d-b1d785e96ee5
  supported_platforms: [windows]
  executor:
    name: command_prompt
    command: |
      netstat
      net use
- name: Connections on Linux
  auto_generated_guid: 9ae28d3f-190f-4fa0-b023-c7bd3e0eabf2
  supported_platforms: [linux, macos]
  input_arguments:
    flags:
      description: flags
      type: string
      default: -an
  dependencies:
  - description: netstat must be installed
    prereq_command: which netstat
    get_prereq_command: echo "install net-tools"
  executor:
    name: sh
    command: |
      netstat #{flags}
      who -a
- name: Needs a download
  supported_platforms: [linux]
  executor:
    name: bash
    command: curl -O https://example.invalid/tool && ./tool
"#;

    #[test]
    fn atomics_become_procedures_with_skips() {
        let procs = parse(SAMPLE, Path::new("T1049.yaml")).expect("parses");
        assert_eq!(procs.len(), 3);
        assert!(
            procs[0]
                .skip
                .as_deref()
                .is_some_and(|s| s.contains("windows"))
                || std::env::consts::OS == "windows"
        );
        let linux = &procs[1];
        assert!(
            matches!(&linux.procedure.command, Some(Command::Script(s)) if s.contains("netstat -an"))
        );
        assert_eq!(
            linux.procedure.prerequisites.as_deref(),
            Some("which netstat")
        );
        assert_eq!(linux.procedure.expect.tags, vec!["attack.t1049"]);
        if std::env::consts::OS == "linux" {
            assert!(linux.skip.is_none());
            assert_eq!(procs[2].skip.as_deref(), Some("the test needs a download"));
        }
    }
}
