//! Cloud audit logs (AWS CloudTrail, Azure Activity, GCP audit) to Sigma events.
//!
//! Cloud records keep their own field names, as the Sigma cloud rules use them; nested
//! objects are flattened with dots (`userIdentity.arn`, `requestParameters.vpcId`,
//! `protoPayload.methodName`). Arrays of scalars become lists; arrays of objects are
//! flattened element by element into lists under the same dotted name
//! (`requestParameters.securityGroupIdSet.items.groupId`), so a rule matches when any
//! element does. Keys starting with `p_` are enrichment added by log pipelines (Panther)
//! and are dropped.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::{Map, Value as Json};

use crate::event::{Event, FieldName, Fields, LogSource, Original, Provenance, Value};

/// CloudTrail records.
pub const CLOUDTRAIL: LogSource = LogSource::new(Some("aws"), None, Some("cloudtrail"));
/// Azure Activity log records.
pub const AZURE_ACTIVITY: LogSource = LogSource::new(Some("azure"), None, Some("activitylogs"));
/// GCP Cloud Audit Logs records.
pub const GCP_AUDIT: LogSource = LogSource::new(Some("gcp"), None, Some("gcp.audit"));

/// Parses the time notations cloud and log records use: RFC 3339 with an offset,
/// `YYYY-MM-DD HH:MM:SS[.frac]` (taken as UTC), and Unix epoch seconds (or milliseconds
/// when the number is too large to be seconds).
pub fn parse_time(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts);
    }
    if let Ok(dt) = text.replacen(' ', "T", 1).parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp());
    }
    if let Some(ts) = epoch_text(text) {
        return Some(ts);
    }
    if let Ok(n) = text.parse::<f64>() {
        return epoch_time(n);
    }
    None
}

/// `SECONDS[.FRACTION]` exactly, without going through floating point.
fn epoch_text(text: &str) -> Option<Timestamp> {
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) || secs.len() > 11 {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let nanos = if frac.is_empty() {
        0
    } else {
        frac.parse::<i32>().ok()? * 10i32.pow(9 - frac.len() as u32)
    };
    Timestamp::new(secs.parse().ok()?, nanos).ok()
}

/// A Unix epoch number as a time: seconds, or milliseconds beyond year 5000 in seconds.
pub fn epoch_time(n: f64) -> Option<Timestamp> {
    if !n.is_finite() {
        return None;
    }
    let secs = if n.abs() > 100_000_000_000.0 {
        n / 1000.0
    } else {
        n
    };
    let whole = secs.floor();
    let nanos = ((secs - whole) * 1e9).round() as i32;
    Timestamp::new(whole as i64, nanos.clamp(0, 999_999_999)).ok()
}

/// A JSON time value (text or epoch number).
pub fn json_time(value: &Json) -> Option<Timestamp> {
    match value {
        Json::String(s) => parse_time(s),
        Json::Number(n) => n.as_f64().and_then(epoch_time),
        _ => None,
    }
}

/// Flattens nested JSON into dotted field names (see the module documentation).
pub fn flatten_into(fields: &mut Fields, map: &Map<String, Json>, skip: &dyn Fn(&str) -> bool) {
    let mut flat = Flattener::default();
    for (key, value) in map {
        if skip(key) {
            continue;
        }
        flat.add(key.clone(), value, false);
    }
    for (name, value) in flat.out {
        fields.set(FieldName::Owned(name), value);
    }
}

#[derive(Default)]
struct Flattener {
    out: Vec<(String, Value)>,
    index: HashMap<String, usize>,
}

impl Flattener {
    fn add(&mut self, name: String, value: &Json, in_list: bool) {
        match value {
            Json::Object(map) => {
                for (key, inner) in map {
                    self.add(format!("{name}.{key}"), inner, in_list);
                }
            }
            Json::Array(items) => {
                if items.iter().any(|i| i.is_object() || i.is_array()) {
                    for item in items {
                        self.add(name.clone(), item, true);
                    }
                } else {
                    let list = Value::List(items.iter().map(Value::from_json).collect());
                    self.put(name, list, in_list);
                }
            }
            scalar => self.put(name, Value::from_json(scalar), in_list),
        }
    }

    fn put(&mut self, name: String, value: Value, in_list: bool) {
        match self.index.get(&name) {
            Some(&at) => {
                let slot = &mut self.out[at].1;
                let previous = std::mem::replace(slot, Value::Null);
                let mut items = match previous {
                    Value::List(items) => items,
                    other => vec![other],
                };
                match value {
                    Value::List(more) => items.extend(more),
                    other => items.push(other),
                }
                *slot = Value::List(items);
            }
            None => {
                let value = match value {
                    v @ Value::List(_) => v,
                    v if in_list => Value::List(vec![v]),
                    v => v,
                };
                self.index.insert(name.clone(), self.out.len());
                self.out.push((name, value));
            }
        }
    }
}

fn is_enrichment(key: &str) -> bool {
    key.starts_with("p_")
}

fn str_at<'a>(map: &'a Map<String, Json>, path: &[&str]) -> Option<&'a str> {
    let mut current = map.get(path[0])?;
    for key in &path[1..] {
        current = current.as_object()?.get(*key)?;
    }
    current.as_str()
}

