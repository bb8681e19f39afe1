//! Windows and thresholds of chains, overridable without editing the rules.
//!
//! ```yaml
//! # sockhunt hunt --chain-config chains.yml
//! window: 15m                 # every chain (what --chain-window sets)
//! max_steps: 500              # steps kept per chain; more are counted
//! chains:
//!   sockhunt_discovery_burst: # a chain rule's name or id
//!     window: 20m
//!     threshold: 4            # the rule's `gte`
//!   sockhunt_device_reconnaissance:
//!     enabled: false
//! ```
//!
//! A per-chain value wins over the global one, which wins over the rule's. An override
//! of a chain's window also applies to the correlations it is built from.

use std::collections::BTreeMap;
use std::path::Path;

use rsigma_parser::Timespan;
use serde::Deserialize;

/// Steps a chain keeps by default; beyond this they are only counted.
pub const DEFAULT_MAX_STEPS: usize = 1000;

/// Why a chain configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainConfigError {
    /// The file could not be read.
    #[error("{0}")]
    Read(String),
    /// The YAML does not have the expected shape.
    #[error("{file}: {message}")]
    Yaml {
        /// The file.
        file: String,
        /// What is wrong, with line and column.
        message: String,
    },
    /// A window is not a Sigma timespan (`30s`, `10m`, `1h`, `1d`).
    #[error("{file}: `{value}` is not a timespan (expected a number and s, m, h or d, e.g. 10m)")]
    Window {
        /// The file (or `--chain-window`).
        file: String,
        /// The text given.
        value: String,
    },
}

/// Overrides for one chain rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainOverride {
    /// The window, in seconds.
    pub window_secs: Option<u64>,
    /// The count threshold (`gte`) of `event_count` / `value_count` chains.
    pub threshold: Option<u64>,
    /// `false` leaves the chain out.
    pub enabled: bool,
}

/// Windows, thresholds and limits of the chain layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainConfig {
    /// One window for every chain, in seconds.
    pub window_secs: Option<u64>,
    /// Per chain rule, by name or id.
    pub chains: BTreeMap<String, ChainOverride>,
    /// Steps a chain keeps; more are counted in `steps_omitted`.
    pub max_steps: usize,
}

impl Default for ChainConfig {
    fn default() -> Self {
        ChainConfig {
            window_secs: None,
            chains: BTreeMap::new(),
            max_steps: DEFAULT_MAX_STEPS,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    window: Option<String>,
    #[serde(default)]
    max_steps: Option<usize>,
    #[serde(default)]
    chains: BTreeMap<String, RawOverride>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
    #[serde(default)]
    window: Option<String>,
    #[serde(default)]
    threshold: Option<u64>,
    #[serde(default)]
    enabled: Option<bool>,
}

/// Parses a Sigma timespan (`30s`, `10m`, `1h`, `1d`) into seconds.
pub fn parse_window(source: &str, text: &str) -> Result<u64, ChainConfigError> {
    match Timespan::parse(text.trim()) {
        Ok(t) if t.seconds > 0 => Ok(t.seconds),
        _ => Err(ChainConfigError::Window {
            file: source.to_owned(),
            value: text.to_owned(),
        }),
    }
}

impl ChainConfig {
    /// Reads a configuration file.
    pub fn from_file(path: &Path) -> Result<Self, ChainConfigError> {
        let text =
            fs_err::read_to_string(path).map_err(|e| ChainConfigError::Read(e.to_string()))?;
        Self::from_yaml(&path.display().to_string(), &text)
    }

    /// Parses a configuration; `source` names it in errors.
    pub fn from_yaml(source: &str, text: &str) -> Result<Self, ChainConfigError> {
        let raw: RawConfig =
            crate::yaml::from_str(source, text).map_err(|e| ChainConfigError::Yaml {
                file: source.to_owned(),
                message: e.to_string(),
            })?;
        let mut config = ChainConfig {
            window_secs: raw
                .window
                .as_deref()
                .map(|w| parse_window(source, w))
                .transpose()?,
            max_steps: raw.max_steps.unwrap_or(DEFAULT_MAX_STEPS).max(1),
            chains: BTreeMap::new(),
        };
        for (name, o) in raw.chains {
            let window_secs = o
                .window
                .as_deref()
                .map(|w| parse_window(source, w))
                .transpose()?;
            config.chains.insert(
                name,
                ChainOverride {
                    window_secs,
                    threshold: o.threshold,
                    enabled: o.enabled.unwrap_or(true),
                },
            );
        }
        Ok(config)
    }

    /// Sets one window for every chain (`--chain-window 15m`).
    pub fn with_window(mut self, text: &str) -> Result<Self, ChainConfigError> {
        self.window_secs = Some(parse_window("--chain-window", text)?);
        Ok(self)
    }

    /// The override for a chain rule known by any of these keys (id, name).
    pub fn override_for<'a>(
        &self,
        keys: impl IntoIterator<Item = &'a str>,
    ) -> Option<&ChainOverride> {
        keys.into_iter().find_map(|k| self.chains.get(k))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_overrides() {
        let c = ChainConfig::from_yaml(
            "c.yml",
            "window: 15m\nchains:\n  burst:\n    window: 1h\n    threshold: 4\n  dev:\n    enabled: false\n",
        )
        .unwrap();
        assert_eq!(c.window_secs, Some(900));
        assert_eq!(c.chains["burst"].window_secs, Some(3600));
        assert_eq!(c.chains["burst"].threshold, Some(4));
        assert!(!c.chains["dev"].enabled);
        assert_eq!(c.max_steps, DEFAULT_MAX_STEPS);
    }

    #[test]
    fn refuses_bad_windows_and_keys() {
        assert!(matches!(
            ChainConfig::from_yaml("c.yml", "window: soon\n"),
            Err(ChainConfigError::Window { .. })
        ));
        assert!(matches!(
            ChainConfig::from_yaml("c.yml", "windw: 10m\n"),
            Err(ChainConfigError::Yaml { .. })
        ));
        assert!(ChainConfig::default().with_window("0s").is_err());
    }
}
