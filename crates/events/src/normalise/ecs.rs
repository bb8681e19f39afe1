//! Elastic Common Schema documents (Elastic Endpoint / Elastic Defend, Auditbeat and other
//! ECS producers) to Sigma events.
//!
//! # Logsource
//!
//! - product: `host.os.type` (`windows`, `linux`, `macos`); without it `host.os.family`,
//!   `host.os.platform` or `host.os.name`; then `event.module: auditd` (Linux only), then
//!   the shape of `process.executable` (a drive letter or UNC path is Windows).
//! - category, from `event.category` with `event.type` and `event.action`:
//!   - `process` starting (`event.type` contains `start`, or `event.action` is `exec`,
//!     `executed`, `start`, `started`, `process_started`): `process_creation`. A bare
//!     `fork` (Elastic Defend on Linux and macOS) is *not*: the child still runs the
//!     parent's program with the parent's arguments, so it would repeat the parent's
//!     detections; the `exec` that follows is the new program. Ending (`end`):
//!     `process_termination`.
//!   - `network` with `dns.question.name`: `dns_query`; other `network` events:
//!     `network_connection`.
//!   - `file`: created or changed (`creation`, `change`): `file_event`; `deletion`:
//!     `file_delete`; opened (`access`, or the action `open`): `file_access`, the category
//!     the sensor gives its reads of `/proc/net/*`, so the same rules see both.
//!   - anything else: no category (rules naming only the product still see it).
//! - no service: ECS documents have no Sigma service of their own.
//!
//! # Fields
//!
//! Every field of the document is kept under its ECS name, nested objects flattened with
//! dots (`process.parent.executable`, `event.action`), so rules written against ECS names
//! work. The Sigma taxonomy names are added beside them:
//!
//! | Sigma | ECS |
//! |---|---|
//! | `Image` | `process.executable` |
//! | `OriginalFileName` | `process.pe.original_file_name` |
//! | `CommandLine` | `process.command_line`; without it `process.args` joined by spaces (Auditbeat) |
//! | `ParentImage` | `process.parent.executable` |
//! | `ParentCommandLine` | `process.parent.command_line`, or `process.parent.args` joined |
//! | `ProcessId`, `ParentProcessId` | `process.pid`, `process.parent.pid` |
//! | `User` | `user.name`; `user.domain\user.name` on Windows when the domain is known |
//! | `CurrentDirectory` | `process.working_directory` |
//! | `LogonId` | `process.Ext.authentication_id` (Elastic Endpoint), `auditd.session` (Auditbeat) |
//! | `IntegrityLevel` | `process.Ext.token.integrity_level_name`, capitalised as Sysmon writes it |
//! | `Description`, `Product`, `Company` | `process.pe.*` |
//! | `DestinationIp`, `DestinationPort`, `DestinationHostname`, `SourceIp`, `SourcePort`, `Protocol` | `destination.*`, `source.*`, `network.transport` |
//! | `Initiated` | `"true"` for outbound connections (`network.direction` egress/outbound, actions `connection_attempted`, `connected-to`), `"false"` for inbound, as Sysmon writes it |
//! | `QueryName` | `dns.question.name` |
//! | `TargetFilename` | `file.path` |
//!
//! Host: `host.name` (or `host.hostname`). Time: `@timestamp`.

use std::borrow::Cow;

use serde_json::{Map, Value as Json};

use crate::event::{Event, FieldName, Fields, LogSource, Original, Provenance, Value};
use crate::normalise::cloud::{flatten_into, json_time};

/// What one ECS document became.
#[derive(Debug)]
pub enum Outcome {
    /// The event, with a problem worth reporting that did not stop it (an unreadable time).
    Event(Box<Event>, Option<String>),
    /// No loaded rule can match the document.
    Skipped,
}

/// The value at a dotted ECS path, whether the document nests its objects
/// (`{"process":{"executable":..}}`), spells the path as one key (`{"process.executable":..}`)
/// or mixes both.
pub fn lookup<'a>(map: &'a Map<String, Json>, path: &str) -> Option<&'a Json> {
    if let Some(value) = map.get(path) {
        return Some(value);
    }
    for (at, _) in path.match_indices('.') {
        if let Some(Json::Object(inner)) = map.get(&path[..at]) {
            if let Some(value) = lookup(inner, &path[at + 1..]) {
                return Some(value);
            }
        }
    }
    None
}