fn new_event(
    logsource: LogSource,
    map: &Map<String, Json>,
    provenance: Provenance,
    keep_original: bool,
) -> Event {
    let mut event = Event::new(logsource, provenance);
    if keep_original {
        event.original = Some(Original::Json(Json::Object(map.clone())));
    }
    event
}

/// One CloudTrail record. The host is the account the call was made in.
pub fn cloudtrail(map: &Map<String, Json>, provenance: Provenance, keep_original: bool) -> Event {
    let mut event = new_event(CLOUDTRAIL, map, provenance, keep_original);
    event.time = map.get("eventTime").and_then(json_time);
    event.host = str_at(map, &["recipientAccountId"])
        .or_else(|| str_at(map, &["userIdentity", "accountId"]))
        .map(str::to_owned);
    event.fields = Fields::with_capacity(map.len() * 2);
    flatten_into(&mut event.fields, map, &is_enrichment);
    event
}

/// Azure Activity log fields that the REST API renders as `{value, localizedValue}`:
/// rules compare against the value.
const AZURE_LOCALIZED: [&str; 6] = [
    "operationName",
    "category",
    "status",
    "subStatus",
    "resourceProviderName",
    "eventName",
];

/// One Azure Activity log record (diagnostic export, REST API or Log Analytics shape).
/// The host is the subscription the resource belongs to.
pub fn azure(map: &Map<String, Json>, provenance: Provenance, keep_original: bool) -> Event {
    let mut event = new_event(AZURE_ACTIVITY, map, provenance, keep_original);
    event.time = [
        "time",
        "eventTimestamp",
        "TimeGenerated",
        "submissionTimestamp",
    ]
    .iter()
    .find_map(|k| map.get(*k).and_then(json_time));
    let resource = str_at(map, &["resourceId"]).or_else(|| str_at(map, &["ResourceId"]));
    event.host = resource
        .and_then(subscription_of)
        .or_else(|| str_at(map, &["subscriptionId"]))
        .or_else(|| str_at(map, &["tenantId"]))
        .map(str::to_owned);
    event.fields = Fields::with_capacity(map.len() * 2);
    flatten_into(&mut event.fields, map, &|k| {
        is_enrichment(k) || AZURE_LOCALIZED.contains(&k)
    });
    for key in AZURE_LOCALIZED {
        match map.get(key) {
            Some(Json::Object(inner)) => {
                if let Some(v) = inner.get("value").and_then(Json::as_str) {
                    event.fields.set(key, v);
                }
                if let Some(v) = inner.get("localizedValue").and_then(Json::as_str) {
                    event.fields.set(format!("{key}.localizedValue"), v);
                }
            }
            Some(other) => event.fields.set(key, Value::from_json(other)),
            None => {}
        }
    }
    event
}

fn subscription_of(resource_id: &str) -> Option<&str> {
    let mut parts = resource_id.split('/').filter(|p| !p.is_empty());
    while let Some(part) = parts.next() {
        if part.eq_ignore_ascii_case("subscriptions") {
            return parts.next();
        }
    }
    None
}

/// One GCP Cloud Audit Logs entry. The host is the project.
pub fn gcp(map: &Map<String, Json>, provenance: Provenance, keep_original: bool) -> Event {
    let mut event = new_event(GCP_AUDIT, map, provenance, keep_original);
    event.time = ["timestamp", "receiveTimestamp"]
        .iter()
        .find_map(|k| map.get(*k).and_then(json_time));
    event.host = str_at(map, &["resource", "labels", "project_id"])
        .map(str::to_owned)
        .or_else(|| {
            let log = str_at(map, &["logName"])?;
            let rest = log.strip_prefix("projects/")?;
            Some(rest.split('/').next()?.to_owned())
        });
    event.fields = Fields::with_capacity(map.len() * 2);
    flatten_into(&mut event.fields, map, &is_enrichment);
    event
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let t = |s| parse_time(s).map(|t| t.to_string());
        assert_eq!(
            t("2021-10-19 01:06:59").as_deref(),
            Some("2021-10-19T01:06:59Z")
        );
        assert_eq!(
            t("2025-12-22T10:30:00.0000000Z").as_deref(),
            Some("2025-12-22T10:30:00Z")
        );
        assert_eq!(
            t("1604994496.155").as_deref(),
            Some("2020-11-10T07:48:16.155Z")
        );
        assert_eq!(t("nonsense"), None);
    }

    #[test]
    fn flattening() {
        let json: Json = serde_json::json!({
            "a": {"b": 1, "c": {"d": "x"}, "e": {}},
            "items": [{"id": "1"}, {"id": "2", "n": 3}],
            "tags": ["x", "y"],
            "p_row_id": "dropped"
        });
        let mut fields = Fields::default();
        flatten_into(&mut fields, json.as_object().unwrap(), &is_enrichment);
        assert_eq!(fields.get("a.b"), Some(&Value::Int(1)));
        assert_eq!(fields.get_str("a.c.d").as_deref(), Some("x"));
        assert_eq!(
            fields.get("items.id"),
            Some(&Value::List(vec!["1".into(), "2".into()]))
        );
        assert_eq!(
            fields.get("items.n"),
            Some(&Value::List(vec![Value::Int(3)]))
        );
        assert_eq!(
            fields.get("tags"),
            Some(&Value::List(vec!["x".into(), "y".into()]))
        );
        assert!(fields.get("p_row_id").is_none());
    }
}
