//! What a chain alert says: the chain rule, its group, and its steps in time order.

use std::sync::Arc;

use jiff::Timestamp;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use sockhunt_events::Locator;

use crate::loader::Level;

/// The correlation rule a chain comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainRule {
    /// The correlation's `id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The correlation's `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its title.
    pub title: String,
    /// Its level as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// `event_count`, `value_count`, `temporal`, `temporal_ordered`.
    pub correlation_type: String,
    /// The window in force (after overrides), in seconds.
    pub timespan_secs: u64,
    /// Tags as written.
    pub tags: Vec<String>,
    /// The file it was loaded from.
    pub source: Arc<str>,
}

impl ChainRule {
    /// How summaries name the chain rule: its id, else its name, else its title.
    pub fn key(&self) -> &str {
        self.id
            .as_deref()
            .or(self.name.as_deref())
            .unwrap_or(&self.title)
    }
}

/// A rule that fired on a step's event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRule {
    /// The rule's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its title.
    pub title: String,
    /// Its ATT&CK techniques (`T1049`).
    pub techniques: Vec<String>,
}

/// One event of a chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainStep {
    /// When it happened.
    pub time: Timestamp,
    /// The rules that fired on it (several rules on one event make one step).
    pub rules: Vec<StepRule>,
    /// The field that says what happened (`CommandLine`, `eventName`, `command`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
    /// Its value: the command line or the API call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
    /// The acting user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The process image, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The input file (or `sensor`, `bus:<subject>`, `-`).
    pub source: Arc<str>,
    /// The record within it.
    pub locator: Locator,
    /// For ordered chains: which stage of the chain rule this step serves (0 = first
    /// referenced rule). Several when the event serves several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<usize>,
}

impl ChainStep {
    /// Every ATT&CK technique of the step's rules, without repeats.
    pub fn techniques(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for t in self.rules.iter().flat_map(|r| r.techniques.iter()) {
            if !out.contains(&t.as_str()) {
                out.push(t);
            }
        }
        out
    }
}

/// Whether a chain may still grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainStatus {
    /// Its window is still open: a contributing event would extend it.
    Live,
    /// Its window passed (or the input ended): it is final.
    Closed,
}

/// One chain alert: a chain rule's condition met by one group, with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    /// Unique within one tracker, in order of opening.
    pub id: u64,
    /// The chain rule.
    pub rule: ChainRule,
    /// The level of the alert: the rule's, raised to critical when a lateral step
    /// reached a host the discovery had named.
    pub level: Option<Level>,
    /// The group-by fields and their values (`sockhunt.host`, `sockhunt.session`).
    pub group: Vec<(String, String)>,
    /// The first step's time.
    pub first: Timestamp,
    /// The last step's time.
    pub last: Timestamp,
    /// ATT&CK techniques of the steps, in order of first appearance.
    pub techniques: Vec<String>,
    /// The steps in time order (at most the tracker's `max_steps`).
    pub steps: Vec<ChainStep>,
    /// Steps left out beyond `max_steps` (counted, not lost silently).
    pub steps_omitted: u64,
    /// Remote hosts reached by the chain's last-stage steps (lateral movement).
    pub targets: Vec<String>,
    /// Whether one of those targets was named by an earlier step of the chain.
    pub target_named_by_discovery: bool,
    /// Live or closed.
    pub status: ChainStatus,
}

impl Chain {
    /// The chain as one JSON object: `{"type":"chain",...}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Number of steps, including those left out.
    pub fn step_count(&self) -> u64 {
        self.steps.len() as u64 + self.steps_omitted
    }
}

struct GroupView<'a>(&'a [(String, String)]);

impl Serialize for GroupView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Serialize for Chain {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", "chain")?;
        map.serialize_entry("chain_id", &self.id)?;
        map.serialize_entry("rule", &self.rule)?;
        if let Some(level) = self.level {
            map.serialize_entry("level", &level)?;
        }
        map.serialize_entry("group", &GroupView(&self.group))?;
        map.serialize_entry("first", &self.first)?;
        map.serialize_entry("last", &self.last)?;
        map.serialize_entry("techniques", &self.techniques)?;
        map.serialize_entry("step_count", &self.step_count())?;
        if self.steps_omitted > 0 {
            map.serialize_entry("steps_omitted", &self.steps_omitted)?;
        }
        if !self.targets.is_empty() {
            map.serialize_entry("targets", &self.targets)?;
            map.serialize_entry("target_named_by_discovery", &self.target_named_by_discovery)?;
        }
        map.serialize_entry("status", &self.status)?;
        map.serialize_entry("steps", &self.steps)?;
        map.end()
    }
}

/// What happened to a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainUpdateKind {
    /// A chain's condition was met for the first time: a new alert.
    New,
    /// A live chain gained steps: update the alert already raised, do not raise another.
    Updated,
    /// A chain's window passed: the alert is final.
    Closed,
}

/// A change to a chain, as the streaming API reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainUpdate {
    /// New, updated or closed.
    pub kind: ChainUpdateKind,
    /// The chain as it is now.
    pub chain: Chain,
}

impl Serialize for ChainUpdate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The chain's own object with the kind of change beside its `type`.
        let mut value = serde_json::to_value(&self.chain).map_err(serde::ser::Error::custom)?;
        if let serde_json::Value::Object(map) = &mut value {
            let mut out = serde_json::Map::with_capacity(map.len() + 1);
            for (k, v) in std::mem::take(map) {
                let is_type = k == "type";
                out.insert(k, v);
                if is_type {
                    out.insert(
                        "update".to_owned(),
                        serde_json::to_value(self.kind).map_err(serde::ser::Error::custom)?,
                    );
                }
            }
            *map = out;
        }
        value.serialize(serializer)
    }
}
