//! The chain tracker: rsigma's correlation engine for "the condition holds", this layer
//! for one alert per chain instance with its evidence.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use rsigma_eval::event::{Event as _, EventValue};
use rsigma_eval::result::{DetectionBody, EvaluationResult, ResultBody, RuleHeader};
use rsigma_eval::{
    CorrelationAction, CorrelationConfig, CorrelationEngine, CorrelationEventMode,
    TimestampFallback,
};
use rsigma_parser::{ConditionOperator, CorrelationCondition, CorrelationRule, CorrelationType};
use serde::Serialize;
use sockhunt_events::{Event, Locator};

use super::chain::{
    Chain, ChainRule, ChainStatus, ChainStep, ChainUpdate, ChainUpdateKind, StepRule,
};
use super::config::ChainConfig;
use super::fields::ChainEvent;
use super::session::{host_key, session_key};
use super::target;
use crate::alert::{value_text, TELLING_FIELDS};
use crate::engine::Detection;
use crate::hunt::Hit;
use crate::loader::{Level, RuleMeta, RuleSet};

/// Correlation attribute: ATT&CK techniques a chain must contain (`[T1049]`).
pub const REQUIRE_TECHNIQUES: &str = "sockhunt.require_techniques";
/// Correlation attribute: tags whose every loaded rule joins the correlation's `rules`.
pub const INCLUDE_TAGGED: &str = "sockhunt.include_tagged";

/// A correlation rule the chain layer could not use (the others still run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{file}: chain rule `{title}`: {message}")]
pub struct ChainError {
    /// The file of the correlation rule.
    pub file: String,
    /// Its title.
    pub title: String,
    /// What is wrong.
    pub message: String,
}

/// Counts of a tracker's work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ChainStats {
    /// Events with a detection some chain takes.
    pub events: u64,
    /// Of those, events without a time (they cannot be placed in a window: skipped).
    pub untimed: u64,
    /// Of those, events older than an event seen before (processed all the same).
    pub late: u64,
    /// Chains opened.
    pub chains: u64,
    /// Steps left out of chains beyond `max_steps`.
    pub steps_omitted: u64,
    /// Events that repeated a step already held (same time, record and command): the
    /// same record read from two copies of a log.
    pub duplicates: u64,
}

/// One chain rule as the tracker runs it.
#[derive(Debug)]
struct Spec {
    rule: ChainRule,
    group_by: Vec<String>,
    timespan: i64,
    /// Referenced rules of a `temporal_ordered` chain, in order; 1 otherwise.
    stages: usize,
    ordered: bool,
    require: Vec<String>,
}

#[derive(Debug)]
struct Pending {
    secs: i64,
    seq: u64,
    step: ChainStep,
}

#[derive(Debug)]
struct Live {
    chain: Chain,
    last_secs: i64,
}

#[derive(Debug, Default)]
struct GroupState {
    /// Contributing steps within the window, not yet part of a chain.
    pending: VecDeque<Pending>,
    live: Option<Live>,
}

type GroupValues = Vec<Option<String>>;

/// Follows chains of discovery behaviour through a stream of events and their
/// detections. Feed events in time order ([`chains`] sorts a finished hunt's); late events
/// are processed and counted.
pub struct ChainTracker {
    engine: CorrelationEngine,
    specs: Vec<Spec>,
    /// rsigma's name of a correlation (its id) -> spec index, for chain rules only.
    spec_by_key: HashMap<String, usize>,
    /// Detection rule id or name -> (spec, stage) it feeds.
    inputs: HashMap<String, Vec<(usize, usize)>>,
    groups: HashMap<(usize, GroupValues), GroupState>,
    max_steps: usize,
    watermark: i64,
    next_sweep: i64,
    sweep_every: i64,
    seq: u64,
    next_chain: u64,
    stats: ChainStats,
    errors: Vec<ChainError>,
}

impl std::fmt::Debug for ChainTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainTracker")
            .field("chains", &self.specs.len())
            .field("groups", &self.groups.len())
            .field("stats", &self.stats)
            .finish()
    }
}

