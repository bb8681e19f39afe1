//! Network-device command and login logs to Sigma events.
//!
//! The decision: **every record that carries a CLI command is `{product: cisco|juniper,
//! service: aaa}`**, whatever carried it (TACACS+ accounting from tac_plus, Cisco ISE or
//! ACS, the NX-OS accounting log, or a device's own syslog command log such as IOS
//! `%PARSER-5-CFGLOG_LOGGEDCMD` or Junos `UI_CMDLINE_READ_LINE`), because command rules
//! must fire on every shape. Other device syslog messages (logins `%SEC_LOGIN-...`,
//! `%SYS-5-CONFIG_I`, anything `%FAC-SEV-MNEMONIC`) are `{product, service: syslog}`.
//!
//! Fields, the same names for every shape where the shape has the information:
//! `command` (the command as typed, without tac_plus's trailing `<cr>`), `User`,
//! `SourceIp` (the remote address of the session), `Session` (TACACS+ `task_id`, NX-OS
//! tty, IOS line), `Device` (the device name or address), `Platform` (`ios`, `nxos`,
//! `junos`; absent when the record does not tell), `Privilege`, `Port`, `Result`,
//! `AccountingType` (`start`, `stop`, `update`), and `LogFormat` (`tac_plus`, `ise`,
//! `acs`, `nxos_accounting`, `ios_syslog`, `nxos_syslog`, `junos_syslog`). Syslog messages
//! also carry `Facility`, `Severity`, `Mnemonic` and `Message`.
//!
//! Times without a year (classic syslog) are taken in the current UTC year, or the
//! previous one when that would put them more than a day in the future.

use std::borrow::Cow;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::event::{Fields, LogSource};

/// Commands typed on Cisco devices.
pub const CISCO_AAA: LogSource = LogSource::new(Some("cisco"), None, Some("aaa"));
/// Other Cisco syslog messages.
pub const CISCO_SYSLOG: LogSource = LogSource::new(Some("cisco"), None, Some("syslog"));
/// Commands typed on Juniper devices.
pub const JUNIPER_AAA: LogSource = LogSource::new(Some("juniper"), None, Some("aaa"));
/// Other Junos syslog messages.
pub const JUNIPER_SYSLOG: LogSource = LogSource::new(Some("juniper"), None, Some("syslog"));

/// A recognised line: its logsource, and how to build its fields.
pub(crate) struct Recognised<'a> {
    /// Which rules can apply.
    pub(crate) logsource: LogSource,
    shape: Shape<'a>,
}

enum Shape<'a> {
    TacPlus(Vec<&'a str>),
    Ise {
        body: &'a str,
        acs: bool,
    },
    NxosAccounting {
        time: &'a str,
        rest: &'a str,
    },
    CiscoSyslog {
        header: &'a str,
        facility: &'a str,
        severity: &'a str,
        mnemonic: &'a str,
        message: &'a str,
    },
    Junos {
        header: &'a str,
        tag: &'a str,
        message: &'a str,
    },
}