fn text<'a>(map: &'a Map<String, Json>, path: &str) -> Option<&'a str> {
    lookup(map, path)
        .and_then(Json::as_str)
        .filter(|s| !s.is_empty())
}

/// Whether a keyword field (text or list of text, as ECS allows either) holds `wanted`.
fn has(map: &Map<String, Json>, path: &str, wanted: &[&str]) -> bool {
    let matches = |v: &Json| {
        v.as_str()
            .is_some_and(|s| wanted.iter().any(|w| s.eq_ignore_ascii_case(w)))
    };
    match lookup(map, path) {
        Some(Json::Array(items)) => items.iter().any(matches),
        Some(v) => matches(v),
        None => false,
    }
}

/// Whether a document is a Winlogbeat one, which the Windows JSON reader reads.
pub fn is_winlog(map: &Map<String, Json>) -> bool {
    map.get("winlog").is_some_and(Json::is_object) || map.keys().any(|k| k.starts_with("winlog."))
}

/// Whether a JSON object is an ECS document this module reads: it says what kind of
/// event it is (`event.category`) and carries a process, and is not a Winlogbeat one.
pub fn is_ecs_process_document(map: &Map<String, Json>) -> bool {
    !is_winlog(map)
        && lookup(map, "event.category").is_some()
        && ["process.executable", "process.command_line", "process.args"]
            .iter()
            .any(|p| lookup(map, p).is_some())
}

fn product_of_os_word(word: &str) -> Option<&'static str> {
    let word = word.to_ascii_lowercase();
    Some(match word.as_str() {
        "windows" => "windows",
        "macos" | "darwin" | "mac os x" | "osx" => "macos",
        "linux" | "debian" | "ubuntu" | "redhat" | "rhel" | "centos" | "fedora" | "suse"
        | "opensuse" | "sles" | "arch" | "alpine" | "amazon" | "amzn" | "oracle" | "rocky"
        | "almalinux" => "linux",
        _ if word.starts_with("windows") || word.starts_with("microsoft windows") => "windows",
        _ if word.starts_with("mac") => "macos",
        _ => return None,
    })
}

fn looks_like_windows_path(path: &str) -> bool {
    let b = path.as_bytes();
    (b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\')
        || path.starts_with("\\\\")
}

/// The Sigma product of a document (see the module documentation).
pub fn product(map: &Map<String, Json>) -> Option<&'static str> {
    [
        "host.os.type",
        "host.os.family",
        "host.os.platform",
        "host.os.name",
    ]
    .iter()
    .filter_map(|p| text(map, p))
    .find_map(product_of_os_word)
    .or_else(|| has(map, "event.module", &["auditd"]).then_some("linux"))
    .or_else(|| has(map, "agent.type", &["winlogbeat"]).then_some("windows"))
    .or_else(|| {
        text(map, "process.executable")
            .map(|exe| {
                if looks_like_windows_path(exe) {
                    "windows"
                } else {
                    ""
                }
            })
            .filter(|p| !p.is_empty())
    })
}

/// The Sigma category of a document (see the module documentation).
pub fn category(map: &Map<String, Json>) -> Option<&'static str> {
    if has(map, "event.category", &["process"]) {
        if has(map, "event.action", &["fork"]) {
            return None;
        }
        if has(map, "event.type", &["start"])
            || has(
                map,
                "event.action",
                &["exec", "executed", "start", "started", "process_started"],
            )
        {
            return Some("process_creation");
        }
        if has(map, "event.type", &["end"]) || has(map, "event.action", &["end", "process_stopped"])
        {
            return Some("process_termination");
        }
        return None;
    }
    if has(map, "event.category", &["network"]) {
        if lookup(map, "dns.question.name").is_some() {
            return Some("dns_query");
        }
        return Some("network_connection");
    }
    if has(map, "event.category", &["file"]) {
        if has(map, "event.type", &["deletion"]) || has(map, "event.action", &["deletion"]) {
            return Some("file_delete");
        }
        if has(map, "event.type", &["creation", "change"])
            || has(
                map,
                "event.action",
                &["creation", "modification", "overwrite", "rename"],
            )
        {
            return Some("file_event");
        }
        if has(map, "event.type", &["access"]) || has(map, "event.action", &["open"]) {
            return Some("file_access");
        }
    }
    None
}