/// How rsigma names a rule: the id, else the name.
fn rsigma_key(rule: &RuleMeta) -> Option<&str> {
    rule.id.as_deref().or(rule.name.as_deref())
}

/// A custom attribute as a list of strings (a single string is a list of one).
fn string_list<T: Serialize>(value: Option<&T>) -> Vec<String> {
    match value.and_then(|v| serde_json::to_value(v).ok()) {
        Some(serde_json::Value::String(s)) => vec![s],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

impl ChainTracker {
    /// A tracker for every correlation rule of `rules` (the built-in chains and any the
    /// user loaded). Correlations that cannot be used are in [`ChainTracker::errors`].
    pub fn new(rules: &RuleSet, config: &ChainConfig) -> ChainTracker {
        let mut errors = Vec::new();
        let loaded = rules.correlations();
        let mut corrs: Vec<(CorrelationRule, Option<Level>, Arc<str>)> = loaded
            .iter()
            .map(|c| (c.rule.clone(), c.meta.level, c.meta.source.clone()))
            .collect();

        // Every correlation answers to one key in rsigma's results: its id, else its name,
        // else its title. Suppression and reset would hide the "condition holds" signal
        // this layer turns into one alert per chain (and rsigma applies a rule's
        // `rsigma.suppress` to every correlation of the engine): the chain layer owns that.
        for (c, _, _) in &mut corrs {
            if c.id.is_none() {
                c.id = Some(c.name.clone().unwrap_or_else(|| c.title.clone()));
            }
            c.custom_attributes
                .retain(|k, _| !matches!(k.as_str(), "rsigma.suppress" | "rsigma.action"));
        }

        // `sockhunt.include_tagged`: every loaded rule with one of these tags joins.
        for (c, _, _) in &mut corrs {
            let tags = string_list(c.custom_attributes.get(INCLUDE_TAGGED));
            if tags.is_empty() {
                continue;
            }
            for rule in rules.rules() {
                let tagged = rule
                    .meta
                    .tags
                    .iter()
                    .any(|t| tags.iter().any(|w| tag_covers(w, t)));
                if let (true, Some(key)) = (tagged, rsigma_key(&rule.meta)) {
                    if !c.rules.iter().any(|r| r == key) {
                        c.rules.push(key.to_owned());
                    }
                }
            }
        }

        let key_of = |c: &CorrelationRule| -> Vec<String> {
            c.id.iter().chain(c.name.iter()).cloned().collect()
        };
        let by_key: HashMap<String, usize> = corrs
            .iter()
            .enumerate()
            .flat_map(|(i, (c, _, _))| key_of(c).into_iter().map(move |k| (k, i)))
            .collect();
        let referenced: HashSet<usize> = corrs
            .iter()
            .flat_map(|(c, _, _)| c.rules.iter().filter_map(|r| by_key.get(r).copied()))
            .collect();

        // Overrides: a chain's window applies to the correlations it is built from.
        let mut disabled: HashSet<usize> = HashSet::new();
        for top in 0..corrs.len() {
            if referenced.contains(&top) {
                continue;
            }
            let keys = key_of(&corrs[top].0);
            let o = config
                .override_for(keys.iter().map(String::as_str))
                .cloned();
            if o.as_ref().is_some_and(|o| !o.enabled) {
                disabled.insert(top);
                continue;
            }
            let window = o
                .as_ref()
                .and_then(|o| o.window_secs)
                .or(config.window_secs);
            if let Some(secs) = window {
                for i in reachable(top, &corrs, &by_key) {
                    let t = &mut corrs[i].0.timespan;
                    t.seconds = secs;
                    t.original = format!("{secs}s");
                }
            }
            if let Some(threshold) = o.as_ref().and_then(|o| o.threshold) {
                if let CorrelationCondition::Threshold { predicates, .. } =
                    &mut corrs[top].0.condition
                {
                    *predicates = vec![(ConditionOperator::Gte, threshold)];
                }
            }
        }

        // An override naming no chain rule is a typo the user should hear about.
        for name in config.chains.keys() {
            let known = (0..corrs.len())
                .filter(|i| !referenced.contains(i))
                .any(|i| key_of(&corrs[i].0).iter().any(|k| k == name));
            if !known {
                errors.push(ChainError {
                    file: "chain configuration".to_owned(),
                    title: name.clone(),
                    message: "no chain rule has this name or id".to_owned(),
                });
            }
        }

        let mut engine = CorrelationEngine::new(CorrelationConfig {
            timestamp_fallback: TimestampFallback::Skip,
            // The tracker evicts by event time as it goes; this is only a backstop.
            max_state_entries: 1_000_000,
            action_on_match: CorrelationAction::Alert,
            suppress: None,
            emit_detections: true,
            correlation_event_mode: CorrelationEventMode::None,
            ..CorrelationConfig::default()
        });
        let mut specs = Vec::new();
        let mut spec_by_key = HashMap::new();
        let mut inputs: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for (i, (c, level, source)) in corrs.iter().enumerate() {
            if let Err(e) = engine.add_correlation(c) {
                errors.push(ChainError {
                    file: source.to_string(),
                    title: c.title.clone(),
                    message: e.to_string(),
                });
                continue;
            }
            if referenced.contains(&i) || disabled.contains(&i) {
                continue;
            }
            if !c.aliases.is_empty() {
                // rsigma resolves aliases per referenced rule; the chain layer groups by the
                // fields as named, so the two would not agree on the group.
                errors.push(ChainError {
                    file: source.to_string(),
                    title: c.title.clone(),
                    message: "field aliases are not supported in chain rules".to_owned(),
                });
                continue;
            }
            let ordered = c.correlation_type == CorrelationType::TemporalOrdered;
            let stage_refs: Vec<Vec<String>> = if ordered {
                c.rules
                    .iter()
                    .map(|r| detection_refs(r, &corrs, &by_key))
                    .collect()
            } else {
                vec![c
                    .rules
                    .iter()
                    .flat_map(|r| detection_refs(r, &corrs, &by_key))
                    .collect()]
            };
            if stage_refs.iter().all(Vec::is_empty) {
                errors.push(ChainError {
                    file: source.to_string(),
                    title: c.title.clone(),
                    message: "refers to no loaded detection rule".to_owned(),
                });
                continue;
            }
            let s = specs.len();
            for (stage, refs) in stage_refs.iter().enumerate() {
                for r in refs {
                    let list = inputs.entry(r.clone()).or_default();
                    if !list.contains(&(s, stage)) {
                        list.push((s, stage));
                    }
                }
            }
            let id = c.id.clone().unwrap_or_default();
            spec_by_key.insert(id, s);
            specs.push(Spec {
                rule: ChainRule {
                    id: loaded[i].rule.id.clone(),
                    name: c.name.clone(),
                    title: c.title.clone(),
                    level: *level,
                    correlation_type: correlation_type_name(c.correlation_type).to_owned(),
                    timespan_secs: c.timespan.seconds,
                    tags: c.tags.clone(),
                    source: source.clone(),
                },
                group_by: c.group_by.clone(),
                timespan: i64::try_from(c.timespan.seconds).unwrap_or(i64::MAX / 4),
                stages: stage_refs.len(),
                ordered,
                require: string_list(c.custom_attributes.get(REQUIRE_TECHNIQUES))
                    .into_iter()
                    .map(|t| t.trim_start_matches("attack.").to_ascii_uppercase())
                    .collect(),
            });
        }
        let shortest = specs.iter().map(|s| s.timespan).min().unwrap_or(60);
        ChainTracker {
            engine,
            specs,
            spec_by_key,
            inputs,
            groups: HashMap::new(),
            max_steps: config.max_steps.max(1),
            watermark: i64::MIN,
            next_sweep: i64::MIN,
            sweep_every: (shortest / 2).max(1),
            seq: 0,
            next_chain: 1,
            stats: ChainStats::default(),
            errors,
        }
    }

    /// Correlation rules that could not be used.
    pub fn errors(&self) -> &[ChainError] {
        &self.errors
    }

    /// The chain rules in force (after overrides).
    pub fn chain_rules(&self) -> impl Iterator<Item = &ChainRule> {
        self.specs.iter().map(|s| &s.rule)
    }

    /// Counts so far.
    pub fn stats(&self) -> ChainStats {
        self.stats
    }

    /// Entries held: pending and chained steps, groups, and rsigma's window states. It
    /// stays bounded by what the windows can hold, whatever the length of the stream.
    pub fn state_size(&self) -> usize {
        let held: usize = self
            .groups
            .values()
            .map(|g| 1 + g.pending.len() + g.live.as_ref().map_or(0, |l| l.chain.steps.len()))
            .sum();
        held + self.engine.state_count()
    }

    /// Whether any chain rule takes this rule's detections (so a caller can skip events
    /// no chain wants).
    pub fn wants(&self, rule: &RuleMeta) -> bool {
        rule.id
            .iter()
            .chain(rule.name.iter())
            .any(|k| self.inputs.contains_key(k))
    }

    /// Takes one event and the rules that fired on it; returns the chains it opened,
    /// extended or (by moving time forward) closed. Events without a detection some chain
    /// takes only move time forward.
    pub fn push(&mut self, event: &Event, detections: &[Detection]) -> Vec<ChainUpdate> {
        let mut out = Vec::new();
        // (spec, stages, rules) this event feeds.
        let mut feeds: Vec<(usize, Vec<usize>, Vec<&RuleMeta>)> = Vec::new();
        for d in detections {
            for key in d.rule.id.iter().chain(d.rule.name.iter()) {
                let Some(list) = self.inputs.get(key.as_str()) else {
                    continue;
                };
                for &(s, stage) in list {
                    let at = match feeds.iter().position(|f| f.0 == s) {
                        Some(at) => at,
                        None => {
                            feeds.push((s, Vec::new(), Vec::new()));
                            feeds.len() - 1
                        }
                    };
                    let feed = &mut feeds[at];
                    if !feed.1.contains(&stage) {
                        feed.1.push(stage);
                    }
                    if !feed.2.iter().any(|r| std::ptr::eq(*r, &*d.rule)) {
                        feed.2.push(&d.rule);
                    }
                }
            }
        }
        let Some(time) = event.time else {
            if !feeds.is_empty() {
                self.stats.events += 1;
                self.stats.untimed += 1;
            }
            return out;
        };
        let secs = time.as_second();
        if feeds.is_empty() {
            self.advance(secs, &mut out);
            return out;
        }
        self.stats.events += 1;
        if secs < self.watermark {
            self.stats.late += 1;
        }
        self.seq += 1;
        let host = host_key(event);
        let session = session_key(event);

        // rsigma: one synthetic detection per rule, with the rule's technique in
        // `sockhunt.technique`, so `value_count` over it counts techniques.
        let mut fired: HashSet<(usize, GroupValues)> = HashSet::new();
        let mut offered: Vec<&str> = Vec::new();
        for rule in feeds.iter().flat_map(|f| f.2.iter()) {
            let Some(key) = rsigma_key(rule) else {
                continue;
            };
            if offered.contains(&key) {
                continue;
            }
            offered.push(key);
            // A rule is about one technique: its first ATT&CK tag. Further tags are
            // secondary mappings, and counting them would let one command look like a burst.
            let technique = base_techniques(rule).into_iter().next();
            {
                let view = ChainEvent {
                    event,
                    host: &host,
                    session: &session,
                    technique: technique.as_deref(),
                    rule: Some(key),
                };
                let results = self.engine.process_with_detections(
                    &view,
                    vec![synthetic_detection(key, rule)],
                    secs,
                );
                for result in results {
                    let Some(body) = result.as_correlation() else {
                        continue;
                    };
                    let Some(&s) = result
                        .header
                        .rule_id
                        .as_deref()
                        .and_then(|id| self.spec_by_key.get(id))
                    else {
                        continue;
                    };
                    let values = self.specs[s]
                        .group_by
                        .iter()
                        .map(|f| {
                            body.group_key
                                .iter()
                                .find(|(k, _)| k == f)
                                .map(|(_, v)| v.clone())
                        })
                        .collect();
                    fired.insert((s, values));
                }
            }
        }

        let view = ChainEvent {
            event,
            host: &host,
            session: &session,
            technique: None,
            rule: None,
        };
        for (s, mut stages, rules) in feeds {
            stages.sort_unstable();
            let values: GroupValues = self.specs[s]
                .group_by
                .iter()
                .map(|f| view.get_field(f).and_then(|v| value_string(&v)))
                .collect();
            let step = make_step(
                event,
                time,
                &rules,
                if self.specs[s].ordered {
                    stages
                } else {
                    Vec::new()
                },
            );
            let is_fired = fired.contains(&(s, values.clone()));
            self.apply(s, values, secs, step, is_fired, &mut out);
        }
        self.advance(secs, &mut out);
        out
    }

    fn apply(
        &mut self,
        s: usize,
        values: GroupValues,
        secs: i64,
        step: ChainStep,
        fired: bool,
        out: &mut Vec<ChainUpdate>,
    ) {
        let spec = &self.specs[s];
        let span = spec.timespan;
        let state = self.groups.entry((s, values.clone())).or_default();
        while state
            .pending
            .front()
            .is_some_and(|p| p.secs < secs.saturating_sub(span))
        {
            state.pending.pop_front();
        }
        // The same record read twice (a log copied into two places) is one step.
        let seen =
            |e: &ChainStep| e.time == step.time && e.locator == step.locator && e.what == step.what;
        if state.pending.iter().any(|p| seen(&p.step))
            || state.live.as_ref().is_some_and(|l| {
                l.chain
                    .steps
                    .iter()
                    .rev()
                    .take_while(|e| e.time >= step.time)
                    .any(seen)
            })
        {
            self.stats.duplicates += 1;
            return;
        }
        if let Some(live) = &mut state.live {
            if secs.saturating_sub(live.last_secs) <= span {
                add_step(&mut live.chain, step, self.max_steps, &mut self.stats);
                live.last_secs = live.last_secs.max(secs);
                finish_chain(spec, &mut live.chain);
                out.push(ChainUpdate {
                    kind: ChainUpdateKind::Updated,
                    chain: live.chain.clone(),
                });
                return;
            }
            if let Some(mut closed) = state.live.take() {
                closed.chain.status = ChainStatus::Closed;
                out.push(ChainUpdate {
                    kind: ChainUpdateKind::Closed,
                    chain: closed.chain,
                });
            }
        }
        let pending = Pending {
            secs,
            seq: self.seq,
            step,
        };
        let at = state
            .pending
            .iter()
            .rposition(|p| (p.secs, p.seq) <= (pending.secs, pending.seq))
            .map_or(0, |i| i + 1);
        state.pending.insert(at, pending);
        if !fired || !requirements_met(spec, &state.pending) {
            return;
        }
        let steps: Vec<Pending> = state.pending.drain(..).collect();
        let last_secs = steps.iter().map(|p| p.secs).max().unwrap_or(secs);
        let first = steps
            .first()
            .map_or(step_time_fallback(secs), |p| p.step.time);
        let mut chain = Chain {
            id: self.next_chain,
            rule: spec.rule.clone(),
            level: spec.rule.level,
            group: spec
                .group_by
                .iter()
                .zip(values)
                .map(|(k, v)| (k.clone(), v.unwrap_or_else(|| "-".to_owned())))
                .collect(),
            first,
            last: first,
            techniques: Vec::new(),
            steps: Vec::new(),
            steps_omitted: 0,
            targets: Vec::new(),
            target_named_by_discovery: false,
            status: ChainStatus::Live,
        };
        for p in steps {
            add_step(&mut chain, p.step, self.max_steps, &mut self.stats);
        }
        finish_chain(spec, &mut chain);
        self.next_chain += 1;
        self.stats.chains += 1;
        out.push(ChainUpdate {
            kind: ChainUpdateKind::New,
            chain: chain.clone(),
        });
        state.live = Some(Live { chain, last_secs });
    }

    /// Moves event time forward; every so often drops what the windows no longer hold and
    /// closes chains whose window passed.
    fn advance(&mut self, secs: i64, out: &mut Vec<ChainUpdate>) {
        if secs > self.watermark {
            self.watermark = secs;
        }
        if self.watermark < self.next_sweep {
            return;
        }
        let now = self.watermark;
        let specs = &self.specs;
        self.groups.retain(|(s, _), state| {
            let span = specs[*s].timespan;
            let cutoff = now.saturating_sub(span);
            while state.pending.front().is_some_and(|p| p.secs < cutoff) {
                state.pending.pop_front();
            }
            if state.live.as_ref().is_some_and(|l| l.last_secs < cutoff) {
                if let Some(mut closed) = state.live.take() {
                    closed.chain.status = ChainStatus::Closed;
                    out.push(ChainUpdate {
                        kind: ChainUpdateKind::Closed,
                        chain: closed.chain,
                    });
                }
            }
            !(state.pending.is_empty() && state.live.is_none())
        });
        self.engine.evict_expired(now);
        self.next_sweep = now.saturating_add(self.sweep_every);
    }

    /// Moves time forward without an event (a live sensor calls it every few seconds
    /// with the clock), so chains whose window passed are closed even when nothing else
    /// happens.
    pub fn tick(&mut self, now: jiff::Timestamp) -> Vec<ChainUpdate> {
        let mut out = Vec::new();
        self.next_sweep = i64::MIN;
        self.advance(now.as_second(), &mut out);
        out
    }

    /// Ends the stream: every live chain is closed and returned (oldest first).
    pub fn finish(&mut self) -> Vec<Chain> {
        let mut out: Vec<Chain> = self
            .groups
            .drain()
            .filter_map(|(_, state)| state.live)
            .map(|mut live| {
                live.chain.status = ChainStatus::Closed;
                live.chain
            })
            .collect();
        out.sort_by_key(|c| c.id);
        out
    }
}

/// The chains of a finished hunt: every input's matched events sorted by time (then by
/// file and record, so the result does not depend on the order inputs were given or
/// read in), fed through `tracker`. Returns each chain in its final state, by first time.
pub fn chains<'a>(
    tracker: &mut ChainTracker,
    hits: impl IntoIterator<Item = &'a Hit>,
) -> Vec<Chain> {
    let mut hits: Vec<&Hit> = hits
        .into_iter()
        .filter(|h| h.detections.iter().any(|d| tracker.wants(&d.rule)))
        .collect();
    hits.sort_by(|a, b| {
        let ka = (
            a.event.time,
            &a.event.provenance.source,
            locator_key(a.event.provenance.locator),
        );
        let kb = (
            b.event.time,
            &b.event.provenance.source,
            locator_key(b.event.provenance.locator),
        );
        ka.cmp(&kb)
    });
    let mut by_id: BTreeMap<u64, Chain> = BTreeMap::new();
    for hit in hits {
        for update in tracker.push(&hit.event, &hit.detections) {
            by_id.insert(update.chain.id, update.chain);
        }
    }
    for chain in tracker.finish() {
        by_id.insert(chain.id, chain);
    }
    let mut out: Vec<Chain> = by_id.into_values().collect();
    out.sort_by_key(|c| (c.first, c.id));
    out
}

/// Chains of a hunt whose inputs finish one at a time: keeps the matched events some
/// chain takes (not the others) as inputs are handed over, then correlates them in time
/// order when the hunt ends. This is what `sockhunt hunt` calls beside writing alerts.
#[derive(Debug)]
pub struct HuntChains {
    tracker: ChainTracker,
    hits: Vec<Hit>,
}

impl HuntChains {
    /// Chains for the correlation rules of `rules`.
    pub fn new(rules: &RuleSet, config: &ChainConfig) -> HuntChains {
        HuntChains {
            tracker: ChainTracker::new(rules, config),
            hits: Vec::new(),
        }
    }

    /// Correlation rules that could not be used.
    pub fn errors(&self) -> &[ChainError] {
        self.tracker.errors()
    }

    /// Whether some chain takes this rule's detections. A detector built with a level
    /// filter (`--min-level`) should keep these rules anyway and filter their alerts at
    /// output instead: chains are built from informational steps.
    pub fn wants(&self, rule: &RuleMeta) -> bool {
        self.tracker.wants(rule)
    }

    /// Takes one finished input's matched events.
    pub fn add(&mut self, hits: &[Hit]) {
        for hit in hits {
            if hit.detections.iter().any(|d| self.tracker.wants(&d.rule)) {
                self.hits.push(hit.clone());
            }
        }
    }

    /// The chains, each in its final state, by first time.
    pub fn finish(mut self) -> (Vec<Chain>, ChainStats) {
        let hits = std::mem::take(&mut self.hits);
        let out = chains(&mut self.tracker, &hits);
        (out, self.tracker.stats())
    }
}

/// Whether a wanted tag covers a rule's tag: `attack.t1069` covers `attack.t1069` and
/// its sub-techniques (`attack.t1069.002`).
fn tag_covers(wanted: &str, tag: &str) -> bool {
    tag.eq_ignore_ascii_case(wanted)
        || (tag.len() > wanted.len()
            && tag.as_bytes()[wanted.len()] == b'.'
            && tag.is_char_boundary(wanted.len())
            && tag[..wanted.len()].eq_ignore_ascii_case(wanted))
}

/// A rule's ATT&CK techniques with sub-techniques folded into their parent
/// (`T1069.002` counts as `T1069`): "distinct techniques" means techniques.
fn base_techniques(rule: &RuleMeta) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in rule.attack_techniques() {
        let base = t.split('.').next().unwrap_or(&t).to_owned();
        if !out.contains(&base) {
            out.push(base);
        }
    }
    out
}

