//! The normalised event.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A Sigma `logsource`: which rules can apply to an event.
///
/// Values are lower-case Sigma taxonomy names (`windows`, `process_creation`, `sysmon`,
/// `security`, `linux`, `auditd`, `aws`, `cloudtrail`...). An event may carry both a
/// category and a service: a Security 4688 record is `windows`/`process_creation` *and*
/// `windows`/`security`, so rules written against either see it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogSource {
    /// `windows`, `linux`, `macos`, `aws`, `azure`, `gcp`, `cisco`, `esxi`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<Cow<'static, str>>,
    /// `process_creation`, `ps_script`, `network_connection`, `file_access`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Cow<'static, str>>,
    /// `sysmon`, `security`, `powershell`, `auditd`, `cloudtrail`, `aaa`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Cow<'static, str>>,
}

impl LogSource {
    /// A logsource from static names; `None` leaves a dimension unset.
    pub const fn new(
        product: Option<&'static str>,
        category: Option<&'static str>,
        service: Option<&'static str>,
    ) -> Self {
        // `Option::map` is not const: spell the three out.
        LogSource {
            product: match product {
                Some(p) => Some(Cow::Borrowed(p)),
                None => None,
            },
            category: match category {
                Some(c) => Some(Cow::Borrowed(c)),
                None => None,
            },
            service: match service {
                Some(s) => Some(Cow::Borrowed(s)),
                None => None,
            },
        }
    }
}

impl fmt::Display for LogSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = [&self.product, &self.category, &self.service];
        let mut first = true;
        for part in parts.into_iter().flatten() {
            if !first {
                f.write_str("/")?;
            }
            f.write_str(part)?;
            first = false;
        }
        if first {
            f.write_str("-")?;
        }
        Ok(())
    }
}

/// Where in its source a record sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Locator {
    /// EVTX EventRecordID, or a sensor sequence number.
    Record(u64),
    /// 1-based line number in a text file (the first line of a multi-line event).
    Line(u64),
    /// Byte offset in the (decompressed) input.
    Offset(u64),
    /// Element index in a JSON array (CloudTrail `Records`).
    Index(u64),
    /// Nothing finer than the source is known.
    None,
}

impl fmt::Display for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Locator::Record(n) => write!(f, "record {n}"),
            Locator::Line(n) => write!(f, "line {n}"),
            Locator::Offset(n) => write!(f, "offset {n}"),
            Locator::Index(n) => write!(f, "element {n}"),
            Locator::None => f.write_str("-"),
        }
    }
}

/// Where an event came from: enough to find the original record again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Provenance {
    /// The input file's path as given (or `sensor`, `bus:<subject>`, `-` for stdin).
    pub source: Arc<str>,
    /// The record within it.
    pub locator: Locator,
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.locator {
            Locator::None => write!(f, "{}", self.source),
            loc => write!(f, "{}:{loc}", self.source),
        }
    }
}

/// One field value. Sigma compares strings, numbers and booleans; lists come from
/// multi-valued fields (a process's argv, a CloudTrail parameter list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// Text.
    Str(String),
    /// A whole number (ids, ports, counts).
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Several values; a Sigma condition matches when any element does.
    List(Vec<Value>),
    /// Present but empty (JSON `null`, EVTX `-` placeholders are *not* turned into this:
    /// they are kept as the text the record carries).
    Null,
}

impl Value {
    /// The value as text, when it is a scalar.
    pub fn as_str(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Str(s) => Some(Cow::Borrowed(s)),
            Value::Int(n) => Some(Cow::Owned(n.to_string())),
            Value::Float(x) => Some(Cow::Owned(x.to_string())),
            Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Value::List(_) | Value::Null => None,
        }
    }

    /// Converts a JSON value (objects are rendered as compact JSON text: readers flatten
    /// objects into dotted field names before they get here).
    pub fn from_json(value: &serde_json::Value) -> Value {
        match value {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(items) => {
                Value::List(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(_) => Value::Str(value.to_string()),
        }
    }

    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::Int(n) => serde_json::Value::from(*n),
            Value::Float(x) => serde_json::Number::from_f64(*x)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Null => serde_json::Value::Null,
        }
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}
impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Value::Int(i64::from(n))
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// Field name. Sigma taxonomy names are static; names read from a record (flattened
/// CloudTrail keys, unknown EventData) are owned.
pub type FieldName = Cow<'static, str>;

