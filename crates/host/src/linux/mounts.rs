//! `/proc/<pid>/mountinfo`: every mount of a mount namespace, one line each.
//!
//! Format (proc(5)): `id parent major:minor root mountpoint options [optional...] - fstype
//! source superoptions`. Paths have space, tab, newline and backslash escaped as `\040`,
//! `\011`, `\012` and `\134`; they are decoded here, so a mount point named with a space
//! (or a newline meant to forge a second line) is reported as it really is.

use std::io::{self, BufRead};

/// One mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    /// Mount id.
    pub mount_id: u32,
    /// Parent mount id.
    pub parent_id: u32,
    /// `major:minor` of the device.
    pub device: String,
    /// Root of the mount within the file system.
    pub root: String,
    /// Mount point, decoded.
    pub mount_point: String,
    /// Per-mount options (ro, nosuid, relatime...).
    pub mount_options: Vec<String>,
    /// Optional fields (shared:N, master:N...).
    pub optional: Vec<String>,
    /// File system type (`nfs4`, `cifs`, `fuse.sshfs`...).
    pub fs_type: String,
    /// Mount source, decoded (`server:/export`, `//server/share`).
    pub source: String,
    /// Per-superblock options (`vers=4.2,addr=...`, `uid=1000`...).
    pub super_options: Vec<String>,
}

/// A line that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountProblem {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses mountinfo text from a reader, line by line. A malformed line is reported and
/// skipped; only a read error fails the whole parse.
pub fn parse_reader<R: BufRead>(reader: R) -> io::Result<(Vec<MountInfo>, Vec<MountProblem>)> {
    let mut mounts = Vec::new();
    let mut problems = Vec::new();
    for (index, line) in reader.split(b'\n').enumerate() {
        let line = line?;
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        match parse_line(&text) {
            Ok(mount) => mounts.push(mount),
            Err(message) => problems.push(MountProblem {
                line: index + 1,
                message,
            }),
        }
    }
    Ok((mounts, problems))
}

/// Parses one mountinfo line.
pub fn parse_line(line: &str) -> Result<MountInfo, String> {
    let fields: Vec<&str> = line.split(' ').collect();
    let sep = fields
        .iter()
        .position(|f| *f == "-")
        .ok_or_else(|| "no ' - ' separator before the file system type".to_string())?;
    if sep < 6 {
        return Err(format!(
            "{sep} fields before the separator, expected at least 6"
        ));
    }
    if fields.len() < sep + 3 {
        return Err("missing file system type, source or super options".into());
    }
    let number = |i: usize, what: &str| {
        fields[i]
            .parse::<u32>()
            .map_err(|_| format!("{what} {:?} is not a number", fields[i]))
    };
    Ok(MountInfo {
        mount_id: number(0, "mount id")?,
        parent_id: number(1, "parent id")?,
        device: fields[2].to_string(),
        root: unescape(fields[3]),
        mount_point: unescape(fields[4]),
        mount_options: split_options(fields[5]),
        optional: fields[6..sep].iter().map(|s| s.to_string()).collect(),
        fs_type: unescape(fields[sep + 1]),
        source: unescape(fields[sep + 2]),
        super_options: split_options(&fields[sep + 3..].join(" ")),
    })
}

fn split_options(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|o| !o.is_empty())
        .map(unescape)
        .collect()
}

/// Decodes the kernel's `\ooo` octal escapes; anything else passes through unchanged.
pub fn unescape(text: &str) -> String {
    if !text.contains('\\') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            let digits = &bytes[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let value = u32::from(digits[0] - b'0') * 64
                    + u32::from(digits[1] - b'0') * 8
                    + u32::from(digits[2] - b'0');
                if let Ok(byte) = u8::try_from(value) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_nfs_line_with_escapes() {
        let line = "112 27 0:53 / /mnt/team\\040share rw,relatime shared:60 master:1 - nfs4 \
                    fs1.example.net:/export/team rw,vers=4.2,addr=192.0.2.10,clientaddr=192.0.2.2";
        let m = parse_line(line).unwrap();
        assert_eq!(m.mount_point, "/mnt/team share");
        assert_eq!(m.optional, vec!["shared:60", "master:1"]);
        assert_eq!(m.fs_type, "nfs4");
        assert_eq!(m.source, "fs1.example.net:/export/team");
        assert!(m.super_options.contains(&"addr=192.0.2.10".to_string()));
    }

    #[test]
    fn unescape_handles_edges() {
        assert_eq!(unescape("a\\040b\\011c\\012d\\134e"), "a b\tc\nd\\e");
        assert_eq!(unescape("trailing\\04"), "trailing\\04");
        assert_eq!(unescape("\\"), "\\");
        assert_eq!(unescape("\\999"), "\\999");
        assert_eq!(unescape("\\777"), "\\777");
    }

    #[test]
    fn bad_lines_are_reported_with_numbers() {
        let text = "22 27 0:21 / /proc rw - proc proc rw\nnonsense\n\n23 x 0:22 / /sys rw - sysfs sysfs rw\n";
        let (mounts, problems) = parse_reader(text.as_bytes()).unwrap();
        assert_eq!(mounts.len(), 1);
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0].line, 2);
        assert_eq!(problems[1].line, 4);
        assert!(problems[1].message.contains("parent id"));
    }
}