/// Recognises a line's shape; `None` for lines that are none of ours.
pub(crate) fn recognise(line: &str) -> Option<Recognised<'_>> {
    if let Some(at) = line
        .find("CISE_TACACS_Accounting")
        .map(|a| (a, false))
        .or_else(|| line.find("CSCOacs_TACACS_Accounting").map(|a| (a, true)))
    {
        return Some(Recognised {
            logsource: CISCO_AAA,
            shape: Shape::Ise {
                body: &line[at.0..],
                acs: at.1,
            },
        });
    }
    let tabs: Vec<&str> = line.split('\t').collect();
    if tabs.len() >= 7
        && matches!(tabs[5].trim(), "start" | "stop" | "update")
        && tabs[6..]
            .iter()
            .all(|av| av.contains('=') || av.trim().is_empty())
    {
        return Some(Recognised {
            logsource: CISCO_AAA,
            shape: Shape::TacPlus(tabs),
        });
    }
    if let Some(at) = line.find(":type=") {
        let rest = &line[at + 1..];
        if rest.contains(":user=") || rest.contains(":id=") {
            return Some(Recognised {
                logsource: CISCO_AAA,
                shape: Shape::NxosAccounting {
                    time: &line[..at],
                    rest,
                },
            });
        }
    }
    if let Some((tag_at, tag)) = [
        "UI_CMDLINE_READ_LINE",
        "UI_LOGIN_EVENT",
        "UI_LOGOUT_EVENT",
        "UI_AUTH_EVENT",
        "UI_COMMIT",
    ]
    .iter()
    .find_map(|t| line.find(&format!("{t}:")).map(|a| (a, *t)))
    {
        let message = line[tag_at + tag.len() + 1..].trim();
        let logsource = if tag == "UI_CMDLINE_READ_LINE" {
            JUNIPER_AAA
        } else {
            JUNIPER_SYSLOG
        };
        return Some(Recognised {
            logsource,
            shape: Shape::Junos {
                header: &line[..tag_at],
                tag,
                message,
            },
        });
    }
    let (start, facility, severity, mnemonic, end) = find_cisco_tag(line)?;
    let logsource = if mnemonic == "CFGLOG_LOGGEDCMD" {
        CISCO_AAA
    } else {
        CISCO_SYSLOG
    };
    Some(Recognised {
        logsource,
        shape: Shape::CiscoSyslog {
            header: &line[..start],
            facility,
            severity,
            mnemonic,
            message: line[end..].trim(),
        },
    })
}

/// Finds `%FACILITY-SEVERITY-MNEMONIC:`; returns its start, parts and the end of the tag.
fn find_cisco_tag(line: &str) -> Option<(usize, &str, &str, &str, usize)> {
    let mut from = 0;
    while let Some(found) = line[from..].find('%') {
        let start = from + found;
        from = start + 1;
        let rest = &line[start + 1..];
        let colon = rest.find(':')?;
        let tag = &rest[..colon];
        let mut parts = tag.splitn(3, '-');
        let (Some(fac), Some(sev), Some(mnem)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let word = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        };
        if word(fac) && sev.len() == 1 && sev.as_bytes()[0].is_ascii_digit() && word(mnem) {
            return Some((start, fac, sev, mnem, start + 1 + colon + 1));
        }
    }
    None
}

impl Recognised<'_> {
    /// The fields and time of the record.
    pub(crate) fn build(&self, now: Timestamp) -> (Fields, Option<Timestamp>, Option<String>) {
        let mut f = Fields::with_capacity(12);
        let (time, host) = match &self.shape {
            Shape::TacPlus(tabs) => tac_plus(tabs, &mut f, now),
            Shape::Ise { body, acs } => ise(body, *acs, &mut f),
            Shape::NxosAccounting { time, rest } => nxos_accounting(time, rest, &mut f, now),
            Shape::CiscoSyslog {
                header,
                facility,
                severity,
                mnemonic,
                message,
            } => cisco_syslog(header, facility, severity, mnemonic, message, &mut f, now),
            Shape::Junos {
                header,
                tag,
                message,
            } => junos(header, tag, message, &mut f, now),
        };
        if let Some(host) = &host {
            if f.get("Device").is_none() {
                f.set_nonempty("Device", host);
            }
        }
        let host = host.or_else(|| f.get_str("Device").map(Cow::into_owned));
        (f, time, host)
    }
}

fn strip_cr(command: &str) -> &str {
    let c = command.trim();
    c.strip_suffix("<cr>").unwrap_or(c).trim_end()
}

fn tac_plus(tabs: &[&str], f: &mut Fields, now: Timestamp) -> (Option<Timestamp>, Option<String>) {
    f.set("LogFormat", "tac_plus");
    let time = syslog_time(tabs[0].trim(), now).map(|(t, _)| t);
    let device = tabs[1].trim();
    f.set_nonempty("Device", device);
    f.set_nonempty("User", tabs[2].trim());
    f.set_nonempty("Port", tabs[3].trim());
    f.set_nonempty("SourceIp", tabs[4].trim());
    f.set_nonempty("AccountingType", tabs[5].trim());
    for av in &tabs[6..] {
        let Some((key, value)) = av.split_once('=') else {
            continue;
        };
        match key.trim() {
            "cmd" => f.set_nonempty("command", strip_cr(value)),
            "task_id" => f.set_nonempty("Session", value.trim()),
            "priv-lvl" => f.set_nonempty("Privilege", value.trim()),
            "service" => f.set_nonempty("Service", value.trim()),
            "timezone" => f.set_nonempty("TimeZone", value.trim()),
            "elapsed_time" => f.set_nonempty("ElapsedTime", value.trim()),
            _ => {}
        }
    }
    (time, Some(device.to_owned()).filter(|d| !d.is_empty()))
}

