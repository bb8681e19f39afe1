//! Windows events to the Sigma taxonomy.
//!
//! Every Windows shape (EVTX, `evtx_dump` JSON, Winlogbeat/ECS, flat NXLog/Sysmon-style
//! objects) comes down to the same three things: the channel, the provider and the
//! EventID, which decide the Sigma `logsource`, and the record's EventData, whose fields
//! keep their own names and gain their Sigma taxonomy names beside them. The logsource
//! needs only the three identifiers, so the EVTX reader decides from them, before it
//! renders a record, whether any loaded rule can see it ([`logsource`]).
//!
//! # Logsource
//!
//! The product is always `windows`. The service comes from the channel
//! ([`CHANNEL_SERVICES`]; when a shape carries no channel, from the provider,
//! [`PROVIDER_SERVICES`]); the category from the service and EventID
//! ([`CATEGORIES`]):
//!
//! | service              | EventID                 | category                     |
//! |----------------------|-------------------------|------------------------------|
//! | `sysmon`             | 1                       | `process_creation`           |
//! | `sysmon`             | 2                       | `file_change`                |
//! | `sysmon`             | 3                       | `network_connection`         |
//! | `sysmon`             | 5                       | `process_termination`        |
//! | `sysmon`             | 6                       | `driver_load`                |
//! | `sysmon`             | 7                       | `image_load`                 |
//! | `sysmon`             | 8                       | `create_remote_thread`       |
//! | `sysmon`             | 9                       | `raw_access_thread`          |
//! | `sysmon`             | 10                      | `process_access`             |
//! | `sysmon`             | 11                      | `file_event`                 |
//! | `sysmon`             | 12 / 13 / 14            | `registry_add` / `registry_set` / `registry_rename` |
//! | `sysmon`             | 15                      | `create_stream_hash`         |
//! | `sysmon`             | 17, 18                  | `pipe_created`               |
//! | `sysmon`             | 19, 20, 21              | `wmi_event`                  |
//! | `sysmon`             | 22                      | `dns_query`                  |
//! | `sysmon`             | 23 / 26                 | `file_delete` / `file_delete_detected` |
//! | `sysmon`             | 24 / 25                 | `clipboard_capture` / `process_tampering` |
//! | `sysmon`             | 27 / 28 / 29            | `file_block_executable` / `file_block_shredding` / `file_executable_detected` |
//! | `sysmon`             | 4, 16, 255              | `sysmon_status` / `sysmon_status` / `sysmon_error` |
//! | `security`           | 4688                    | `process_creation`           |
//! | `powershell`         | 4103                    | `ps_module`                  |
//! | `powershell`         | 4104                    | `ps_script`                  |
//! | `powershell-classic` | 400 / 600 / 800         | `ps_classic_start` / `ps_classic_provider_start` / `ps_classic_script` |
//!
//! Every other record keeps its service and no category (Security 5140/5145, 4624/4625,
//! System 7045 are matched by `service` and `EventID`, as Sigma rules write them).
//! An event carries one category: Sysmon 12 is `registry_add` even when its EventType
//! is `DeleteKey`, and rules written against the umbrella `registry_event` do not see it.
//!
//! # Fields
//!
//! Every event keeps `EventID` (an integer), `Channel`, `Computer` and `Provider_Name`,
//! and every EventData (or UserData) field under its own name; unnamed `Data` values
//! stay a list under `Data`. A field the record lacks is absent; `-` placeholders stay
//! text, since rules compare them. On top of that:
//!
//! | record                 | Sigma field         | from                                                   |
//! |------------------------|---------------------|--------------------------------------------------------|
//! | Security 4688          | `Image`             | `NewProcessName` (kept too)                            |
//! |                        | `ParentImage`       | `ParentProcessName` (kept too)                         |
//! |                        | `ProcessId`         | `NewProcessId`, hex to integer (`NewProcessId` kept as text) |
//! |                        | `ParentProcessId`   | the record's `ProcessId` (the creator), hex to integer |
//! |                        | `User`              | `TargetDomainName\TargetUserName` unless the target is `-`, else `SubjectDomainName\SubjectUserName` |
//! |                        | `LogonId`           | `SubjectLogonId`                                       |
//! |                        | `IntegrityLevel`    | `MandatoryLabel` (`S-1-16-12288` is `High`...)         |
//! | PowerShell 4103        | `HostApplication`, `CommandName`, `CommandType`, `ScriptName`, `CommandPath`, `User`... | the `Key = Value` lines of `ContextInfo` (spaces removed from the key) |
//! | PowerShell 400/403/600/800 | `HostApplication`, `EngineVersion`, `CommandLine`, `ScriptName`... | the `Key=Value` lines of the `Data` strings (or of `Message` when a collector dropped `Data`) |
//! | ECS/Winlogbeat         | see [`ECS_FIELDS`]  | `process.executable`, `process.command_line`...        |
//!
//! A field already present is never overwritten by a derived one, except `ProcessId` of
//! 4688, which Sigma means as the new process.

