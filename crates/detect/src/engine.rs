//! Matching events against loaded rules with rsigma's engine.
//!
//! Rules are grouped by their logsource, one rsigma [`Engine`] per group. An event is
//! only offered to the groups whose logsource accepts it (Sigma semantics: every
//! dimension the rule names must equal the event's), so a Sysmon process-creation event
//! never costs a cycle in the PowerShell or cloud rules, and inside a group rsigma's
//! candidate index picks the rules whose fields the event can satisfy.

use std::sync::Arc;

use rsigma_eval::Engine;
use serde::Serialize;
use sockhunt_events::{Event, Interest, LogSource};

use crate::loader::{RuleError, RuleMeta, RuleSet};

/// The custom attribute that carries a rule's index into [`Detector::rules`] through the
/// engine, so a match maps back to our metadata without comparing ids or titles.
const INDEX_ATTRIBUTE: &str = "sockhunt.rule_index";

/// One rule that fired on one event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    /// The rule.
    pub rule: Arc<RuleMeta>,
    /// The fields (and values) that made it fire, as rsigma reports them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matched: Vec<MatchedField>,
}

/// One field a rule's detection matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchedField {
    /// The field name.
    pub field: String,
    /// Its value in the event.
    pub value: serde_json::Value,
}

struct Group {
    logsource: LogSource,
    engine: Engine,
}

/// Compiled detection rules, shared by every reader thread (`Detector` is `Sync`).
pub struct Detector {
    groups: Vec<Group>,
    rules: Vec<Arc<RuleMeta>>,
    filter_errors: Vec<RuleError>,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("rules", &self.rules.len())
            .field("groups", &self.groups.len())
            .finish()
    }
}

impl Detector {
    /// Compiles every detection rule of the set (filter rules applied).
    pub fn new(rules: &RuleSet) -> Detector {
        Detector::with_filter(rules, |_| true)
    }

    /// Compiles the detection rules `keep` accepts (for `--min-level` and rule tests).
    pub fn with_filter(rules: &RuleSet, mut keep: impl FnMut(&RuleMeta) -> bool) -> Detector {
        let mut metas: Vec<Arc<RuleMeta>> = Vec::new();
        let mut grouped: Vec<(LogSource, Vec<rsigma_eval::CompiledRule>)> = Vec::new();
        for loaded in rules.rules() {
            if !keep(&loaded.meta) {
                continue;
            }
            let index = metas.len();
            metas.push(loaded.meta.clone());
            let mut compiled = loaded.compiled.clone();
            Arc::make_mut(&mut compiled.custom_attributes)
                .insert(INDEX_ATTRIBUTE.to_owned(), serde_json::Value::from(index));
            let ls = &loaded.meta.logsource;
            match grouped.iter_mut().find(|(g, _)| g == ls) {
                Some((_, list)) => list.push(compiled),
                None => grouped.push((ls.clone(), vec![compiled])),
            }
        }
        let mut filter_errors = Vec::new();
        let groups = grouped
            .into_iter()
            .map(|(logsource, compiled)| {
                let mut engine = Engine::new();
                engine.extend_compiled_rules(compiled);
                for filter in rules.filters() {
                    if let Err(e) = engine.apply_filter(&filter.rule) {
                        let error = RuleError {
                            file: filter.meta.source.to_string(),
                            line: None,
                            column: None,
                            title: Some(filter.meta.title.clone()),
                            reason: "filter",
                            message: e.to_string(),
                        };
                        // Every group reports the same failure: keep one.
                        if !filter_errors.contains(&error) {
                            filter_errors.push(error);
                        }
                    }
                }
                Group { logsource, engine }
            })
            .collect();
        Detector {
            groups,
            rules: metas,
            filter_errors,
        }
    }

    /// Turns rsigma's per-field bloom pre-filter on or off (off by default: see
    /// `benches/hunt/README.md` for the measurement behind that choice).
    pub fn set_bloom_prefilter(&mut self, enabled: bool) {
        for group in &mut self.groups {
            group.engine.set_bloom_prefilter(enabled);
        }
    }

    /// The rules this detector evaluates.
    pub fn rules(&self) -> &[Arc<RuleMeta>] {
        &self.rules
    }