/// Splits ISE/ACS `Key=value, Key two=value, ...` attribute lists.
fn ise_attributes(body: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut segments: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut search = 0;
    while let Some(found) = body[search..].find(", ") {
        let at = search + found;
        let next = &body[at + 2..];
        let is_key = next.find('=').is_some_and(|eq| {
            eq > 0
                && eq < 48
                && next[..eq]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'-' | b'_' | b'.'))
        });
        if is_key {
            segments.push(&body[start..at]);
            start = at + 2;
        }
        search = at + 2;
    }
    segments.push(&body[start..]);
    for seg in segments {
        if let Some((k, v)) = seg.split_once('=') {
            out.push((k.trim(), v.trim()));
        }
    }
    out
}

fn ise(body: &str, acs: bool, f: &mut Fields) -> (Option<Timestamp>, Option<String>) {
    f.set("LogFormat", if acs { "acs" } else { "ise" });
    // `CISE_TACACS_Accounting 0000000123 1 0 2024-01-01 00:00:00.000 +00:00 ...`
    let words: Vec<&str> = body.split_ascii_whitespace().take(7).collect();
    let time = if words.len() >= 7 {
        parse_offset_time(&format!("{} {} {}", words[4], words[5], words[6]))
    } else {
        None
    };
    let mut cmd_words: Vec<&str> = Vec::new();
    let mut device_ip = None;
    for (key, value) in ise_attributes(body) {
        let key = key.rsplit(' ').next().unwrap_or(key);
        match key {
            "User" => f.set_nonempty("User", value),
            "Remote-Address" => f.set_nonempty("SourceIp", value),
            "Port" => f.set_nonempty("Port", value),
            "Privilege-Level" => f.set_nonempty("Privilege", value),
            "NetworkDeviceName" => f.set_nonempty("Device", value),
            "Address" => device_ip = Some(value),
            "AcctRequest-Flags" => f.set_nonempty("AccountingType", value.to_ascii_lowercase()),
            "CmdSet" => {
                let inner = value.trim_start_matches('[').trim_end_matches(']');
                for part in inner.split_ascii_whitespace() {
                    if let Some(w) = part
                        .strip_prefix("CmdAV=")
                        .or_else(|| part.strip_prefix("CmdArgAV="))
                    {
                        if w != "<cr>" && !w.is_empty() {
                            cmd_words.push(w);
                        }
                    }
                }
            }
            "AVPair" => {
                if let Some(cmd) = value.strip_prefix("cmd=") {
                    f.set_nonempty("command", strip_cr(cmd));
                } else if let Some(task) = value.strip_prefix("task_id=") {
                    f.set_nonempty("Session", task);
                }
            }
            _ => {}
        }
    }
    if f.get("command").is_none() && !cmd_words.is_empty() {
        f.set("command", cmd_words.join(" "));
    }
    if f.get("Device").is_none() {
        if let Some(ip) = device_ip {
            f.set_nonempty("Device", ip);
        }
    }
    (time, None)
}