use std::borrow::Cow;

use crate::event::{Event, Fields, LogSource, Original, Provenance, Value};
use crate::interest::Interest;

/// Channel (case-insensitive) to Sigma `service`.
pub const CHANNEL_SERVICES: &[(&str, &str)] = &[
    ("Security", "security"),
    ("System", "system"),
    ("Application", "application"),
    ("Microsoft-Windows-Sysmon/Operational", "sysmon"),
    ("Microsoft-Windows-PowerShell/Operational", "powershell"),
    ("PowerShellCore/Operational", "powershell"),
    ("Windows PowerShell", "powershell-classic"),
    (
        "Microsoft-Windows-TaskScheduler/Operational",
        "taskscheduler",
    ),
    ("Microsoft-Windows-WMI-Activity/Operational", "wmi"),
    (
        "Microsoft-Windows-Windows Defender/Operational",
        "windefend",
    ),
    ("Microsoft-Windows-DNS-Client/Operational", "dns-client"),
    ("Microsoft-Windows-Bits-Client/Operational", "bits-client"),
    ("Microsoft-Windows-SMBClient/Security", "smbclient-security"),
    ("Microsoft-Windows-SMBServer/Security", "smbserver-security"),
    ("Microsoft-Windows-NTLM/Operational", "ntlm"),
    (
        "Microsoft-Windows-CodeIntegrity/Operational",
        "codeintegrity-operational",
    ),
    ("Microsoft-Windows-LSA/Operational", "lsa-server"),
    ("Microsoft-Windows-Shell-Core/Operational", "shell-core"),
    ("Microsoft-Windows-OpenSSH/Operational", "openssh"),
    ("Microsoft-Windows-Ldap-Client/Debug", "ldap_debug"),
    (
        "Microsoft-Windows-DriverFrameworks-UserMode/Operational",
        "driver-framework",
    ),
    (
        "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",
        "firewall-as",
    ),
    (
        "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
        "terminalservices-localsessionmanager",
    ),
    (
        "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational",
        "terminalservices-remoteconnectionmanager",
    ),
    (
        "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational",
        "rdpcorets",
    ),
    ("Microsoft-Windows-AppLocker/EXE and DLL", "applocker"),
    ("Microsoft-Windows-AppLocker/MSI and Script", "applocker"),
    (
        "Microsoft-Windows-AppLocker/Packaged app-Deployment",
        "applocker",
    ),
    (
        "Microsoft-Windows-AppLocker/Packaged app-Execution",
        "applocker",
    ),
    (
        "Microsoft-Windows-Security-Mitigations/Kernel Mode",
        "security-mitigations",
    ),
    (
        "Microsoft-Windows-Security-Mitigations/User Mode",
        "security-mitigations",
    ),
    ("Microsoft-Windows-DHCP-Server/Operational", "dhcp"),
    ("Microsoft-Windows-Kernel-PnP/Configuration", "kernel-pnp"),
];

/// Provider to Sigma `service`, for shapes that carry a provider but no channel.
pub const PROVIDER_SERVICES: &[(&str, &str)] = &[
    ("Microsoft-Windows-Sysmon", "sysmon"),
    ("Microsoft-Windows-Security-Auditing", "security"),
    ("Microsoft-Windows-PowerShell", "powershell"),
    ("PowerShellCore", "powershell"),
    ("PowerShell", "powershell-classic"),
    ("Service Control Manager", "system"),
];

/// (service, EventID, category).
pub const CATEGORIES: &[(&str, u32, &str)] = &[
    ("sysmon", 1, "process_creation"),
    ("sysmon", 2, "file_change"),
    ("sysmon", 3, "network_connection"),
    ("sysmon", 4, "sysmon_status"),
    ("sysmon", 5, "process_termination"),
    ("sysmon", 6, "driver_load"),
    ("sysmon", 7, "image_load"),
    ("sysmon", 8, "create_remote_thread"),
    ("sysmon", 9, "raw_access_thread"),
    ("sysmon", 10, "process_access"),
    ("sysmon", 11, "file_event"),
    ("sysmon", 12, "registry_add"),
    ("sysmon", 13, "registry_set"),
    ("sysmon", 14, "registry_rename"),
    ("sysmon", 15, "create_stream_hash"),
    ("sysmon", 16, "sysmon_status"),
    ("sysmon", 17, "pipe_created"),
    ("sysmon", 18, "pipe_created"),
    ("sysmon", 19, "wmi_event"),
    ("sysmon", 20, "wmi_event"),
    ("sysmon", 21, "wmi_event"),
    ("sysmon", 22, "dns_query"),
    ("sysmon", 23, "file_delete"),
    ("sysmon", 24, "clipboard_capture"),
    ("sysmon", 25, "process_tampering"),
    ("sysmon", 26, "file_delete_detected"),
    ("sysmon", 27, "file_block_executable"),
    ("sysmon", 28, "file_block_shredding"),
    ("sysmon", 29, "file_executable_detected"),
    ("sysmon", 255, "sysmon_error"),
    ("security", 4688, "process_creation"),
    ("powershell", 4103, "ps_module"),
    ("powershell", 4104, "ps_script"),
    ("powershell-classic", 400, "ps_classic_start"),
    ("powershell-classic", 600, "ps_classic_provider_start"),
    ("powershell-classic", 800, "ps_classic_script"),
];