/// Fields in insertion order. Records carry a few dozen fields at most, so a vector with
/// a linear scan beats a hash map and keeps the original order for output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields(Vec<(FieldName, Value)>);

/// Serialised as a JSON object in field order (`{"Image": ..., "CommandLine": ...}`), the
/// shape of the generic JSONL input, so a recording reads back as it was written.
impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name.as_ref(), value)?;
        }
        map.end()
    }
}

/// Read from an object, or from a list of `[name, value]` pairs.
impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of fields or a list of [name, value] pairs")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Fields, A::Error> {
                let mut fields = Fields::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((name, value)) = map.next_entry::<String, Value>()? {
                    fields.set(name, value);
                }
                Ok(fields)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Fields, A::Error> {
                let mut fields = Fields::with_capacity(seq.size_hint().unwrap_or(8));
                while let Some((name, value)) = seq.next_element::<(String, Value)>()? {
                    fields.set(name, value);
                }
                Ok(fields)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Fields {
    /// An empty set with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Fields(Vec::with_capacity(n))
    }

    /// Sets a field, replacing an earlier value of the same name.
    pub fn set(&mut self, name: impl Into<FieldName>, value: impl Into<Value>) {
        let name = name.into();
        let value = value.into();
        if let Some(slot) = self.0.iter_mut().find(|(n, _)| *n == name) {
            slot.1 = value;
        } else {
            self.0.push((name, value));
        }
    }

    /// Sets a text field unless the text is empty: a field a source does not have is
    /// absent, not empty.
    pub fn set_nonempty(&mut self, name: impl Into<FieldName>, value: impl AsRef<str>) {
        let value = value.as_ref();
        if !value.is_empty() {
            self.set(name, Value::Str(value.to_owned()));
        }
    }

    /// The value of a field, by exact name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// A field as text.
    pub fn get_str(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).and_then(Value::as_str)
    }

    /// Removes a field, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let at = self.0.iter().position(|(n, _)| n == name)?;
        Some(self.0.remove(at).1)
    }

    /// Iterates over the fields in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(n, v)| (n.as_ref(), v))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields as a JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.0
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_json()))
                .collect(),
        )
    }
}

/// The original record, kept beside the normalised fields for output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Original {
    /// A structured record (EVTX rendered to JSON, a JSON line, a CloudTrail element).
    Json(serde_json::Value),
    /// Text lines as read (auditd records of one event, a syslog line).
    Text(String),
}

/// A normalised event: the one type every source produces and every rule reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When the event happened, from the record itself (UTC); `None` when the record has
    /// no time (it then never falls outside `--since`/`--until`).
    pub time: Option<jiff::Timestamp>,
    /// The host the record is about (`Computer`, `hostname`, `node`, account/region for
    /// cloud).
    pub host: Option<String>,
    /// Which rules can apply.
    pub logsource: LogSource,
    /// Fields under Sigma taxonomy names.
    pub fields: Fields,
    /// Where the record came from.
    pub provenance: Provenance,
    /// The record as read, when the reader kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<Original>,
}

impl Event {
    /// An event with no fields yet.
    pub fn new(logsource: LogSource, provenance: Provenance) -> Self {
        Event {
            time: None,
            host: None,
            logsource,
            fields: Fields::default(),
            provenance,
            original: None,
        }
    }

    /// The event time, or the Unix epoch when unknown (for sorting).
    pub fn time_or_epoch(&self) -> Timestamp {
        self.time.unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_serialise_as_an_object_in_order_and_read_back_from_either_shape() {
        let mut fields = Fields::default();
        fields.set("Image", "/usr/bin/ss");
        fields.set("ProcessId", Value::Int(7));
        let json = serde_json::to_string(&fields).unwrap();
        assert_eq!(json, r#"{"Image":"/usr/bin/ss","ProcessId":7}"#);
        let back: Fields = serde_json::from_str(&json).unwrap();
        assert_eq!(back, fields);
        let pairs: Fields =
            serde_json::from_str(r#"[["Image","/usr/bin/ss"],["ProcessId",7]]"#).unwrap();
        assert_eq!(pairs, fields);
    }
}