fn nxos_accounting(
    time: &str,
    rest: &str,
    f: &mut Fields,
    now: Timestamp,
) -> (Option<Timestamp>, Option<String>) {
    f.set("LogFormat", "nxos_accounting");
    f.set("Platform", "nxos");
    let (head, cmd) = match rest.find(":cmd=") {
        Some(at) => (&rest[..at], Some(&rest[at + 5..])),
        None => (rest, None),
    };
    for part in head.split(':') {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        match key {
            "type" => f.set_nonempty("AccountingType", value),
            "user" => f.set_nonempty("User", value),
            "id" => {
                // `10.1.1.1@pts/0`, or a process id for local sessions.
                match value.split_once('@') {
                    Some((ip, tty)) => {
                        f.set_nonempty("SourceIp", ip);
                        f.set_nonempty("Session", tty);
                    }
                    None => f.set_nonempty("Session", value),
                }
            }
            _ => {}
        }
    }
    if let Some(cmd) = cmd {
        let mut cmd = cmd.trim();
        for result in ["(SUCCESS)", "(FAILURE)", "(REDIRECT)"] {
            if let Some(stripped) = cmd.strip_suffix(result) {
                f.set("Result", result.trim_matches(|c| c == '(' || c == ')'));
                cmd = stripped.trim_end();
            }
        }
        f.set_nonempty("command", cmd);
    }
    (syslog_time(time.trim(), now).map(|(t, _)| t), None)
}

/// The time and host of a syslog header (`<pri>`, optional sequence numbers and `*`).
fn syslog_header(header: &str, now: Timestamp) -> (Option<Timestamp>, Option<String>) {
    let mut text = header.trim();
    if text.starts_with('<') {
        if let Some(end) = text.find('>') {
            text = text[end + 1..].trim_start();
        }
    }
    // RFC 5424: `1 TIMESTAMP HOST APP ...`
    if let Some(rest) = text.strip_prefix("1 ") {
        text = rest;
    }
    let mut host = None;
    let mut time = None;
    let mut rest = text;
    for _ in 0..4 {
        rest = rest.trim_start().trim_start_matches(['*', '.']);
        if let Some((t, used)) = syslog_time(rest, now) {
            if time.is_none() {
                time = Some(t);
                let after = rest[used..].trim_start();
                let word = after.split_ascii_whitespace().next().unwrap_or("");
                let word_clean = word.trim_end_matches(':');
                if !word_clean.is_empty()
                    && !word_clean.bytes().all(|b| b.is_ascii_digit())
                    && !word.starts_with('%')
                    && !word_clean.eq_ignore_ascii_case("UTC")
                {
                    host = Some(word_clean.to_owned());
                }
            }
            break;
        }
        // Skip a sequence number `245:` or host word `sw1:` and retry.
        match rest.split_once(char::is_whitespace) {
            Some((_, r)) => rest = r,
            None => break,
        }
    }
    (time, host)
}

fn cisco_syslog(
    header: &str,
    facility: &str,
    severity: &str,
    mnemonic: &str,
    message: &str,
    f: &mut Fields,
    now: Timestamp,
) -> (Option<Timestamp>, Option<String>) {
    let nxos = matches!(
        facility,
        "VSHD" | "VDC_MGR" | "ETHPORT" | "VPC" | "DAEMON" | "AUTHPRIV"
    ) || mnemonic.starts_with("VSHD_");
    f.set("LogFormat", if nxos { "nxos_syslog" } else { "ios_syslog" });
    f.set("Platform", if nxos { "nxos" } else { "ios" });
    f.set("Facility", facility);
    f.set("Severity", severity);
    f.set("Mnemonic", mnemonic);
    f.set_nonempty("Message", message);
    match mnemonic {
        "CFGLOG_LOGGEDCMD" => {
            // `User:admin  logged command:show ip sockets`
            if let Some(rest) = message.strip_prefix("User:") {
                if let Some((user, cmd)) = rest.split_once("logged command:") {
                    f.set_nonempty("User", user.trim());
                    let cmd = cmd.trim();
                    f.set_nonempty("command", cmd.strip_prefix("!exec:").unwrap_or(cmd).trim());
                }
            }
        }
        m if m.starts_with("LOGIN_") => {
            // `Login Success [user: admin] [Source: 10.1.1.1] [localport: 22] at ...`
            for (key, field) in [
                ("user: ", "User"),
                ("Source: ", "SourceIp"),
                ("localport: ", "Port"),
            ] {
                if let Some(at) = message.find(&format!("[{key}")) {
                    let rest = &message[at + key.len() + 1..];
                    if let Some(end) = rest.find(']') {
                        f.set_nonempty(field, rest[..end].trim());
                    }
                }
            }
            f.set(
                "Result",
                if m == "LOGIN_SUCCESS" {
                    "success"
                } else {
                    "failure"
                },
            );
        }
        "CONFIG_I" | "VSHD_SYSLOG_CONFIG_I" => {
            // `Configured from console by admin on vty0 (10.1.1.1)` /
            // `Configured from vty by admin on 10.1.1.1@pts/0`
            if let Some(at) = message.find(" by ") {
                let rest = &message[at + 4..];
                let (user, on) = rest.split_once(" on ").unwrap_or((rest, ""));
                f.set_nonempty("User", user.trim());
                let on = on.trim();
                if let Some((line, addr)) = on.split_once(" (") {
                    f.set_nonempty("Session", line);
                    f.set_nonempty("SourceIp", addr.trim_end_matches(')'));
                } else if let Some((ip, tty)) = on.split_once('@') {
                    f.set_nonempty("SourceIp", ip);
                    f.set_nonempty("Session", tty);
                } else {
                    f.set_nonempty("Session", on);
                }
            }
        }
        _ => {}
    }
    syslog_header(header, now)
}