/// ECS (Winlogbeat, Elastic Agent) field to Sigma field. Applied after
/// `winlog.event_data.*`, so a record's own EventData wins.
pub const ECS_FIELDS: &[(&str, &str)] = &[
    ("process.executable", "Image"),
    ("process.command_line", "CommandLine"),
    ("process.parent.executable", "ParentImage"),
    ("process.parent.command_line", "ParentCommandLine"),
    ("process.pid", "ProcessId"),
    ("process.parent.pid", "ParentProcessId"),
    ("process.working_directory", "CurrentDirectory"),
    ("process.pe.original_file_name", "OriginalFileName"),
    ("process.pe.description", "Description"),
    ("process.pe.product", "Product"),
    ("process.pe.company", "Company"),
    ("winlog.logon.id", "LogonId"),
    ("source.ip", "SourceIp"),
    ("source.port", "SourcePort"),
    ("destination.ip", "DestinationIp"),
    ("destination.port", "DestinationPort"),
    ("destination.domain", "DestinationHostname"),
    ("network.transport", "Protocol"),
    ("dns.question.name", "QueryName"),
    ("file.path", "TargetFilename"),
    ("registry.path", "TargetObject"),
    ("powershell.file.script_block_text", "ScriptBlockText"),
    ("powershell.file.script_block_id", "ScriptBlockId"),
    ("powershell.command.name", "CommandName"),
    ("powershell.command.type", "CommandType"),
];

/// The identifiers every Windows record carries, whatever its shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct WinIds<'a> {
    /// The EventID (without qualifiers).
    pub event_id: Option<u32>,
    /// The channel (`Security`, `Microsoft-Windows-Sysmon/Operational`...); empty when
    /// the shape does not carry one.
    pub channel: &'a str,
    /// The provider name; empty when unknown.
    pub provider: &'a str,
    /// The computer the record is about.
    pub computer: Option<&'a str>,
}

/// The Sigma service of a channel (or, without a channel, of a provider).
pub fn service(channel: &str, provider: &str) -> Option<&'static str> {
    if !channel.is_empty() {
        if let Some((_, s)) = CHANNEL_SERVICES
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(channel))
        {
            return Some(s);
        }
        return None;
    }
    PROVIDER_SERVICES
        .iter()
        .find(|(p, _)| p.eq_ignore_ascii_case(provider))
        .map(|(_, s)| *s)
}

/// The Sigma category of an EventID in a service.
pub fn category(service: Option<&str>, event_id: Option<u32>) -> Option<&'static str> {
    let (service, event_id) = (service?, event_id?);
    CATEGORIES
        .iter()
        .find(|(s, id, _)| *id == event_id && *s == service)
        .map(|(_, _, c)| *c)
}

/// The Sigma logsource of a Windows record, from its identifiers alone: cheap enough to
/// decide on before a record is rendered.
pub fn logsource(channel: &str, provider: &str, event_id: Option<u32>) -> LogSource {
    let service = service(channel, provider);
    let category = category(service, event_id);
    LogSource::new(Some("windows"), category, service)
}

/// Adds the identifiers and the Sigma taxonomy names to `fields`, which already hold
/// the record's EventData under their own names.
pub fn normalise(ids: &WinIds<'_>, logsource: &LogSource, fields: &mut Fields) {
    if let Some(id) = ids.event_id {
        fields.set("EventID", Value::Int(i64::from(id)));
    }
    fields.set_nonempty("Channel", ids.channel);
    if let Some(computer) = ids.computer {
        fields.set_nonempty("Computer", computer);
    }
    fields.set_nonempty("Provider_Name", ids.provider);
    match (logsource.service.as_deref(), ids.event_id) {
        (Some("security"), Some(4688)) => security_4688(fields),
        (Some("powershell"), Some(4103)) => {
            if let Some(Value::Str(info)) = fields.get("ContextInfo").cloned() {
                key_value_lines(&info, " = ", true, fields);
            }
        }
        (Some("powershell-classic"), Some(400 | 403 | 600 | 800)) => powershell_classic(fields),
        _ => {}
    }
}

