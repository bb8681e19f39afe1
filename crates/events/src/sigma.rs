//! The bridge to rsigma: our [`Event`] implements its `Event` trait, so its engines
//! evaluate our events directly, without building a JSON document per record.

use std::borrow::Cow;

use rsigma_eval::event::{Event as SigmaEvent, EventValue};

use crate::event::{Event, Value};

fn to_event_value(value: &Value) -> EventValue<'_> {
    match value {
        Value::Str(s) => EventValue::Str(Cow::Borrowed(s)),
        Value::Int(n) => EventValue::Int(*n),
        Value::Float(x) => EventValue::Float(*x),
        Value::Bool(b) => EventValue::Bool(*b),
        Value::List(items) => EventValue::Array(items.iter().map(to_event_value).collect()),
        Value::Null => EventValue::Null,
    }
}

fn visit_strings(value: &Value, visit: &mut dyn FnMut(&str)) {
    match value {
        Value::Str(s) => visit(s),
        Value::List(items) => items.iter().for_each(|v| visit_strings(v, visit)),
        _ => {}
    }
}

impl SigmaEvent for Event {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        self.fields.get(path).map(to_event_value)
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        let mut found = false;
        for (_, value) in self.fields.iter() {
            visit_strings(value, &mut |s| found = found || pred(s));
            if found {
                return true;
            }
        }
        false
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        let mut out = Vec::new();
        for (_, value) in self.fields.iter() {
            collect_strings(value, &mut out);
        }
        out
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        for (_, value) in self.fields.iter() {
            visit_strings(value, visit);
        }
    }

    fn to_json(&self) -> serde_json::Value {
        self.fields.to_json()
    }

    fn field_keys(&self) -> Vec<Cow<'_, str>> {
        self.fields.iter().map(|(n, _)| Cow::Borrowed(n)).collect()
    }

    fn top_level_keys(&self) -> Option<Vec<Cow<'_, str>>> {
        Some(self.field_keys())
    }
}

fn collect_strings<'a>(value: &'a Value, out: &mut Vec<Cow<'a, str>>) {
    match value {
        Value::Str(s) => out.push(Cow::Borrowed(s)),
        Value::List(items) => items.iter().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rsigma_eval::event::Event as _;

    use crate::{Event, Locator, LogSource, Provenance, Value};

    #[test]
    fn fields_are_visible_to_rsigma() {
        let mut event = Event::new(
            LogSource::new(Some("windows"), Some("process_creation"), None),
            Provenance {
                source: Arc::from("t"),
                locator: Locator::None,
            },
        );
        event.fields.set("CommandLine", "netstat -ano");
        event.fields.set("ProcessId", Value::Int(42));
        assert!(event.get_field("CommandLine").is_some());
        assert!(event.get_field("Missing").is_none());
        assert!(event.any_string_value(&|s| s.contains("netstat")));
        assert_eq!(event.all_string_values().len(), 1);
    }
}
