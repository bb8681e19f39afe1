//! The remote host a lateral-movement command reaches, so a chain can tell whether the
//! target was named by the discovery that preceded it.
//!
//! Recognised: UNC paths (`psexec \\host`, `net use \\host\admin$`, `copy x \\host\c$`),
//! `wmic /node:host`, `winrs -r:host`, PowerShell `-ComputerName host` / `-cn host`
//! (`Enter-PSSession`, `Invoke-Command`), `ssh [options] [user@]host` and
//! `scp ... [user@]host:path`. Process output is not in any log sockhunt reads, so
//! "appeared in the discovery" means the discovery's command line or parameters.

/// Remote hosts named by a command line, lower-case, in order, without repeats.
pub fn targets(command: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |host: &str| {
        let host = clean_host(host);
        if host.len() >= 2 && !host.eq_ignore_ascii_case("localhost") && !out.contains(&host) {
            out.push(host);
        }
    };
    for host in unc_hosts(command) {
        add(host);
    }
    let lower = command.to_ascii_lowercase();
    for key in ["/node:", "-node:"] {
        for value in values_after(command, &lower, key) {
            for host in value.split(',') {
                add(host);
            }
        }
    }
    for key in ["-r:", "/r:", "-remote:", "/remote:"] {
        if lower.contains("winrs") {
            for value in values_after(command, &lower, key) {
                add(value);
            }
        }
    }
    let tokens: Vec<&str> = command.split_whitespace().collect();
    for (i, token) in tokens.iter().enumerate() {
        let t = token.to_ascii_lowercase();
        if (t == "-computername" || t == "-cn") && i + 1 < tokens.len() {
            for host in tokens[i + 1].split(',') {
                add(host);
            }
        }
    }
    for host in ssh_hosts(&tokens) {
        add(host);
    }
    out
}

/// Whether a target host appears in a text (a command line, API parameters), by its
/// full name or, for a dotted name, its first label.
pub fn mentioned_in(target: &str, text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    if contains_name(&text, target) {
        return true;
    }
    match target.split_once('.') {
        // An address is only ever compared whole.
        Some((label, _)) if !target.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
            label.len() >= 3 && contains_name(&text, label)
        }
        _ => false,
    }
}

/// Whether `name` occurs in `text` as a whole host name: not inside a longer name.
fn contains_name(text: &str, name: &str) -> bool {
    let part_of_name = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_';
    let mut from = 0;
    while let Some(pos) = text[from..].find(name) {
        let start = from + pos;
        let end = start + name.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        if !before.is_some_and(part_of_name) && !after.is_some_and(part_of_name) {
            return true;
        }
        from = start + 1;
        while !text.is_char_boundary(from) {
            from += 1;
        }
    }
    false
}

fn clean_host(raw: &str) -> String {
    let mut host = raw.trim().trim_matches(|c| c == '"' || c == '\'');
    for scheme in ["http://", "https://"] {
        if host.len() > scheme.len() && host[..scheme.len()].eq_ignore_ascii_case(scheme) {
            host = &host[scheme.len()..];
        }
    }
    if let Some((_, h)) = host.rsplit_once('@') {
        host = h;
    }
    // A port or a path after the host.
    let end = host.find([':', '/', '\\']).unwrap_or(host.len());
    host[..end].to_ascii_lowercase()
}

fn unc_hosts(command: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = command;
    while let Some(at) = rest.find("\\\\") {
        let after = &rest[at + 2..];
        let end = after
            .find(|c: char| c == '\\' || c == '/' || c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(after.len());
        let host = &after[..end];
        if !host.is_empty() && host != "." && host != "?" {
            out.push(host);
        }
        rest = &after[end..];
    }
    out
}

fn values_after<'a>(command: &'a str, lower: &str, key: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = lower[from..].find(key) {
        let start = from + pos + key.len();
        let rest = &command[start..];
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            &quoted[..quoted.find('"').unwrap_or(quoted.len())]
        } else {
            &rest[..rest.find(char::is_whitespace).unwrap_or(rest.len())]
        };
        if !value.is_empty() {
            out.push(value);
        }
        from = start;
    }
    out
}

fn ssh_hosts<'a>(tokens: &[&'a str]) -> Vec<&'a str> {
    // Options of ssh and scp that take an argument.
    const WITH_ARG: &[&str] = &[
        "-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m", "-O", "-o", "-P",
        "-p", "-Q", "-R", "-S", "-W", "-w",
    ];
    let mut out = Vec::new();
    let Some(at) = tokens.iter().position(|t| {
        let name = t
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(t)
            .to_ascii_lowercase();
        matches!(name.as_str(), "ssh" | "ssh.exe" | "scp" | "scp.exe")
    }) else {
        return out;
    };
    let is_scp = tokens[at].to_ascii_lowercase().contains("scp");
    let mut i = at + 1;
    while i < tokens.len() {
        let t = tokens[i];
        if t.starts_with('-') {
            i += if WITH_ARG.contains(&t) { 2 } else { 1 };
            continue;
        }
        if is_scp {
            // `host:path` or `user@host:path`; not a Windows drive (`C:\x`).
            if let Some((host, _)) = t.split_once(':') {
                if host.len() > 1 {
                    out.push(host);
                }
            }
        } else {
            out.push(t);
            break;
        }
        i += 1;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn windows_remote_execution() {
        assert_eq!(targets(r"psexec.exe \\FS01 -s cmd"), ["fs01"]);
        assert_eq!(
            targets(r"net use \\10.0.0.5\admin$ /user:corp\adm x"),
            ["10.0.0.5"]
        );
        assert_eq!(
            targets(r#"wmic /node:"dc01.corp.local" process call create cmd"#),
            ["dc01.corp.local"]
        );
        assert_eq!(targets("winrs -r:http://srv2:5985 whoami"), ["srv2"]);
        assert_eq!(
            targets("Enter-PSSession -ComputerName WEB03 -Credential $c"),
            ["web03"]
        );
    }

    #[test]
    fn ssh_and_scp() {
        assert_eq!(targets("ssh -i key -p 2222 root@db1 uptime"), ["db1"]);
        assert_eq!(
            targets("/usr/bin/scp -P 22 a.txt ops@10.1.1.1:/tmp/"),
            ["10.1.1.1"]
        );
        assert!(targets(r"scp.exe C:\x.txt .").is_empty());
        assert!(targets("netstat -ano").is_empty());
    }

    #[test]
    fn mentions() {
        assert!(mentioned_in("fs01", "net view \\\\FS01"));
        assert!(mentioned_in("dc01.corp.local", "nltest /dsgetdc:corp dc01"));
        assert!(!mentioned_in("10.0.0.5", "ping 10.0.0.50x"));
    }
}
