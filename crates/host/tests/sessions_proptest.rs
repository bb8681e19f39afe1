//! Property tests: no byte sequence makes the session parsers panic, and nothing is
//! silently lost (every 384-byte slot is either a record or a reported problem).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use sockhunt_host::linux::{logind, sess_inbound, sess_proc, utmp};

proptest! {
    #[test]
    fn utmp_accounts_for_every_slot(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let file = utmp::parse_bytes(&bytes);
        let slots = bytes.len().div_ceil(utmp::RECORD_SIZE);
        let invalid_time = file.problems.iter().filter(|p| p.message.contains("invalid time")).count();
        prop_assert_eq!(file.records.len() + file.problems.len() - invalid_time, slots);
        let streamed = utmp::parse_reader(&bytes[..]).unwrap();
        prop_assert_eq!(streamed, file);
    }

    #[test]
    fn utmp_records_survive_mutation(kind in 0i16..10, pid in any::<i32>(), user in "\\PC{0,40}",
                                     host in "\\PC{0,300}", sec in any::<i32>(), usec in any::<i32>()) {
        let mut raw = [0u8; utmp::RECORD_SIZE];
        raw[0..2].copy_from_slice(&kind.to_ne_bytes());
        raw[4..8].copy_from_slice(&pid.to_ne_bytes());
        let u = user.as_bytes();
        raw[44..44 + u.len().min(32)].copy_from_slice(&u[..u.len().min(32)]);
        let h = host.as_bytes();
        raw[76..76 + h.len().min(256)].copy_from_slice(&h[..h.len().min(256)]);
        raw[340..344].copy_from_slice(&sec.to_ne_bytes());
        raw[344..348].copy_from_slice(&usec.to_ne_bytes());
        let file = utmp::parse_bytes(&raw);
        prop_assert_eq!(file.records.len(), 1);
        prop_assert_eq!(file.records[0].pid, pid);
        prop_assert_eq!(file.records[0].time.is_some(), (0..1_000_000).contains(&usec));
    }

    #[test]
    fn logind_text_never_panics(text in "\\PC{0,400}") {
        let _ = logind::parse("1", &text);
    }

    #[test]
    fn proc_stat_never_panics(text in "[0-9a-z() -]{0,200}") {
        let _ = sess_proc::parse_stat(&text);
    }

    #[test]
    fn proc_net_tcp_never_panics(text in "[0-9A-F: \n]{0,400}") {
        let (rows, bad) = sess_inbound::parse_table(&text);
        let _ = sess_inbound::inbound(&[("tcp", rows)]);
        prop_assert!(bad.len() <= text.lines().count());
    }
}
