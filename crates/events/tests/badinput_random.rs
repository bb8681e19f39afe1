#![allow(clippy::unwrap_used)]
//! The fuzz targets' properties as ordinary tests over random input, so CI checks them on
//! stable Rust too: no reader panics, every counted event and error reaches the sink, and
//! every event serializes.

use std::ops::ControlFlow;

use proptest::prelude::*;
use sockhunt_events::{read_stream, Event, EventSink, Format, ReadOptions, RecordError};

#[derive(Default)]
struct Checked {
    events: u64,
    errors: u64,
}

impl EventSink for Checked {
    fn event(&mut self, event: Event) -> ControlFlow<()> {
        serde_json::to_string(&event).unwrap();
        self.events += 1;
        ControlFlow::Continue(())
    }
    fn record_error(&mut self, error: RecordError) {
        assert!(!error.to_string().is_empty());
        self.errors += 1;
    }
}

const FORMATS: [Format; 8] = [
    Format::Auditd,
    Format::SysmonLinux,
    Format::CloudTrail,
    Format::Azure,
    Format::Gcp,
    Format::NetDevice,
    Format::Esxi,
    Format::Generic,
];

fn check(format: Option<Format>, bound: usize, data: Vec<u8>) {
    let options = ReadOptions {
        format,
        max_record_bytes: bound,
        ..ReadOptions::default()
    };
    let mut sink = Checked::default();
    let _ = Format::sniff(&data);
    if let Ok((_, stats)) = read_stream(
        "random",
        Box::new(std::io::Cursor::new(data)),
        &options,
        &mut sink,
    ) {
        assert_eq!(stats.events, sink.events);
        assert_eq!(stats.errors, sink.errors);
    }
}

/// Pieces of real records, so random input reaches deep into the parsers.
const FRAGMENTS: [&str; 24] = [
    "type=SYSCALL msg=audit(1700000000.100:500): ",
    "type=EXECVE msg=audit(1700000000.100:500): argc=3 a0=\"ss\" ",
    "a1_len=6 a1[0]=616263 a1[1]=6465",
    "type=PROCTITLE msg=audit(1.1:2): proctitle=7373002D74",
    "syscall=59 success=yes pid=5 ppid=4 exe=\"/bin/ss\" ",
    "msg='op=login acct=\"r\" ",
    "\u{1d}UID=\"root\" ",
    "type=EOE msg=audit(1700000000.100:500): ",
    "Mar  3 10:15:42 h sysmon: <Event><System><Provider Name=\"Linux-Sysmon\"/><EventID>1</EventID>",
    "<EventData><Data Name=\"Image\">/bin/&lt;x</Data></EventData></Event>",
    "{\"Records\":[",
    "{\"eventSource\":\"ec2.amazonaws.com\",\"awsRegion\":\"r\",\"a\":{\"b\":[{\"c\":1},2]}}",
    "{\"operationName\":{\"value\":\"x\"},\"resourceId\":\"/subscriptions/1/x\"}",
    "{\"protoPayload\":{\"methodName\":\"m\"},\"logName\":\"projects/p/logs/x\"}",
    "{\"logsource\":{\"product\":\"linux\"},\"fields\":[[\"a\",1],[\"b\",[1,\"x\"]]],\"time\":1.5}",
    "Jan 15 10:01:09 sw1 %PARSER-5-CFGLOG_LOGGEDCMD: User:admin  logged command:show ip sockets",
    "Jan 15 10:05:03\t10.0.0.1\tadmin\ttty2\t10.9.8.7\tstop\ttask_id=42\tcmd=show tcp brief <cr>",
    "CISE_TACACS_Accounting 1 1 0 2024-01-15 10:06:00.123 +00:00 1 3300 NOTICE T: x, User=a, CmdSet=[ CmdAV=show ]",
    "Mon Jan 15 10:08:05 2024:type=update:id=10.9.8.7@pts/1:user=netops:cmd=show sockets (SUCCESS)",
    "mgd[1]: UI_CMDLINE_READ_LINE: User 'a', command 'show system connections '",
    "2024-01-15T10:10:04Z shell[1]: [root]: esxcli network ip connection list",
    "2024-01-15T10:11:02.456Z In(166) Hostd[1]: [Originator@6876 user=root] Task Created : haTask-ha-host-vim.x.y-1",
    "\n",
    "]}",
];

fn structured() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            4 => (0..FRAGMENTS.len()).prop_map(|i| FRAGMENTS[i].as_bytes().to_vec()),
            1 => prop::collection::vec(any::<u8>(), 0..16),
            1 => Just(b"\"".to_vec()),
            1 => Just(b"\n".to_vec()),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(format in 0..FORMATS.len(), bound in 8usize..512, data in prop::collection::vec(any::<u8>(), 0..2048)) {
        check(Some(FORMATS[format]), bound, data);
    }

    #[test]
    fn record_fragments_never_panic(format in 0..=FORMATS.len(), bound in 16usize..4096, data in structured()) {
        check(FORMATS.get(format).copied(), bound, data);
    }
}
