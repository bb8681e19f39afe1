//! The best session key each source has, so a chain groups one actor's commands and not
//! a whole host's.
//!
//! | source | key, best first |
//! |---|---|
//! | Windows (Sysmon, 4688, ECS) | `LogonId` (4688's `SubjectLogonId` is normalised to it), unless it is a shared service logon (`0x3e7` SYSTEM, `0x3e4` NETWORK SERVICE, `0x3e5` LOCAL SERVICE, `0x0`); then `ParentProcessGuid`, `ParentProcessId`, `User` |
//! | Linux auditd, Sysmon for Linux, sensor | `LogonId` (the audit session `ses`), then `ParentProcessId`, `User`/`Uid` |
//! | AWS CloudTrail | `userIdentity.arn`, `userIdentity.principalId`, `userIdentity.accessKeyId` |
//! | Azure activity | `caller` |
//! | GCP audit | `protoPayload.authenticationInfo.principalEmail` |
//! | network devices, ESXi | `Session` (the AAA task or shell session), then `User` with `SourceIp` |
//!
//! Service logons are shared by every service on a host: grouping by them would join
//! unrelated processes into one chain, so the parent process stands in for the shell.
//! The key names its kind (`logon:0x50951`, `parent:3912`, `user:alice`) so keys of
//! different kinds never collide.

use std::borrow::Cow;

use sockhunt_events::{Event, Value};

/// Shared logon sessions of Windows services (and the null session).
const SERVICE_LOGONS: &[u64] = &[0x0, 0x3e4, 0x3e5, 0x3e7];

/// The session key of an event; `-` when the source names no session, user or parent.
pub fn session_key(event: &Event) -> String {
    let product = event.logsource.product.as_deref().unwrap_or("");
    let key = match product.to_ascii_lowercase().as_str() {
        "aws" => first(
            event,
            &[
                ("identity", "userIdentity.arn"),
                ("identity", "userIdentity.principalId"),
                ("identity", "userIdentity.accessKeyId"),
            ],
        ),
        "azure" => first(event, &[("identity", "caller")]),
        "gcp" => first(
            event,
            &[("identity", "protoPayload.authenticationInfo.principalEmail")],
        ),
        "cisco" | "juniper" | "esxi" => first(event, &[("session", "Session")]).or_else(|| {
            let user = text(event, "User")?;
            Some(match text(event, "SourceIp") {
                Some(ip) => format!("user:{user}@{ip}"),
                None => format!("user:{user}"),
            })
        }),
        _ => logon(event).or_else(|| {
            first(
                event,
                &[
                    ("session", "SessionId"),
                    ("parent", "ParentProcessGuid"),
                    ("parent", "ParentProcessId"),
                    ("user", "User"),
                    ("uid", "Uid"),
                ],
            )
        }),
    };
    key.unwrap_or_else(|| "-".to_owned())
}

/// The event's host as the chain layer groups it: lower-case, `-` when unknown.
pub fn host_key(event: &Event) -> String {
    match event.host.as_deref() {
        Some(h) if !h.is_empty() => h.to_ascii_lowercase(),
        _ => "-".to_owned(),
    }
}

fn logon(event: &Event) -> Option<String> {
    let raw = text(event, "LogonId").or_else(|| text(event, "SubjectLogonId"))?;
    match parse_logon_id(&raw) {
        Some(id) if SERVICE_LOGONS.contains(&id) => None,
        Some(id) => Some(format!("logon:{id:#x}")),
        None => Some(format!("logon:{}", raw.to_ascii_lowercase())),
    }
}

/// `0x0000000000050951` and `0x50951` are the same logon; auditd sessions are decimal.
fn parse_logon_id(raw: &str) -> Option<u64> {
    let raw = raw.trim();
    match raw.strip_prefix("0x").or_else(|| raw.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => raw.parse::<u64>().ok(),
    }
}

fn first(event: &Event, candidates: &[(&str, &str)]) -> Option<String> {
    candidates
        .iter()
        .find_map(|(kind, field)| text(event, field).map(|v| format!("{kind}:{v}")))
}

fn text(event: &Event, field: &str) -> Option<String> {
    let value: Cow<'_, str> = match event.fields.get(field)? {
        Value::Str(s) => Cow::Borrowed(s.as_str()),
        other => other.as_str()?,
    };
    let value = value.trim();
    (!value.is_empty() && value != "-").then(|| value.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use sockhunt_events::{Locator, LogSource, Provenance};

    use super::*;

    fn event(product: &'static str, fields: &[(&'static str, &str)]) -> Event {
        let mut e = Event::new(
            LogSource::new(Some(product), Some("process_creation"), None),
            Provenance {
                source: Arc::from("t"),
                locator: Locator::None,
            },
        );
        for (k, v) in fields {
            e.fields.set(*k, *v);
        }
        e
    }

    #[test]
    fn user_logon_wins_and_is_normalised() {
        let e = event(
            "windows",
            &[
                ("LogonId", "0x0000000000050951"),
                ("ParentProcessId", "3912"),
            ],
        );
        assert_eq!(session_key(&e), "logon:0x50951");
    }

    #[test]
    fn service_logon_falls_back_to_the_parent() {
        let e = event(
            "windows",
            &[
                ("LogonId", "0x3e7"),
                ("ParentProcessId", "3912"),
                ("User", "SYSTEM"),
            ],
        );
        assert_eq!(session_key(&e), "parent:3912");
    }

    #[test]
    fn audit_session_is_decimal() {
        let e = event("linux", &[("LogonId", "12"), ("User", "root")]);
        assert_eq!(session_key(&e), "logon:0xc");
    }

    #[test]
    fn cloud_identity_and_device_session() {
        let e = event("aws", &[("userIdentity.arn", "arn:aws:iam::1:user/bob")]);
        assert_eq!(session_key(&e), "identity:arn:aws:iam::1:user/bob");
        let e = event("cisco", &[("Session", "771"), ("User", "ops")]);
        assert_eq!(session_key(&e), "session:771");
        let e = event("cisco", &[("User", "ops"), ("SourceIp", "10.0.0.9")]);
        assert_eq!(session_key(&e), "user:ops@10.0.0.9");
        assert_eq!(session_key(&event("windows", &[])), "-");
    }
}
