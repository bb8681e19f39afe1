#![allow(clippy::unwrap_used)]
//! A 1 GiB line and a giant JSON array are streamed with bounded memory. One test per
//! binary (keep it that way), so the peak resident size measured is this test's own.

use std::io::Read;

use sockhunt_events::{read_stream, EventSink, Format, ReadOptions};

/// Yields `prefix`, then `filler` bytes of `fill`, then `suffix`, without holding them.
struct Generated {
    parts: Vec<(Vec<u8>, u64)>,
    at: usize,
    offset: u64,
}

impl Generated {
    fn new(parts: Vec<(Vec<u8>, u64)>) -> Self {
        Generated {
            parts,
            at: 0,
            offset: 0,
        }
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut written = 0;
        while written < buf.len() && self.at < self.parts.len() {
            let (unit, repeat) = &self.parts[self.at];
            let total = unit.len() as u64 * repeat;
            if self.offset >= total {
                self.at += 1;
                self.offset = 0;
                continue;
            }
            let pos = (self.offset % unit.len() as u64) as usize;
            let n = (unit.len() - pos).min(buf.len() - written);
            buf[written..written + n].copy_from_slice(&unit[pos..pos + n]);
            written += n;
            self.offset += n as u64;
        }
        Ok(written)
    }
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Counts without keeping events.
#[derive(Default)]
struct CountSink {
    events: u64,
    errors: Vec<String>,
}

impl EventSink for CountSink {
    fn event(&mut self, _event: sockhunt_events::Event) -> std::ops::ControlFlow<()> {
        self.events += 1;
        std::ops::ControlFlow::Continue(())
    }
    fn record_error(&mut self, error: sockhunt_events::RecordError) {
        self.errors.push(error.to_string());
    }
}

const GIB: u64 = 1 << 30;

#[test]
fn one_gib_line_and_giant_array_stay_bounded() {
    let before = peak_rss_kib();

    // A JSONL file whose second line is 1 GiB long.
    let good = b"{\"logsource\":{\"product\":\"linux\",\"category\":\"process_creation\"},\"Image\":\"/usr/bin/ss\"}\n".to_vec();
    let input = Generated::new(vec![
        (good.clone(), 1),
        (b"{\"logsource\":{},\"x\":\"".to_vec(), 1),
        (vec![b'a'; 1 << 16], GIB >> 16),
        (b"\"}\n".to_vec(), 1),
        (good.clone(), 1),
    ]);
    let mut sink = CountSink::default();
    let (format, stats) = read_stream(
        "huge.jsonl",
        Box::new(input),
        &ReadOptions::default(),
        &mut sink,
    )
    .unwrap();
    assert_eq!(format, Format::Generic);
    assert_eq!(sink.events, 2);
    assert_eq!(sink.errors.len(), 1);
    assert!(
        sink.errors[0].contains("huge.jsonl:line 2"),
        "{}",
        sink.errors[0]
    );
    assert!(
        sink.errors[0].contains("record of 1073741847 bytes"),
        "{}",
        sink.errors[0]
    );
    assert_eq!(stats.errors, 1);

    // The same through the auditd reader.
    let audit = b"type=EXECVE msg=audit(1700000000.000:1): argc=1 a0=\"ss\"\n".to_vec();
    let input = Generated::new(vec![
        (audit.clone(), 1),
        (vec![b'b'; 1 << 16], GIB >> 16),
        (b"\n".to_vec(), 1),
        (audit, 1),
    ]);
    let mut sink = CountSink::default();
    let (format, _) = read_stream(
        "huge.log",
        Box::new(input),
        &ReadOptions::default(),
        &mut sink,
    )
    .unwrap();
    assert_eq!(format, Format::Auditd);
    assert_eq!(sink.errors.len(), 1, "{:?}", sink.errors);
    assert!(sink.errors[0].contains("huge.log:line 2"));

    // A CloudTrail file that is one array of 100,000 records (about 40 MB).
    let record = br#"{"eventVersion":"1.09","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"eu-west-1","eventTime":"2024-01-01T00:00:00Z","recipientAccountId":"111122223333","requestParameters":{"instancesSet":{"items":[{"instanceId":"i-0123456789abcdef0"}]},"filterSet":{}},"userIdentity":{"arn":"arn:aws:iam::111122223333:user/x"}},"#;
    let input = Generated::new(vec![
        (b"{\"Records\":[".to_vec(), 1),
        (record.to_vec(), 100_000),
        (br#"{"eventVersion":"1.09","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity"}]}"#.to_vec(), 1),
    ]);
    let options = ReadOptions {
        keep_original: false,
        ..ReadOptions::default()
    };
    let mut sink = CountSink::default();
    let (format, stats) =
        read_stream("records.json", Box::new(input), &options, &mut sink).unwrap();
    assert_eq!(format, Format::CloudTrail);
    assert_eq!(stats.events, 100_001);
    assert!(sink.errors.is_empty());

    let grown_mib = (peak_rss_kib().saturating_sub(before)) / 1024;
    assert!(
        grown_mib < 128,
        "peak resident size grew by {grown_mib} MiB"
    );
}
