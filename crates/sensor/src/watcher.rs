//! The sensor and the pipeline together: what `sockhunt watch` drives.

use std::path::Path;
use std::time::{Duration, Instant};

use sockhunt_events::Event;

use crate::error::SensorError;
use crate::normalise::BootClock;
use crate::pipeline::{Pipeline, PipelineStats};
use crate::raw::RawEvent;
use crate::sensor::{KernelDrops, Sensor, SensorConfig};

/// How to run.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Kernel-side settings.
    pub sensor: SensorConfig,
    /// Records from this process tree make no event (normally the sensor's own pid).
    pub exclude_tree: Option<u32>,
    /// How often lost-record counters are checked and reported as events.
    pub drop_check_every: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            sensor: SensorConfig::default(),
            exclude_tree: Some(std::process::id()),
            drop_check_every: Duration::from_secs(1),
        }
    }
}

/// What one drain hands to the caller.
#[derive(Debug)]
pub enum Item<'a> {
    /// A decoded record and the event it made, if any.
    Record(&'a RawEvent, Option<Event>),
    /// Records were lost since the last report; the event says how many.
    Drops(Event),
}

/// Totals at the end of a run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    /// Records read from the ring buffer.
    pub records: u64,
    /// Events produced.
    pub events: u64,
    /// Records dropped because they came from the excluded process tree.
    pub excluded: u64,
    /// Records the kernel could not queue, by kind.
    pub kernel_drops: KernelDrops,
    /// Records user space could not decode.
    pub user_drops: u64,
    /// Processes in the table at the end.
    pub processes: usize,
    /// Delay from the kernel hook to the event being built, over exec events:
    /// median and 99th percentile, in microseconds.
    pub exec_latency_us_p50: Option<u64>,
    /// See `exec_latency_us_p50`.
    pub exec_latency_us_p99: Option<u64>,
}

/// A running sensor with its pipeline.
#[derive(Debug)]
pub struct Watcher {
    sensor: Sensor,
    pipeline: Pipeline,
    options: WatchOptions,
    user_drops: u64,
    reported_kernel: u64,
    reported_user: u64,
    last_drop_check: Instant,
    latencies_ns: Vec<u64>,
}

/// Exec latencies kept for the summary (a fixed sample keeps memory bounded).
const LATENCY_SAMPLES: usize = 100_000;

impl Watcher {
    /// Attaches the sensor, then seeds the process table from `/proc` (in that order, so
    /// a process started in between is seen by one or the other).
    pub fn start(options: WatchOptions) -> Result<Self, SensorError> {
        let sensor = Sensor::start(&options.sensor)?;
        let pipeline = Pipeline::new(Path::new("/proc"), BootClock::now(), options.exclude_tree)
            .map_err(SensorError::Poll)?;
        Ok(Watcher {
            sensor,
            pipeline,
            options,
            user_drops: 0,
            reported_kernel: 0,
            reported_user: 0,
            last_drop_check: Instant::now(),
            latencies_ns: Vec::new(),
        })
    }

    /// The attached sensor.
    pub fn sensor(&self) -> &Sensor {
        &self.sensor
    }

    /// Waits up to `timeout`, then hands every queued record (and any drop report) to
    /// `on_item`. Returns the number of records read.
    pub fn poll(
        &mut self,
        timeout: Duration,
        mut on_item: impl FnMut(Item<'_>),
    ) -> Result<usize, SensorError> {
        let Watcher {
            sensor,
            pipeline,
            user_drops,
            latencies_ns,
            ..
        } = self;
        let n = sensor.drain(timeout, |record| match record {
            Ok(raw) => {
                let event = pipeline.process(&raw);
                if let (RawEvent::Exec(e), Some(_)) = (&raw, &event) {
                    if latencies_ns.len() < LATENCY_SAMPLES {
                        latencies_ns
                            .push(BootClock::boot_now_ns().saturating_sub(e.header.boot_ns));
                    }
                }
                on_item(Item::Record(&raw, event));
            }
            Err(err) => {
                *user_drops += 1;
                tracing::warn!("undecodable sensor record: {err}");
            }
        })?;
        if self.last_drop_check.elapsed() >= self.options.drop_check_every {
            self.last_drop_check = Instant::now();
            if let Some(event) = self.drop_report()? {
                on_item(Item::Drops(event));
            }
        }
        Ok(n)
    }

    /// An event when records were lost since the last report.
    fn drop_report(&mut self) -> Result<Option<Event>, SensorError> {
        let kernel = self.sensor.kernel_drops()?.total();
        let user = self.user_drops;
        if kernel == self.reported_kernel && user == self.reported_user {
            return Ok(None);
        }
        let event = self.pipeline.normaliser().drops(
            BootClock::boot_now_ns(),
            kernel - self.reported_kernel,
            user - self.reported_user,
        );
        self.reported_kernel = kernel;
        self.reported_user = user;
        Ok(Some(event))
    }

    /// Drains what is left (call after the last `poll`, before dropping), reporting
    /// any final drops, and returns the totals.
    pub fn finish(&mut self, mut on_item: impl FnMut(Item<'_>)) -> Result<Summary, SensorError> {
        while self.poll(Duration::ZERO, &mut on_item)? > 0 {}
        if let Some(event) = self.drop_report()? {
            on_item(Item::Drops(event));
        }
        self.summary()
    }

    /// Totals so far.
    pub fn summary(&self) -> Result<Summary, SensorError> {
        let PipelineStats {
            records,
            events,
            excluded,
        } = self.pipeline.stats();
        let mut lat = self.latencies_ns.clone();
        lat.sort_unstable();
        let pct = |p: usize| -> Option<u64> {
            if lat.is_empty() {
                None
            } else {
                let at = ((lat.len() - 1) * p) / 100;
                Some(lat[at] / 1000)
            }
        };
        Ok(Summary {
            records,
            events,
            excluded,
            kernel_drops: self.sensor.kernel_drops()?,
            user_drops: self.user_drops,
            processes: self.pipeline.table().len(),
            exec_latency_us_p50: pct(50),
            exec_latency_us_p99: pct(99),
        })
    }
}
