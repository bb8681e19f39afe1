//! One JSON document with everything an incident responder archives from a host at the
//! moment of triage: host facts, every socket with its processes, sessions and shares.
//!
//! Every part is collected even when another fails; a failure becomes a warning named by
//! its part and sets [`Snapshot::partial`], so the document always says what it lacks.

use jiff::Timestamp;
use serde::Serialize;

use crate::connections::{self, ConnectionQuery, ConnectionReport};
use crate::hostinfo::{self, HostInfo};
use crate::sessions::{self, SessionsOptions, SessionsReport};
use crate::shares::{self, SharesOptions, SharesReport};

/// Identifies the document format so archived snapshots stay readable as it evolves.
pub const FORMAT: &str = "sockhunt-snapshot";
/// Version of the document format.
pub const FORMAT_VERSION: u32 = 1;

/// What to collect.
#[derive(Debug, Clone, Default)]
pub struct SnapshotOptions {
    /// Session sources.
    pub sessions: SessionsOptions,
    /// Share sources.
    pub shares: SharesOptions,
    /// Which sockets; `None` leaves connections out.
    pub connections: Option<ConnectionQuery>,
    /// Override the collection time (tests).
    pub now: Option<Timestamp>,
}

impl SnapshotOptions {
    /// Everything on the live host: all sockets with processes, sessions with inbound
    /// connections, shares.
    pub fn live(all_netns: bool) -> Self {
        let connections = ConnectionQuery {
            all_netns,
            ..ConnectionQuery::default()
        };
        Self {
            sessions: SessionsOptions {
                inbound: true,
                all_netns,
                ..SessionsOptions::default()
            },
            shares: SharesOptions::default(),
            connections: Some(connections),
            now: None,
        }
    }
}

/// The triage document.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// Always [`FORMAT`].
    pub format: &'static str,
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Version of the collecting library.
    pub collector_version: &'static str,
    /// When the collection started (UTC).
    pub collected_at: Timestamp,
    /// How long the collection took.
    pub duration_ms: u64,
    /// True when some part is missing or incomplete (see `warnings`).
    pub partial: bool,
    /// Every warning of every part, prefixed with the part's name.
    pub warnings: Vec<String>,
    /// Host facts.
    pub host: HostInfo,
    /// Sockets with their processes; `null` when not collected or not collectable.
    pub connections: Option<ConnectionReport>,
    /// Sessions and inbound remote sessions.
    pub sessions: SessionsReport,
    /// Mounted network shares.
    pub shares: SharesReport,
}

/// Collects a snapshot. Never fails as a whole.
pub fn collect(options: &SnapshotOptions) -> Snapshot {
    let started = std::time::Instant::now();
    let now = options.now.unwrap_or_else(Timestamp::now);
    let mut warnings = Vec::new();
    let mut partial = false;

    let host = hostinfo::collect(now);
    for w in &host.warnings {
        warnings.push(format!("host: {w}"));
        partial = true;
    }

    let connections = match &options.connections {
        None => None,
        Some(query) => match connections::collect(query) {
            Ok(report) => {
                warnings.extend(report.warnings.iter().map(|w| format!("connections: {w}")));
                partial |= report.partial;
                Some(report)
            }
            Err(err) => {
                warnings.push(format!("connections: not collected: {err}"));
                partial = true;
                None
            }
        },
    };

    let mut session_options = options.sessions.clone();
    session_options.now = session_options.now.or(Some(now));
    // Inbound sessions are a view of the sockets already collected: one socket dump, and
    // the same namespaces as the connections section.
    let derive_inbound = session_options.inbound && connections.is_some();
    if derive_inbound {
        session_options.inbound = false;
    }
    let mut sessions = sessions::collect(&session_options);
    if let (true, Some(conns)) = (derive_inbound, &connections) {
        sessions.inbound = sessions::inbound_from_connections(conns);
        sessions
            .sources
            .retain(|s| s.state != crate::sessions::SourceState::Skipped);
    }
    warnings.extend(sessions.warnings.iter().map(|w| format!("sessions: {w}")));
    partial |= sessions.partial;

    let mut share_options = options.shares.clone();
    share_options.now = share_options.now.or(Some(now));
    let shares = shares::collect(&share_options);
    warnings.extend(shares.warnings.iter().map(|w| format!("shares: {w}")));
    partial |= shares.partial;

    Snapshot {
        format: FORMAT,
        format_version: FORMAT_VERSION,
        collector_version: env!("CARGO_PKG_VERSION"),
        collected_at: now,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        partial,
        warnings,
        host,
        connections,
        sessions,
        shares,
    }
}