/// Security 4688 under the names Sysmon EID 1 uses.
fn security_4688(fields: &mut Fields) {
    copy_if_absent(fields, "NewProcessName", "Image");
    copy_if_absent(fields, "ParentProcessName", "ParentImage");
    copy_if_absent(fields, "SubjectLogonId", "LogonId");
    // The record's own `ProcessId` is the creator's; Sigma's is the new process's.
    if let Some(creator) = fields.get("ProcessId").cloned() {
        if fields.get("ParentProcessId").is_none() {
            fields.set("ParentProcessId", pid_value(&creator));
        }
    }
    if let Some(new) = fields.get("NewProcessId").cloned() {
        fields.set("ProcessId", pid_value(&new));
    }
    if fields.get("User").is_none() {
        let target = fields.get_str("TargetUserName").filter(|u| is_account(u));
        let user = match target {
            Some(user) => account(fields.get_str("TargetDomainName"), user),
            None => match fields.get_str("SubjectUserName").filter(|u| is_account(u)) {
                Some(user) => account(fields.get_str("SubjectDomainName"), user),
                None => None,
            },
        };
        if let Some(user) = user {
            fields.set("User", Value::Str(user));
        }
    }
    if fields.get("IntegrityLevel").is_none() {
        let level = fields
            .get_str("MandatoryLabel")
            .and_then(|sid| integrity_level(&sid));
        if let Some(level) = level {
            fields.set("IntegrityLevel", level);
        }
    }
}

fn is_account(name: &str) -> bool {
    !name.is_empty() && name != "-"
}

fn account(domain: Option<Cow<'_, str>>, user: Cow<'_, str>) -> Option<String> {
    Some(match domain.filter(|d| is_account(d)) {
        Some(domain) => format!("{domain}\\{user}"),
        None => user.into_owned(),
    })
}

fn integrity_level(sid: &str) -> Option<&'static str> {
    Some(match sid.to_ascii_uppercase().as_str() {
        "S-1-16-0" => "Untrusted",
        "S-1-16-4096" => "Low",
        "S-1-16-8192" => "Medium",
        "S-1-16-8448" => "MediumPlus",
        "S-1-16-12288" => "High",
        "S-1-16-16384" => "System",
        "S-1-16-20480" => "Protected",
        _ => return None,
    })
}

/// A process id as an integer: Security writes them as hex text (`0x46c`), Sysmon as
/// numbers. Text that is neither stays text.
fn pid_value(value: &Value) -> Value {
    match value {
        Value::Str(s) => parse_pid(s).map_or_else(|| value.clone(), Value::Int),
        other => other.clone(),
    }
}

fn parse_pid(text: &str) -> Option<i64> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn copy_if_absent(fields: &mut Fields, from: &str, to: &'static str) {
    if fields.get(to).is_none() {
        if let Some(v) = fields.get(from).cloned() {
            fields.set(to, v);
        }
    }
}

/// Windows PowerShell 400/403/600/800: the engine's details are `Key=Value` lines in
/// one of the unnamed `Data` strings.
fn powershell_classic(fields: &mut Fields) {
    let mut texts: Vec<String> = Vec::new();
    match fields.get("Data") {
        Some(Value::List(items)) => {
            texts.extend(items.iter().filter_map(|v| match v {
                Value::Str(s) if s.contains('=') => Some(s.clone()),
                _ => None,
            }));
        }
        Some(Value::Str(s)) => texts.push(s.clone()),
        _ => {}
    }
    // Winlogbeat names the unnamed strings `param1`..`param3`; the details are in one.
    for name in ["param1", "param2", "param3"] {
        if let Some(Value::Str(s)) = fields.get(name) {
            if s.contains('=') {
                texts.push(s.clone());
            }
        }
    }
    if texts.is_empty() {
        if let Some(Value::Str(message)) = fields.get("Message") {
            texts.push(message.clone());
        }
    }
    for text in texts {
        key_value_lines(&text, "=", false, fields);
    }
}

/// Sets a field for every `Key<sep>Value` line of `text` whose value is not empty and
/// whose field is not set yet. `squash` removes spaces from keys (`Host Application`
/// becomes `HostApplication`). A line that is not `Key<sep>Value` continues the value
/// before it: a `HostApplication` holding a multi-line script block is kept whole.
fn key_value_lines(text: &str, sep: &str, squash: bool, fields: &mut Fields) {
    fn flush(current: &mut Option<(String, String)>, fields: &mut Fields) {
        if let Some((key, value)) = current.take() {
            let value = value.trim();
            if !value.is_empty() && fields.get(&key).is_none() {
                fields.set(key, Value::Str(value.to_owned()));
            }
        }
    }
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        let parsed = line.split_once(sep).and_then(|(key, value)| {
            let key = key.trim();
            let key: String = if squash {
                key.chars().filter(|c| !c.is_whitespace()).collect()
            } else {
                key.to_owned()
            };
            let valid =
                !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            valid.then(|| (key, value.trim_start().to_owned()))
        });
        match parsed {
            Some(entry) => {
                flush(&mut current, fields);
                current = Some(entry);
            }
            None => {
                if let Some((_, value)) = current.as_mut() {
                    value.push('\n');
                    value.push_str(line.trim_end_matches('\r'));
                }
            }
        }
    }
    flush(&mut current, fields);
}