fn locator_key(locator: Locator) -> (u8, u64) {
    match locator {
        Locator::Record(n) => (0, n),
        Locator::Line(n) => (1, n),
        Locator::Offset(n) => (2, n),
        Locator::Index(n) => (3, n),
        Locator::None => (4, 0),
    }
}

fn step_time_fallback(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(secs).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// The detection rules a correlation reference stands for: itself, or the detection
/// rules of the correlation it names (through any depth of correlations).
fn detection_refs(
    reference: &str,
    corrs: &[(CorrelationRule, Option<Level>, Arc<str>)],
    by_key: &HashMap<String, usize>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = vec![reference.to_owned()];
    while let Some(r) = stack.pop() {
        match by_key.get(&r) {
            Some(&i) => {
                if seen.insert(i) {
                    stack.extend(corrs[i].0.rules.iter().cloned());
                }
            }
            None => {
                if !out.contains(&r) {
                    out.push(r);
                }
            }
        }
    }
    out
}

/// A correlation and every correlation it is built from.
fn reachable(
    top: usize,
    corrs: &[(CorrelationRule, Option<Level>, Arc<str>)],
    by_key: &HashMap<String, usize>,
) -> Vec<usize> {
    let mut out = vec![top];
    let mut i = 0;
    while i < out.len() {
        for r in &corrs[out[i]].0.rules {
            if let Some(&j) = by_key.get(r) {
                if !out.contains(&j) {
                    out.push(j);
                }
            }
        }
        i += 1;
    }
    out
}

fn correlation_type_name(t: CorrelationType) -> &'static str {
    match t {
        CorrelationType::EventCount => "event_count",
        CorrelationType::ValueCount => "value_count",
        CorrelationType::Temporal => "temporal",
        CorrelationType::TemporalOrdered => "temporal_ordered",
        CorrelationType::ValueSum => "value_sum",
        CorrelationType::ValueAvg => "value_avg",
        CorrelationType::ValuePercentile => "value_percentile",
        CorrelationType::ValueMedian => "value_median",
    }
}