/// The logsource of a document.
pub fn logsource(map: &Map<String, Json>) -> LogSource {
    LogSource {
        product: product(map).map(Cow::Borrowed),
        category: category(map).map(Cow::Borrowed),
        service: None,
    }
}

/// Builds the event of one ECS document. Winlogbeat documents are refused (they belong
/// to the Windows JSON reader); objects that are not ECS at all are refused.
pub fn from_ecs(
    map: Map<String, Json>,
    provenance: Provenance,
    interest: &crate::Interest,
    keep_original: bool,
) -> Result<Outcome, String> {
    if is_winlog(&map) {
        return Err(
            "a Winlogbeat document (`winlog.*`): read it with `--format win-json`".to_owned(),
        );
    }
    if lookup(&map, "event").is_none() && lookup(&map, "@timestamp").is_none() {
        return Err("not an ECS document: no `event` and no `@timestamp`".to_owned());
    }
    let logsource = logsource(&map);
    if !interest.wants(&logsource) {
        return Ok(Outcome::Skipped);
    }
    let mut event = Event::new(logsource, provenance);
    let mut warning = None;
    if let Some(stamp) = lookup(&map, "@timestamp").filter(|v| !v.is_null()) {
        event.time = json_time(stamp);
        if event.time.is_none() {
            warning = Some(format!(
                "`@timestamp` is not a time I can read: {stamp}; event kept without time"
            ));
        }
    }
    event.host = text(&map, "host.name")
        .or_else(|| text(&map, "host.hostname"))
        .map(str::to_owned);
    let mut fields = Fields::with_capacity(map.len() * 4);
    flatten_into(&mut fields, &map, &|_| false);
    sigma_fields(&map, event.logsource.product.as_deref(), &mut fields);
    event.fields = fields;
    if keep_original {
        event.original = Some(Original::Json(Json::Object(map)));
    }
    Ok(Outcome::Event(Box::new(event), warning))
}

/// ECS path to Sigma name, copied as they are.
const DIRECT: &[(&str, &str)] = &[
    ("process.executable", "Image"),
    ("process.pe.original_file_name", "OriginalFileName"),
    ("process.parent.executable", "ParentImage"),
    ("process.pid", "ProcessId"),
    ("process.parent.pid", "ParentProcessId"),
    ("process.working_directory", "CurrentDirectory"),
    ("process.pe.description", "Description"),
    ("process.pe.product", "Product"),
    ("process.pe.company", "Company"),
    ("process.Ext.authentication_id", "LogonId"),
    ("auditd.session", "LogonId"),
    ("destination.ip", "DestinationIp"),
    ("destination.port", "DestinationPort"),
    ("destination.domain", "DestinationHostname"),
    ("source.ip", "SourceIp"),
    ("source.port", "SourcePort"),
    ("network.transport", "Protocol"),
    ("dns.question.name", "QueryName"),
    ("file.path", "TargetFilename"),
];

fn set_if_absent(fields: &mut Fields, name: &'static str, value: Value) {
    if fields.get(name).is_none() {
        fields.set(FieldName::Borrowed(name), value);
    }
}

/// `process.args` as one command line. Arguments are joined by single spaces, as auditd's
/// EXECVE arguments are elsewhere, so rules see the same text from both.
fn joined_args(map: &Map<String, Json>, path: &str) -> Option<String> {
    let Json::Array(items) = lookup(map, path)? else {
        return None;
    };
    let words: Vec<&str> = items.iter().filter_map(Json::as_str).collect();
    (!words.is_empty()).then(|| words.join(" "))
}