/// Adds the EventData (or UserData) of a rendered record to `fields`: named values under
/// their names, unnamed `Data` values as a list under `Data`, UserData's inner element's
/// children under their names.
pub fn flatten_event_data(data: &serde_json::Value, fields: &mut Fields) {
    let serde_json::Value::Object(map) = data else {
        // `<EventData>text</EventData>`: keep it as Data.
        if let Some(v) = json_value(data) {
            fields.set("Data", v);
        }
        return;
    };
    for (key, value) in map {
        data_entry(key, value, fields);
    }
}

/// One entry of an EventData or UserData object.
fn data_entry(key: &str, value: &serde_json::Value, fields: &mut Fields) {
    if key == "#attributes" {
        return;
    }
    if key == "#text" {
        if let Some(v) = json_value(value) {
            fields.set("Data", v);
        }
        return;
    }
    match value {
        serde_json::Value::Object(inner) if !inner.contains_key("#text") => {
            if key == "Data" || inner.is_empty() {
                return;
            }
            // UserData's element (`LogFileCleared`...), or a nested element: its
            // children are the fields.
            flatten_event_data(value, fields);
        }
        serde_json::Value::Object(inner) => {
            if let Some(v) = inner.get("#text").and_then(json_value) {
                fields.set(key.to_owned(), v);
            }
        }
        _ => {
            if let Some(v) = json_value(value) {
                fields.set(key.to_owned(), v);
            }
        }
    }
}

/// A JSON value as a field value; `null` (an empty element) is absent.
pub fn json_value(value: &serde_json::Value) -> Option<Value> {
    match value {
        serde_json::Value::Null => None,
        other => Some(Value::from_json(other)),
    }
}

/// An EventID from JSON: a number, numeric text, or an object with `#text` (classic
/// events render `{"#attributes":{"Qualifiers":0},"#text":400}`).
pub fn event_id_of(value: &serde_json::Value) -> Option<u32> {
    match value {
        serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        serde_json::Value::Object(map) => map.get("#text").and_then(event_id_of),
        _ => None,
    }
}

/// Applies [`ECS_FIELDS`] to a flattened ECS document (dotted names), and builds `User`
/// from `user.domain` and `user.name`.
pub fn ecs_to_sigma(fields: &mut Fields) {
    for (ecs, sigma) in ECS_FIELDS {
        copy_if_absent(fields, ecs, sigma);
    }
    if fields.get("User").is_none() {
        if let Some(name) = fields.get_str("user.name").filter(|u| is_account(u)) {
            if let Some(user) = account(fields.get_str("user.domain"), name) {
                fields.set("User", Value::Str(user));
            }
        }
    }
}