fn value_string(v: &EventValue<'_>) -> Option<String> {
    match v {
        EventValue::Str(s) => Some(s.to_string()),
        EventValue::Int(n) => Some(n.to_string()),
        EventValue::Float(x) => Some(x.to_string()),
        EventValue::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn synthetic_detection(key: &str, rule: &RuleMeta) -> EvaluationResult {
    EvaluationResult {
        header: RuleHeader {
            rule_title: rule.title.clone(),
            rule_id: Some(key.to_owned()),
            level: None,
            tags: Vec::new(),
            custom_attributes: Arc::default(),
            enrichments: None,
        },
        body: ResultBody::Detection(DetectionBody {
            matched_selections: Vec::new(),
            matched_fields: Vec::new(),
            event: None,
        }),
    }
}

fn make_step(
    event: &Event,
    time: jiff::Timestamp,
    rules: &[&RuleMeta],
    stages: Vec<usize>,
) -> ChainStep {
    let fields = &event.fields;
    let telling = TELLING_FIELDS
        .iter()
        .find_map(|&name| fields.get(name).map(|v| (name, value_text(v))));
    let user = match (fields.get("User"), fields.get_str("SubjectUserName")) {
        (None, Some(name)) => Some(match fields.get_str("SubjectDomainName") {
            Some(domain) => format!("{domain}\\{name}"),
            None => name.into_owned(),
        }),
        _ => crate::alert::USER_FIELDS
            .iter()
            .find_map(|f| fields.get_str(f).map(|v| v.into_owned())),
    };
    ChainStep {
        time,
        rules: rules
            .iter()
            .map(|r| StepRule {
                id: r.id.clone(),
                title: r.title.clone(),
                techniques: r.attack_techniques(),
            })
            .collect(),
        field: telling.as_ref().map(|(n, _)| *n),
        what: telling.map(|(_, v)| v),
        user,
        image: fields.get_str("Image").map(|v| v.into_owned()),
        source: event.provenance.source.clone(),
        locator: event.provenance.locator,
        stages,
    }
}

fn add_step(chain: &mut Chain, step: ChainStep, max_steps: usize, stats: &mut ChainStats) {
    for t in step.techniques() {
        if !chain.techniques.iter().any(|c| c == t) {
            chain.techniques.push(t.to_owned());
        }
    }
    if chain.steps.is_empty() || step.time < chain.first {
        chain.first = step.time;
    }
    if step.time > chain.last || chain.steps.is_empty() {
        chain.last = step.time;
    }
    if chain.steps.len() >= max_steps {
        chain.steps_omitted += 1;
        stats.steps_omitted += 1;
        return;
    }
    let at = chain
        .steps
        .iter()
        .rposition(|s| s.time <= step.time)
        .map_or(0, |i| i + 1);
    chain.steps.insert(at, step);
}

/// Lateral targets and the level: for an ordered chain, the last stage's steps are the
/// movement; a target an earlier step named makes the chain critical.
fn finish_chain(spec: &Spec, chain: &mut Chain) {
    if !spec.ordered || spec.stages < 2 {
        return;
    }
    let last_stage = spec.stages - 1;
    let mut targets: Vec<String> = Vec::new();
    let mut named = false;
    for (i, step) in chain.steps.iter().enumerate() {
        if !step.stages.contains(&last_stage) {
            continue;
        }
        for t in target::targets(step.what.as_deref().unwrap_or("")) {
            let earlier = chain.steps[..i].iter().any(|e| {
                e.stages.iter().any(|&s| s < last_stage)
                    && e.what
                        .as_deref()
                        .is_some_and(|w| target::mentioned_in(&t, w))
            });
            named |= earlier;
            if !targets.contains(&t) {
                targets.push(t);
            }
        }
    }
    chain.targets = targets;
    chain.target_named_by_discovery = named;
    chain.level = if named {
        Some(Level::Critical)
    } else {
        spec.rule.level
    };
}

/// What Sigma alone cannot require: techniques that must be present, and for ordered
/// chains, each stage served by a different, later event than the stage before.
fn requirements_met(spec: &Spec, pending: &VecDeque<Pending>) -> bool {
    for required in &spec.require {
        let present = pending.iter().any(|p| {
            p.step.rules.iter().any(|r| {
                r.techniques
                    .iter()
                    .any(|t| t.split('.').next() == Some(required.as_str()))
            })
        });
        if !present {
            return false;
        }
    }
    if spec.ordered {
        let mut need = 0;
        for p in pending {
            if need < spec.stages && p.step.stages.contains(&need) {
                need += 1;
            }
        }
        return need == spec.stages;
    }
    true
}
