//! Synthetic fields the chain layer attaches to an event before correlation.
//!
//! Correlation rules group and count by fields of the event. Some of what chains need is
//! not in any single field of the record: which ATT&CK technique the matched rule is
//! about, and which session the event belongs to across sources that name it
//! differently. The chain layer computes them and presents them, next to the event's own
//! fields, under names no log source uses:
//!
//! | field | value |
//! |---|---|
//! | `sockhunt.host` | the event's host, lower-case (`fs03.offsec.lan`), `-` when unknown |
//! | `sockhunt.session` | the best session key of the source (see [`super::session`]) |
//! | `sockhunt.technique` | the ATT&CK technique of the rule that fired: its first `attack.tXXXX` tag, without sub-technique (`T1049`) |
//! | `sockhunt.rule` | the id (or name, or title) of the rule that fired |

use std::borrow::Cow;

use rsigma_eval::event::{Event as SigmaEvent, EventValue};
use sockhunt_events::Event;

/// The event's host, lower-case.
pub const HOST: &str = "sockhunt.host";
/// The event's session key.
pub const SESSION: &str = "sockhunt.session";
/// One ATT&CK technique of the rule that fired.
pub const TECHNIQUE: &str = "sockhunt.technique";
/// The rule that fired.
pub const RULE: &str = "sockhunt.rule";

/// An event seen through the chain layer: its own fields plus the synthetic ones.
#[derive(Debug, Clone, Copy)]
pub struct ChainEvent<'a> {
    /// The normalised event.
    pub event: &'a Event,
    /// `sockhunt.host`.
    pub host: &'a str,
    /// `sockhunt.session`.
    pub session: &'a str,
    /// `sockhunt.technique`, when the rule has one.
    pub technique: Option<&'a str>,
    /// `sockhunt.rule`.
    pub rule: Option<&'a str>,
}

impl ChainEvent<'_> {
    fn synthetic(&self, path: &str) -> Option<Option<&str>> {
        match path {
            HOST => Some(Some(self.host)),
            SESSION => Some(Some(self.session)),
            TECHNIQUE => Some(self.technique),
            RULE => Some(self.rule),
            _ => None,
        }
    }
}

impl SigmaEvent for ChainEvent<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        match self.synthetic(path) {
            Some(value) => value.map(|v| EventValue::Str(Cow::Borrowed(v))),
            None => self.event.get_field(path),
        }
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.event.any_string_value(pred)
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        self.event.all_string_values()
    }

    fn to_json(&self) -> serde_json::Value {
        let mut json = self.event.fields.to_json();
        if let serde_json::Value::Object(map) = &mut json {
            for name in [HOST, SESSION, TECHNIQUE, RULE] {
                if let Some(Some(v)) = self.synthetic(name) {
                    map.insert(name.to_owned(), serde_json::Value::from(v));
                }
            }
        }
        json
    }
}
