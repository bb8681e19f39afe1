//! Prints the sensor's raw records as JSON lines for a while: a look at what the kernel
//! side sends, without the CLI. `cargo run -p sockhunt-sensor --example tail -- 10`
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use sockhunt_sensor::{Item, WatchOptions, Watcher};

fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let quiet = std::env::args().any(|a| a == "--quiet");
    let mut w = match Watcher::start(WatchOptions::default()) {
        Ok(w) => w,
        Err(err) => {
            eprintln!("tail: {err}");
            std::process::exit(2);
        }
    };
    eprintln!("tail: attached {:?}", w.sensor().attached());
    let end = Instant::now() + Duration::from_secs(secs);
    let mut print = |item: Item<'_>| {
        if quiet {
            return;
        }
        match item {
            Item::Record(raw, _) => println!("{}", serde_json::to_string(raw).unwrap()),
            Item::Drops(event) => println!("{}", serde_json::to_string(&event).unwrap()),
        }
    };
    while Instant::now() < end {
        w.poll(Duration::from_millis(10), &mut print).unwrap();
    }
    let summary = w.finish(&mut print).unwrap();
    eprintln!("tail: {}", serde_json::to_string(&summary).unwrap());
}