    /// Filter rules that could not be applied while building the detector.
    pub fn filter_errors(&self) -> &[RuleError] {
        &self.filter_errors
    }

    /// Which records can match some rule of this detector: hand it to the readers
    /// (`ReadOptions::interest`) so they skip everything else before building fields.
    pub fn interest(&self) -> Interest {
        Interest::from_rules(
            self.rules
                .iter()
                .filter(|r| r.kind == crate::loader::RuleKind::Detection)
                .map(|r| (r.logsource.clone(), r.event_ids.clone())),
        )
    }

    /// The rules that fire on `event`, in no particular order.
    pub fn detect(&self, event: &Event) -> Vec<Detection> {
        let mut out = Vec::new();
        for group in &self.groups {
            if !accepts(&group.logsource, &event.logsource) {
                continue;
            }
            for result in group.engine.evaluate(event) {
                let Some(index) = result
                    .header
                    .custom_attributes
                    .get(INDEX_ATTRIBUTE)
                    .and_then(serde_json::Value::as_u64)
                    .and_then(|i| usize::try_from(i).ok())
                else {
                    continue;
                };
                let Some(rule) = self.rules.get(index) else {
                    continue;
                };
                let matched = result
                    .as_detection()
                    .map(|d| {
                        d.matched_fields
                            .iter()
                            .map(|m| MatchedField {
                                field: m.field.clone(),
                                value: m.value.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(Detection {
                    rule: rule.clone(),
                    matched,
                });
            }
        }
        out
    }
}

/// Sigma logsource routing: every dimension the rule sets must be present and equal
/// (case-insensitively) in the event's.
fn accepts(rule: &LogSource, event: &LogSource) -> bool {
    fn dim(
        rule: &Option<std::borrow::Cow<'static, str>>,
        event: &Option<std::borrow::Cow<'static, str>>,
    ) -> bool {
        match (rule, event) {
            (None, _) => true,
            (Some(r), Some(e)) => r.eq_ignore_ascii_case(e),
            (Some(_), None) => false,
        }
    }
    dim(&rule.product, &event.product)
        && dim(&rule.category, &event.category)
        && dim(&rule.service, &event.service)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use sockhunt_events::{Event, Locator, LogSource, Provenance};

    use super::*;

    fn is_sync<T: Sync + Send>() {}

    #[test]
    fn detector_is_shareable() {
        is_sync::<Detector>();
    }

    fn event(ls: LogSource, fields: &[(&'static str, &str)]) -> Event {
        let mut e = Event::new(
            ls,
            Provenance {
                source: Arc::from("t"),
                locator: Locator::Record(1),
            },
        );
        for (k, v) in fields {
            e.fields.set(*k, *v);
        }
        e
    }

    #[test]
    fn routes_by_logsource_and_maps_back() {
        let mut set = RuleSet::new();
        set.add_yaml(
            "a.yml",
            "title: Netstat\nid: a\nlogsource:\n  category: process_creation\ndetection:\n  sel:\n    CommandLine|contains: netstat\n  condition: sel\nlevel: high\n",
        );
        set.add_yaml(
            "b.yml",
            "title: Script\nid: b\nlogsource:\n  product: windows\n  category: ps_script\ndetection:\n  sel:\n    ScriptBlockText|contains: netstat\n  condition: sel\n",
        );
        assert_eq!(set.errors(), &[]);
        let detector = Detector::new(&set);
        let pc = LogSource::new(Some("linux"), Some("process_creation"), None);
        let hits = detector.detect(&event(pc.clone(), &[("CommandLine", "netstat -tan")]));
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].rule.title, "Netstat");
        assert_eq!(hits[0].matched[0].field, "CommandLine");
        // The script rule's field, but the wrong logsource.
        let hits = detector.detect(&event(pc, &[("ScriptBlockText", "netstat")]));
        assert!(hits.is_empty());
        let ps = LogSource::new(Some("windows"), Some("ps_script"), Some("powershell"));
        let hits = detector.detect(&event(ps, &[("ScriptBlockText", "netstat -ano")]));
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].rule.key(), "b");
        assert!(detector.interest().wants(&LogSource::new(
            Some("macos"),
            Some("process_creation"),
            None
        )));
        assert!(!detector.interest().wants(&LogSource::new(
            Some("linux"),
            Some("file_access"),
            None
        )));
    }
}