/// Builds the event of a record in the shape the `evtx` crate renders and `evtx_dump`
/// writes (`{"Event":{"System":{...},"EventData":{...}}}`). `None` when no loaded rule
/// can see the record. `fallback_time` is used when `TimeCreated` is missing (the EVTX
/// record header carries one too).
pub fn from_evtx_json(
    doc: serde_json::Value,
    interest: &Interest,
    keep_original: bool,
    provenance: Provenance,
    fallback_time: Option<jiff::Timestamp>,
) -> Option<Event> {
    let root = doc.get("Event").unwrap_or(&doc);
    let system = root.get("System");
    let get = |name: &str| system.and_then(|s| s.get(name));
    let text = |v: Option<&serde_json::Value>| -> Option<String> {
        match v? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Object(map) => map.get("#text")?.as_str().map(str::to_owned),
            _ => None,
        }
    };
    let event_id = get("EventID").and_then(event_id_of);
    let channel = text(get("Channel")).unwrap_or_default();
    let provider = get("Provider")
        .and_then(|p| p.get("#attributes"))
        .and_then(|a| a.get("Name"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let computer = text(get("Computer"));
    let logsource = logsource(&channel, &provider, event_id);
    if !interest.wants(&logsource) {
        return None;
    }
    let time = get("TimeCreated")
        .and_then(|t| t.get("#attributes"))
        .and_then(|a| a.get("SystemTime"))
        .and_then(serde_json::Value::as_str)
        .and_then(parse_time)
        .or(fallback_time);
    let mut fields = Fields::with_capacity(32);
    if let Some(data) = root.get("EventData") {
        flatten_event_data(data, &mut fields);
    }
    if let Some(data) = root.get("UserData") {
        flatten_event_data(data, &mut fields);
    }
    let ids = WinIds {
        event_id,
        channel: &channel,
        provider: &provider,
        computer: computer.as_deref(),
    };
    normalise(&ids, &logsource, &mut fields);
    let mut event = Event::new(logsource, provenance);
    event.time = time;
    event.host = computer;
    event.fields = fields;
    if keep_original {
        event.original = Some(Original::Json(doc));
    }
    Some(event)
}

/// Like [`from_evtx_json`], straight from the rendered bytes when the original is not
/// kept: no JSON document is built, the EventData values go directly into fields, and
/// the EventData of a record no rule wants is not even decoded.
pub fn from_evtx_bytes(
    bytes: &[u8],
    interest: &Interest,
    keep_original: bool,
    provenance: Provenance,
    fallback_time: Option<jiff::Timestamp>,
) -> Result<Option<Event>, serde_json::Error> {
    if keep_original {
        let doc: serde_json::Value = serde_json::from_slice(bytes)?;
        return Ok(from_evtx_json(
            doc,
            interest,
            true,
            provenance,
            fallback_time,
        ));
    }
    let mut parsed = direct::Parsed {
        interest: Some(interest),
        ..direct::Parsed::default()
    };
    serde::de::DeserializeSeed::deserialize(
        direct::Root(&mut parsed),
        &mut serde_json::Deserializer::from_slice(bytes),
    )?;
    let Some(logsource) = parsed.logsource.take() else {
        return Ok(None);
    };
    let mut fields = parsed.fields;
    let ids = WinIds {
        event_id: parsed.event_id,
        channel: &parsed.channel,
        provider: &parsed.provider,
        computer: parsed.computer.as_deref(),
    };
    normalise(&ids, &logsource, &mut fields);
    let mut event = Event::new(logsource, provenance);
    event.time = parsed.time.or(fallback_time);
    event.host = parsed.computer;
    event.fields = fields;
    Ok(Some(event))
}

/// The streaming reading of a rendered record behind [`from_evtx_bytes`].
mod direct {
    use std::fmt;

    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde::Deserializer;

    use super::{data_entry, event_id_of, logsource, parse_time};
    use crate::event::{Fields, LogSource, Value};
    use crate::interest::Interest;

    #[derive(Default)]
    pub(super) struct Parsed<'i> {
        pub(super) interest: Option<&'i Interest>,
        pub(super) event_id: Option<u32>,
        pub(super) channel: String,
        pub(super) provider: String,
        pub(super) computer: Option<String>,
        pub(super) time: Option<jiff::Timestamp>,
        /// Set once System is read and the record is wanted.
        pub(super) logsource: Option<LogSource>,
        pub(super) fields: Fields,
    }

    /// `{"Event": {...}}`
    pub(super) struct Root<'a, 'i>(pub(super) &'a mut Parsed<'i>);

    impl<'de> DeserializeSeed<'de> for Root<'_, '_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Root<'_, '_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object with Event")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == "Event" {
                    map.next_value_seed(Body(&mut *self.0))?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(())
        }
    }

    /// `{"System": {...}, "EventData": {...}}`
    struct Body<'a, 'i>(&'a mut Parsed<'i>);

    impl<'de> DeserializeSeed<'de> for Body<'_, '_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Body<'_, '_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an Event object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let parsed = self.0;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match &*key {
                    "System" => {
                        let system: System = map.next_value()?;
                        read_system(parsed, system);
                    }
                    "EventData" | "UserData" if parsed.logsource.is_some() => {
                        map.next_value_seed(Data(&mut parsed.fields))?;
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(())
        }
    }

    /// The System keys normalisation needs; the others are skipped unread.
    #[derive(serde::Deserialize)]
    struct System {
        #[serde(rename = "Provider")]
        provider: Option<Attributes<ProviderName>>,
        #[serde(rename = "EventID")]
        event_id: Option<serde_json::Value>,
        #[serde(rename = "Channel")]
        channel: Option<serde_json::Value>,
        #[serde(rename = "Computer")]
        computer: Option<serde_json::Value>,
        #[serde(rename = "TimeCreated")]
        time_created: Option<Attributes<SystemTime>>,
    }

    #[derive(serde::Deserialize)]
    struct Attributes<T> {
        #[serde(rename = "#attributes")]
        attributes: Option<T>,
    }

    #[derive(serde::Deserialize)]
    struct ProviderName {
        #[serde(rename = "Name")]
        name: Option<String>,
    }

    #[derive(serde::Deserialize)]
    struct SystemTime {
        #[serde(rename = "SystemTime")]
        system_time: Option<String>,
    }

    fn read_system(parsed: &mut Parsed<'_>, system: System) {
        let text = |v: Option<serde_json::Value>| -> Option<String> {
            match v? {
                serde_json::Value::String(s) => Some(s),
                serde_json::Value::Object(map) => map.get("#text")?.as_str().map(str::to_owned),
                _ => None,
            }
        };
        parsed.event_id = system.event_id.as_ref().and_then(event_id_of);
        parsed.channel = text(system.channel).unwrap_or_default();
        parsed.provider = system
            .provider
            .and_then(|p| p.attributes)
            .and_then(|a| a.name)
            .unwrap_or_default();
        parsed.computer = text(system.computer);
        parsed.time = system
            .time_created
            .and_then(|t| t.attributes)
            .and_then(|a| a.system_time)
            .and_then(|t| parse_time(&t));
        let ls = logsource(&parsed.channel, &parsed.provider, parsed.event_id);
        if parsed.interest.is_none_or(|i| i.wants(&ls)) {
            parsed.logsource = Some(ls);
        }
    }

    /// EventData or UserData: scalar values go straight into fields, nested ones (unnamed
    /// `Data` lists, UserData's element) through [`data_entry`].
    struct Data<'a>(&'a mut Fields);

    impl<'de> DeserializeSeed<'de> for Data<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Data<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("EventData")
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, v: &str) -> Result<(), E> {
            self.0.set("Data", Value::Str(v.to_owned()));
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
            let list: serde_json::Value =
                Deserialize::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
            data_entry("#text", &list, self.0);
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match map.next_value::<Scalar>()? {
                    Scalar::Absent => {}
                    Scalar::Value(v) => self.0.set(key.into_owned(), v),
                    Scalar::Nested(v) => data_entry(&key, &v, self.0),
                }
            }
            Ok(())
        }
    }

    use serde::Deserialize;

    /// One EventData value.
    enum Scalar {
        Absent,
        Value(Value),
        Nested(serde_json::Value),
    }

    impl<'de> Deserialize<'de> for Scalar {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(ScalarVisitor)
        }
    }

    struct ScalarVisitor;

    impl<'de> Visitor<'de> for ScalarVisitor {
        type Value = Scalar;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a value")
        }
        fn visit_unit<E>(self) -> Result<Scalar, E> {
            Ok(Scalar::Absent)
        }
        fn visit_none<E>(self) -> Result<Scalar, E> {
            Ok(Scalar::Absent)
        }
        fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
            Ok(Scalar::Value(Value::Bool(v)))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
            Ok(Scalar::Value(Value::Int(v)))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
            Ok(Scalar::Value(match i64::try_from(v) {
                Ok(n) => Value::Int(n),
                Err(_) => Value::Float(v as f64),
            }))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
            Ok(Scalar::Value(Value::Float(v)))
        }
        fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
            Ok(Scalar::Value(Value::Str(v.to_owned())))
        }
        fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
            Ok(Scalar::Value(Value::Str(v)))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
            let v: serde_json::Value =
                Deserialize::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
            Ok(Scalar::Nested(v))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar, A::Error> {
            let v: serde_json::Value =
                Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
            Ok(Scalar::Nested(v))
        }
    }
}