fn sigma_fields(map: &Map<String, Json>, product: Option<&str>, fields: &mut Fields) {
    for (path, name) in DIRECT {
        match lookup(map, path) {
            None | Some(Json::Null) => {}
            Some(Json::String(s)) if s.is_empty() => {}
            Some(value) => set_if_absent(fields, name, Value::from_json(value)),
        }
    }
    if let Some(line) = text(map, "process.command_line")
        .map(str::to_owned)
        .or_else(|| joined_args(map, "process.args"))
    {
        set_if_absent(fields, "CommandLine", Value::Str(line));
    }
    if let Some(line) = text(map, "process.parent.command_line")
        .map(str::to_owned)
        .or_else(|| joined_args(map, "process.parent.args"))
    {
        set_if_absent(fields, "ParentCommandLine", Value::Str(line));
    }
    if let Some(name) = text(map, "user.name") {
        let user = match (product, text(map, "user.domain")) {
            (Some("windows"), Some(domain)) => format!("{domain}\\{name}"),
            _ => name.to_owned(),
        };
        set_if_absent(fields, "User", Value::Str(user));
    }
    if let Some(level) = text(map, "process.Ext.token.integrity_level_name") {
        let level = match level.to_ascii_lowercase().as_str() {
            "untrusted" => "Untrusted",
            "low" => "Low",
            "medium" => "Medium",
            "medium_plus" | "mediumplus" => "MediumPlus",
            "high" => "High",
            "system" => "System",
            "protected" => "Protected",
            _ => level,
        }
        .to_owned();
        set_if_absent(fields, "IntegrityLevel", Value::Str(level));
    }
    if lookup(map, "destination.ip").is_some() || lookup(map, "source.ip").is_some() {
        if let Some(initiated) = initiated(map) {
            set_if_absent(
                fields,
                "Initiated",
                Value::Str(if initiated { "true" } else { "false" }.to_owned()),
            );
        }
    }
}

/// Whether the host opened the connection (Sysmon's `Initiated`).
fn initiated(map: &Map<String, Json>) -> Option<bool> {
    if has(map, "network.direction", &["egress", "outbound"]) {
        return Some(true);
    }
    if has(map, "network.direction", &["ingress", "inbound"]) {
        return Some(false);
    }
    let action = text(map, "event.action")?.to_ascii_lowercase();
    if action.contains("accept") {
        Some(false)
    } else if action.contains("connect") || action.contains("attempt") {
        Some(true)
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Map<String, Json> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn lookup_nested_dotted_and_mixed() {
        let d =
            doc(r#"{"process":{"parent.pid":7,"executable":"/bin/ss"},"host.os.type":"linux"}"#);
        assert_eq!(
            lookup(&d, "process.executable"),
            Some(&Json::from("/bin/ss"))
        );
        assert_eq!(lookup(&d, "process.parent.pid"), Some(&Json::from(7)));
        assert_eq!(lookup(&d, "host.os.type"), Some(&Json::from("linux")));
        assert_eq!(lookup(&d, "process.name"), None);
    }

    #[test]
    fn categories() {
        let c = |t: &str| category(&doc(t));
        assert_eq!(
            c(r#"{"event":{"category":["process"],"type":["start"],"action":"exec"}}"#),
            Some("process_creation")
        );
        assert_eq!(
            c(r#"{"event":{"category":["process"],"type":["start"],"action":"fork"}}"#),
            None
        );
        assert_eq!(
            c(r#"{"event":{"category":"process","action":"executed"}}"#),
            Some("process_creation")
        );
        assert_eq!(
            c(r#"{"event":{"category":["file"],"type":["access"]}}"#),
            Some("file_access")
        );
        assert_eq!(
            c(r#"{"event":{"category":["network"]},"dns":{"question":{"name":"x"}}}"#),
            Some("dns_query")
        );
    }

    #[test]
    fn products() {
        let p = |t: &str| product(&doc(t));
        assert_eq!(p(r#"{"host":{"os":{"family":"debian"}}}"#), Some("linux"));
        assert_eq!(p(r#"{"host":{"os":{"platform":"darwin"}}}"#), Some("macos"));
        assert_eq!(p(r#"{"event":{"module":"auditd"}}"#), Some("linux"));
        assert_eq!(
            p(r#"{"process":{"executable":"C:\\x\\y.exe"}}"#),
            Some("windows")
        );
        assert_eq!(p(r#"{"process":{"executable":"/bin/ss"}}"#), None);
    }
}
