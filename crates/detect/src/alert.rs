//! An alert: one rule that fired, with the event it fired on.

use std::sync::Arc;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use sockhunt_events::{Event, Value};

use crate::engine::MatchedField;
use crate::loader::RuleMeta;

/// One rule firing on one event. Several rules firing on the same event share the event.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The rule.
    pub rule: Arc<RuleMeta>,
    /// The fields that made it fire.
    pub matched: Vec<MatchedField>,
    /// The whole normalised event, with its provenance and (when kept) the original record.
    pub event: Arc<Event>,
}

/// Fields that say most about what happened, most telling first: the command line of a
/// process, the script of a PowerShell event, the API call of a cloud event.
pub const TELLING_FIELDS: &[&str] = &[
    "CommandLine",
    "ScriptBlockText",
    "Payload",
    "HostApplication",
    "command",
    "eventName",
    "operationName",
    "protoPayload.methodName",
    "TargetFilename",
    "Operation",
    "ShareName",
    "RelativeTargetName",
    "PipeName",
    "Image",
];

/// Fields naming the acting user, most specific first.
pub const USER_FIELDS: &[&str] = &[
    "User",
    "SubjectUserName",
    "userIdentity.arn",
    "caller",
    "protoPayload.authenticationInfo.principalEmail",
    "Uid",
];

impl Alert {
    /// The acting user, when the event names one (`DOMAIN\name` for Security events).
    pub fn user(&self) -> Option<String> {
        let fields = &self.event.fields;
        if fields.get("User").is_none() {
            if let (Some(domain), Some(name)) = (
                fields.get_str("SubjectDomainName"),
                fields.get_str("SubjectUserName"),
            ) {
                return Some(format!("{domain}\\{name}"));
            }
        }
        USER_FIELDS
            .iter()
            .find_map(|f| fields.get_str(f).map(|v| v.into_owned()))
    }

    /// The most telling field of the event: its name and its value as text.
    pub fn telling_field(&self) -> Option<(&'static str, String)> {
        TELLING_FIELDS.iter().find_map(|&name| {
            let value = self.event.fields.get(name)?;
            Some((name, value_text(value)))
        })
    }

    /// The alert as one JSON object: `{"type":"alert","rule":{...},"matched":[...],
    /// "event":{...}}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// A value as one line of text (lists joined by spaces).
pub fn value_text(value: &Value) -> String {
    match value {
        Value::List(items) => items.iter().map(value_text).collect::<Vec<_>>().join(" "),
        Value::Null => String::new(),
        other => other.as_str().map(|s| s.into_owned()).unwrap_or_default(),
    }
}

struct RuleView<'a>(&'a RuleMeta);

impl Serialize for RuleView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let rule = self.0;
        let mut map = serializer.serialize_map(None)?;
        if let Some(id) = &rule.id {
            map.serialize_entry("id", id)?;
        }
        map.serialize_entry("title", &rule.title)?;
        if let Some(level) = rule.level {
            map.serialize_entry("level", &level)?;
        }
        if let Some(status) = &rule.status {
            map.serialize_entry("status", status)?;
        }
        map.serialize_entry("tags", &rule.tags)?;
        map.serialize_entry("attack", &rule.attack_techniques())?;
        map.serialize_entry("logsource", &rule.logsource)?;
        map.serialize_entry("source", &*rule.source)?;
        map.end()
    }
}

impl Serialize for Alert {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", "alert")?;
        map.serialize_entry("rule", &RuleView(&self.rule))?;
        if !self.matched.is_empty() {
            map.serialize_entry("matched", &self.matched)?;
        }
        map.serialize_entry("event", &EventView(&self.event))?;
        map.end()
    }
}

/// The event with its fields as a JSON object (`.event.fields.CommandLine` in jq), the
/// shape the generic reader reads back.
struct EventView<'a>(&'a Event);

impl Serialize for EventView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let event = self.0;
        let mut map = serializer.serialize_map(None)?;
        if let Some(time) = &event.time {
            map.serialize_entry("time", time)?;
        }
        if let Some(host) = &event.host {
            map.serialize_entry("host", host)?;
        }
        map.serialize_entry("logsource", &event.logsource)?;
        map.serialize_entry("fields", &event.fields.to_json())?;
        map.serialize_entry("provenance", &event.provenance)?;
        if let Some(original) = &event.original {
            map.serialize_entry("original", original)?;
        }
        map.end()
    }
}