fn junos(
    header: &str,
    tag: &str,
    message: &str,
    f: &mut Fields,
    now: Timestamp,
) -> (Option<Timestamp>, Option<String>) {
    f.set("LogFormat", "junos_syslog");
    f.set("Platform", "junos");
    f.set("Mnemonic", tag);
    f.set_nonempty("Message", message);
    // `User 'admin', command 'show system connections '`
    let quoted = |after: &str| -> Option<String> {
        let at = message.find(after)? + after.len();
        let rest = &message[at..];
        let end = rest.rfind('\'')?;
        Some(rest[..end].to_owned())
    };
    if let Some(user) = message
        .strip_prefix("User '")
        .and_then(|r| r.split_once('\''))
        .map(|(u, _)| u)
    {
        f.set_nonempty("User", user);
    }
    if tag == "UI_CMDLINE_READ_LINE" {
        if let Some(cmd) = quoted("command '") {
            f.set_nonempty("command", cmd.trim());
        }
    }
    if let Some(conn) = quoted("ssh-connection '").or_else(|| quoted("telnet-connection '")) {
        if let Some(ip) = conn.split_ascii_whitespace().next() {
            f.set_nonempty("SourceIp", ip);
        }
    }
    syslog_header(header, now)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `+0000`/`+00:00` offsets after `YYYY-MM-DD HH:MM:SS[.f]`.
fn parse_offset_time(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(t) = text.parse::<Timestamp>() {
        return Some(t);
    }
    let (dt, offset) = match text.rsplit_once(' ') {
        Some((dt, off)) if off.starts_with(['+', '-']) => (dt, Some(off)),
        _ => (text, None),
    };
    let civil: DateTime = dt.replacen(' ', "T", 1).parse().ok()?;
    let tz = match offset {
        Some(off) => {
            let digits: String = off[1..].chars().filter(char::is_ascii_digit).collect();
            let hours: i32 = digits.get(..2)?.parse().ok()?;
            let minutes: i32 = digits.get(2..4).unwrap_or("0").parse().ok()?;
            let secs = (hours * 3600 + minutes * 60) * if off.starts_with('-') { -1 } else { 1 };
            TimeZone::fixed(jiff::tz::Offset::from_seconds(secs).ok()?)
        }
        None => TimeZone::UTC,
    };
    civil.to_zoned(tz).ok().map(|z| z.timestamp())
}

/// A timestamp at the start of `text`, and how many bytes it took. Understands RFC 3339,
/// `YYYY-MM-DD HH:MM:SS[.f] [+zone]`, `[Www ]MMM D HH:MM:SS[.f] [YYYY]` and NX-OS's
/// `YYYY MMM D HH:MM:SS`.
pub(crate) fn syslog_time(text: &str, now: Timestamp) -> Option<(Timestamp, usize)> {
    let first = text.split_ascii_whitespace().next()?;
    let first_clean = first.trim_end_matches(':');
    if first_clean.len() >= 19 && first_clean.as_bytes()[4] == b'-' {
        if let Ok(t) = first_clean.parse::<Timestamp>() {
            return Some((t, first.len() + (text.len() - text.trim_start().len())));
        }
    }
    // Tokenise the first few words with their end offsets.
    let mut words: Vec<(&str, usize)> = Vec::new();
    let mut at = 0;
    for word in text.split_ascii_whitespace().take(6) {
        let start = at + text[at..].find(word)?;
        at = start + word.len();
        words.push((word, at));
    }
    let w = |i: usize| words.get(i).map(|(s, _)| s.trim_end_matches(':'));
    // YYYY-MM-DD HH:MM:SS[.f] [+zone]
    if let (Some(d), Some(t)) = (w(0), w(1)) {
        if d.len() == 10 && d.as_bytes()[4] == b'-' && t.contains(':') {
            let zone = w(2).filter(|z| z.starts_with(['+', '-']) && z.len() >= 5);
            let joined = match zone {
                Some(z) => format!("{d} {t} {z}"),
                None => format!("{d} {t}"),
            };
            let used = words[if zone.is_some() { 2 } else { 1 }].1;
            return parse_offset_time(&joined).map(|ts| (ts, used));
        }
    }
    // Optional weekday, or NX-OS's leading year.
    let mut i = 0;
    let mut year: Option<i16> = None;
    if let Some(y) = w(0)
        .and_then(|y| y.parse::<i16>().ok())
        .filter(|y| *y > 1970)
    {
        year = Some(y);
        i = 1;
    } else if w(0)
        .is_some_and(|d| d.len() == 3 && !MONTHS.contains(&d) && d.chars().all(char::is_alphabetic))
    {
        i = 1;
    }
    let month = MONTHS.iter().position(|m| Some(*m) == w(i))? as i8 + 1;
    let day: i8 = w(i + 1)?.parse().ok()?;
    let (mut time_word, mut used) = (w(i + 2)?, words[i + 2].1);
    if year.is_none() {
        // `MMM D YYYY HH:MM:SS` (IOS with `service timestamps ... year`).
        if let Some(y) = w(i + 2)
            .and_then(|y| y.parse::<i16>().ok())
            .filter(|y| *y > 1970)
        {
            year = Some(y);
            time_word = w(i + 3)?;
            used = words[i + 3].1;
        }
    }
    if year.is_none() {
        if let Some(y) = w(i + 3)
            .and_then(|y| y.parse::<i16>().ok())
            .filter(|y| *y > 1970)
        {
            year = Some(y);
            used = words[i + 3].1;
        }
    }
    let time: jiff::civil::Time = time_word.parse().ok()?;
    let explicit = year.is_some();
    let this_year = now.to_zoned(TimeZone::UTC).year();
    let make = |y: i16| -> Option<Timestamp> {
        let date = jiff::civil::Date::new(y, month, day).ok()?;
        date.to_datetime(time)
            .to_zoned(TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp())
    };
    let mut ts = make(year.unwrap_or(this_year))?;
    if !explicit && ts > now + jiff::SignedDuration::from_hours(24) {
        ts = make(this_year - 1)?;
    }
    Some((ts, used))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2024-06-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn times() {
        let t = |s: &str| syslog_time(s, now()).map(|(t, n)| (t.to_string(), n));
        assert_eq!(
            t("Jan  2 03:04:05 host x"),
            Some(("2024-01-02T03:04:05Z".into(), 15))
        );
        assert_eq!(t("Dec 31 23:59:59 host").unwrap().0, "2023-12-31T23:59:59Z");
        assert_eq!(
            t("Mon Jan  1 00:00:00 2024:type").unwrap().0,
            "2024-01-01T00:00:00Z"
        );
        assert_eq!(
            t("2024 Jan  1 00:00:00 nx1").unwrap().0,
            "2024-01-01T00:00:00Z"
        );
        assert_eq!(
            t("Jan  1 2024 00:00:00.123 UTC:").unwrap().0,
            "2024-01-01T00:00:00.123Z"
        );
        assert_eq!(
            t("2024-01-01 01:00:00.000 +01:00 x").unwrap().0,
            "2024-01-01T00:00:00Z"
        );
        assert_eq!(
            t("2024-01-01T00:00:00Z shell").unwrap().0,
            "2024-01-01T00:00:00Z"
        );
        assert_eq!(t("hello"), None);
    }
}