/// A record time: RFC 3339 (`2019-06-20T08:07:42.3318108Z`), or a civil time without a
/// zone (`2019-06-20 08:07:42.331`, as Sysmon's `UtcTime` and collectors write), read
/// as UTC.
pub fn parse_time(text: &str) -> Option<jiff::Timestamp> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Some(ts);
    }
    let civil: jiff::civil::DateTime = text.parse().ok()?;
    civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winlogbeat_params_of_a_classic_event_are_read() {
        let mut f = Fields::default();
        f.set("param1", "Available");
        f.set("param3", "\tNewEngineState=Available\n\tHostApplication=powershell.exe -c Get-NetTCPConnection\n\tEngineVersion=5.1");
        powershell_classic(&mut f);
        assert_eq!(
            f.get_str("HostApplication").unwrap(),
            "powershell.exe -c Get-NetTCPConnection"
        );
    }

    #[test]
    fn a_multi_line_host_application_is_kept_whole() {
        let mut f = Fields::default();
        key_value_lines(
            "\tNewEngineState=Available\r\n\tHostApplication=\"powershell.exe\" & {$a = 1\r\nC:\\x\\SharpView.exe Get-NetSession}\r\n\tEngineVersion=5.1\r\n",
            "=",
            false,
            &mut f,
        );
        assert_eq!(
            f.get_str("HostApplication").unwrap(),
            "\"powershell.exe\" & {$a = 1\nC:\\x\\SharpView.exe Get-NetSession}"
        );
        assert_eq!(f.get_str("EngineVersion").unwrap(), "5.1");
        assert_eq!(f.get_str("NewEngineState").unwrap(), "Available");
    }

    #[test]
    fn logsources() {
        let ls = logsource("Microsoft-Windows-Sysmon/Operational", "", Some(1));
        assert_eq!(ls.to_string(), "windows/process_creation/sysmon");
        let ls = logsource("security", "", Some(4688));
        assert_eq!(ls.to_string(), "windows/process_creation/security");
        let ls = logsource("Security", "", Some(5145));
        assert_eq!(ls.to_string(), "windows/security");
        let ls = logsource("", "PowerShell", Some(400));
        assert_eq!(
            ls.to_string(),
            "windows/ps_classic_start/powershell-classic"
        );
        let ls = logsource("Some/Other", "", Some(1));
        assert_eq!(ls.to_string(), "windows");
    }

    #[test]
    fn security_4688_gets_sigma_names() {
        let mut f = Fields::default();
        f.set("NewProcessName", "C:\\Windows\\System32\\net.exe");
        f.set("NewProcessId", "0xe74");
        f.set("ProcessId", "0x46c");
        f.set("SubjectUserName", "FS03$");
        f.set("SubjectDomainName", "OFFSEC");
        f.set("TargetUserName", "-");
        f.set("SubjectLogonId", "0x3e7");
        f.set("MandatoryLabel", "S-1-16-12288");
        let ids = WinIds {
            event_id: Some(4688),
            channel: "Security",
            provider: "Microsoft-Windows-Security-Auditing",
            computer: Some("FS03"),
        };
        let ls = logsource(ids.channel, ids.provider, ids.event_id);
        normalise(&ids, &ls, &mut f);
        assert_eq!(
            f.get_str("Image").unwrap(),
            "C:\\Windows\\System32\\net.exe"
        );
        assert_eq!(f.get("ProcessId"), Some(&Value::Int(0xe74)));
        assert_eq!(f.get("ParentProcessId"), Some(&Value::Int(0x46c)));
        assert_eq!(f.get_str("NewProcessId").unwrap(), "0xe74");
        assert_eq!(f.get_str("User").unwrap(), "OFFSEC\\FS03$");
        assert_eq!(f.get_str("LogonId").unwrap(), "0x3e7");
        assert_eq!(f.get_str("IntegrityLevel").unwrap(), "High");
        assert_eq!(f.get("EventID"), Some(&Value::Int(4688)));
        assert_eq!(f.get_str("Computer").unwrap(), "FS03");
    }

    #[test]
    fn powershell_context_info_and_data_lines() {
        let mut f = Fields::default();
        f.set(
            "ContextInfo",
            "        Host Application = powershell.exe -nop\r\n        Command Name = Get-NetSession\r\n        Script Name = \r\n",
        );
        let ids = WinIds {
            event_id: Some(4103),
            channel: "Microsoft-Windows-PowerShell/Operational",
            ..WinIds::default()
        };
        normalise(&ids, &logsource(ids.channel, "", ids.event_id), &mut f);
        assert_eq!(f.get_str("HostApplication").unwrap(), "powershell.exe -nop");
        assert_eq!(f.get_str("CommandName").unwrap(), "Get-NetSession");
        assert!(f.get("ScriptName").is_none());

        let mut f = Fields::default();
        f.set(
            "Data",
            Value::List(vec![
                "Available".into(),
                "None".into(),
                "\tNewEngineState=Available\r\n\tHostApplication=powershell.exe -enc AAA\r\n\tCommandLine=".into(),
            ]),
        );
        let ids = WinIds {
            event_id: Some(400),
            channel: "Windows PowerShell",
            ..WinIds::default()
        };
        normalise(&ids, &logsource(ids.channel, "", ids.event_id), &mut f);
        assert_eq!(
            f.get_str("HostApplication").unwrap(),
            "powershell.exe -enc AAA"
        );
        assert!(f.get("CommandLine").is_none());
    }

    #[test]
    fn event_data_shapes() {
        let data: serde_json::Value =
            serde_json::from_str(r##"{"Data":{"#text":["a","b"]},"Binary":null}"##).unwrap();
        let mut f = Fields::default();
        flatten_event_data(&data, &mut f);
        assert_eq!(
            f.get("Data"),
            Some(&Value::List(vec!["a".into(), "b".into()]))
        );
        assert!(f.get("Binary").is_none());
        let user: serde_json::Value = serde_json::from_str(
            r##"{"LogFileCleared":{"#attributes":{"xmlns":"x"},"SubjectUserName":"admmig"}}"##,
        )
        .unwrap();
        let mut f = Fields::default();
        flatten_event_data(&user, &mut f);
        assert_eq!(f.get_str("SubjectUserName").unwrap(), "admmig");
        assert_eq!(event_id_of(&serde_json::json!({"#text": 400})), Some(400));
        assert_eq!(event_id_of(&serde_json::json!("1151")), Some(1151));
    }
}
