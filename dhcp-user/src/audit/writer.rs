//! The audit log writer: one thread that owns the files, fed by the workers
//! through a bounded channel, so file I/O never touches the per-packet path
//! and a slow or failing disk never slows or stops DHCP service.
//!
//! Files follow the Windows convention: one per weekday
//! (`DhcpSrvLog-Mon.log` …), overwritten when the same weekday comes round
//! again, a size cap per file, and a pause (record 02) when the disk runs
//! low. Problems are reported as events 1027, 1028, 1030 and 1060, once
//! per episode.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};

use super::record::{AuditId, AuditRecord, COLUMNS};
use crate::catalogued;
use crate::events::EventId;

/// Records waiting for the writer before new ones are dropped (counted).
const QUEUE: usize = 65_536;
const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Where and how much to log.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    pub dir: PathBuf,
    /// Size cap of one day's file; logging stops for the day at the cap.
    pub max_file_bytes: u64,
    /// Logging pauses while the disk has less free space than this.
    pub min_free_bytes: u64,
}

enum Msg {
    Record(AuditRecord),
    Stop,
}

/// A handle to the audit log; cheap to clone, one per worker.
#[derive(Clone)]
pub struct AuditLog {
    tx: Sender<Msg>,
    dropped: Arc<AtomicU64>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl AuditLog {
    /// Starts the writer thread. Never fails: a log that cannot be written
    /// is reported as events, and DHCP goes on.
    pub fn start(settings: AuditSettings, now_ms: u64) -> AuditLog {
        let (tx, rx) = crossbeam_channel::bounded(QUEUE);
        let thread = std::thread::Builder::new()
            .name("xdhcpd-audit".into())
            .spawn(move || Files::new(settings).run(&rx, now_ms))
            .ok();
        if thread.is_none() {
            catalogued!(EventId::InitAuditLogFailed, ; "cannot start the audit log writer thread");
        }
        AuditLog {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
            thread: Arc::new(Mutex::new(thread)),
        }
    }

    /// Queues a record; never blocks (a full queue drops and counts it).
    pub fn record(&self, r: AuditRecord) {
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.tx.try_send(Msg::Record(r))
        {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records dropped because the writer could not keep up.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Writes the "Stopped" record, flushes and ends the writer.
    pub fn stop(&self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
    }
}

/// The day's open file.
struct Day {
    /// Days since the Unix epoch (UTC).
    day: u64,
    out: BufWriter<File>,
    size: u64,
}

/// The writer thread's state.
struct Files {
    settings: AuditSettings,
    day: Option<Day>,
    low_disk: bool,
    capped: bool,
    /// An error episode is under way (reported once until writing works).
    failing: bool,
    line: String,
}

impl Files {
    fn new(settings: AuditSettings) -> Files {
        Files {
            settings,
            day: None,
            low_disk: false,
            capped: false,
            failing: false,
            line: String::new(),
        }
    }

    fn run(mut self, rx: &Receiver<Msg>, started_ms: u64) {
        self.write(&AuditRecord::new(AuditId::Started, started_ms));
        loop {
            match rx.recv_timeout(Duration::from_secs(1)) {
                Ok(Msg::Record(r)) => {
                    self.write(&r);
                    // Drain what else is waiting before one flush.
                    while let Ok(msg) = rx.try_recv() {
                        match msg {
                            Msg::Record(r) => self.write(&r),
                            Msg::Stop => return self.finish(),
                        }
                    }
                    self.flush();
                }
                Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return self.finish(),
                Err(RecvTimeoutError::Timeout) => self.flush(),
            }
        }
    }

    fn finish(mut self) {
        self.write(&AuditRecord::new(AuditId::Stopped, now_ms()));
        self.flush();
    }

    fn write(&mut self, r: &AuditRecord) {
        let day = r.at_ms / 86_400_000;
        if self.day.as_ref().is_none_or(|d| d.day != day) {
            self.open(day);
        }
        if !self.check_disk(r.at_ms) {
            return;
        }
        let Some(d) = self.day.as_mut() else { return };
        if d.size >= self.settings.max_file_bytes {
            if !self.capped {
                self.capped = true;
                tracing::warn!(
                    max = self.settings.max_file_bytes,
                    "today's audit log is full; audit records are skipped until tomorrow"
                );
            }
            return;
        }
        self.line.clear();
        r.write_line(&mut self.line);
        match d.out.write_all(self.line.as_bytes()) {
            Ok(()) => {
                d.size += self.line.len() as u64;
                self.failing = false;
            }
            Err(e) => self.fail(
                EventId::AuditLogAppendFailed,
                &format!("cannot append to the audit log: {e}"),
            ),
        }
    }

    fn flush(&mut self) {
        if let Some(d) = self.day.as_mut()
            && let Err(e) = d.out.flush()
        {
            self.fail(
                EventId::AuditLogAppendFailed,
                &format!("cannot append to the audit log: {e}"),
            );
        }
    }

    /// Opens the file of `day`'s weekday: appended to if it was written
    /// today, started over if it holds an older week.
    fn open(&mut self, day: u64) {
        self.flush();
        self.day = None;
        self.capped = false;
        let dir = &self.settings.dir;
        if let Err(e) = std::fs::create_dir_all(dir) {
            return self.fail(
                EventId::AuditLogPathNotAccessible,
                &format!("audit log directory {}: {e}", dir.display()),
            );
        }
        // 1970-01-01 was a Thursday.
        let path = dir.join(format!(
            "DhcpSrvLog-{}.log",
            WEEKDAYS[((day + 3) % 7) as usize]
        ));
        let current = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| {
                t.duration_since(UNIX_EPOCH)
                    .is_ok_and(|d| d.as_secs() / 86_400 == day)
            });
        if !current && path.exists() && File::create(&path).is_err() {
            return self.fail(
                EventId::MoveAuditLogFailed,
                &format!("cannot start last week's audit log {} over", path.display()),
            );
        }
        match OpenOptions::new().create(true).append(true).open(&path) {
            Ok(file) => {
                let size = file.metadata().map_or(0, |m| m.len());
                let mut out = BufWriter::new(file);
                let mut size = size;
                if size == 0 {
                    let header = header();
                    if out.write_all(header.as_bytes()).is_ok() {
                        size = header.len() as u64;
                    }
                }
                self.day = Some(Day { day, out, size });
                self.failing = false;
            }
            Err(e) => self.fail(
                EventId::InitAuditLogFailed,
                &format!("cannot open the audit log {}: {e}", path.display()),
            ),
        }
    }

    /// False while the disk is too full to log (record 02 marks the pause).
    fn check_disk(&mut self, at_ms: u64) -> bool {
        let Some(free) = free_bytes(&self.settings.dir) else {
            return true;
        };
        let low = free < self.settings.min_free_bytes;
        if low && !self.low_disk {
            self.low_disk = true;
            // The pause itself is recorded while a few bytes still fit.
            if let Some(d) = self.day.as_mut() {
                self.line.clear();
                AuditRecord::new(AuditId::PausedLowDisk, at_ms).write_line(&mut self.line);
                let _ = d.out.write_all(self.line.as_bytes());
                let _ = d.out.flush();
            }
            tracing::warn!(free, "audit logging paused: the disk is low on space");
        } else if !low && self.low_disk {
            self.low_disk = false;
            tracing::info!(free, "audit logging resumed");
        }
        !low
    }

    fn fail(&mut self, id: EventId, why: &str) {
        if !self.failing {
            self.failing = true;
            catalogued!(id, ; "{why}; DHCP service goes on");
        }
    }
}

fn free_bytes(dir: &Path) -> Option<u64> {
    let s = nix::sys::statvfs::statvfs(dir).ok()?;
    Some(s.blocks_available() as u64 * s.fragment_size() as u64)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The preamble: what the IDs mean (xdhcpd's wording), then the column
/// header Windows parsers look for.
fn header() -> String {
    let meanings: [(&str, &str); 12] = [
        ("00", "Audit logging started."),
        ("01", "Audit logging stopped."),
        ("02", "Audit logging paused: the disk is low on free space."),
        ("10", "A client was given a new lease."),
        ("11", "A client renewed its lease."),
        ("12", "A client released its lease."),
        (
            "13",
            "A client reported the address in use (DHCPDECLINE); it is quarantined.",
        ),
        (
            "14",
            "No address was free for the client in its scope or superscope.",
        ),
        ("15", "A client's request was refused (DHCPNAK)."),
        ("18", "A lease expired."),
        ("24", "Lease cleanup started."),
        ("25", "Lease cleanup statistics."),
    ];
    let mut s = String::from("\t\txdhcpd DHCP Server Audit Log\n\n\nEvent ID  Meaning\n");
    for (id, meaning) in meanings {
        s.push_str(&format!("{id}\t{meaning}\n"));
    }
    s.push_str(
        "\nTimes are UTC. QResult is always 0 (no quarantine); columns kept for compatibility.\n\n",
    );
    s.push_str(COLUMNS);
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(dir: &Path) -> AuditSettings {
        AuditSettings {
            dir: dir.to_path_buf(),
            max_file_bytes: 1 << 20,
            min_free_bytes: 0,
        }
    }

    fn tempdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("xdhcpd-audit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn writes_a_parseable_daily_file() {
        let dir = tempdir("daily");
        let now = now_ms();
        let log = AuditLog::start(settings(&dir), now);
        let mut r = AuditRecord::new(AuditId::Assign, now);
        r.addr = Some("10.0.0.5".parse().unwrap());
        r.mac = "02000000000A".into();
        log.record(r);
        log.stop();
        let day = now / 86_400_000;
        let path = dir.join(format!(
            "DhcpSrvLog-{}.log",
            WEEKDAYS[((day + 3) % 7) as usize]
        ));
        let text = std::fs::read_to_string(&path).unwrap();
        let rows: Vec<&str> = text.lines().skip_while(|l| *l != COLUMNS).skip(1).collect();
        assert_eq!(rows.len(), 3, "{text}");
        assert!(
            rows[0].starts_with("00,") && rows[1].starts_with("10,") && rows[2].starts_with("01,")
        );
        assert!(rows.iter().all(|r| r.split(',').count() == 19), "{rows:?}");
        assert!(rows[1].contains(",10.0.0.5,") && rows[1].contains(",02000000000A,"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn last_weeks_file_is_started_over_and_the_cap_holds() {
        let dir = tempdir("rotate");
        std::fs::create_dir_all(&dir).unwrap();
        let now = now_ms();
        let day = now / 86_400_000;
        let path = dir.join(format!(
            "DhcpSrvLog-{}.log",
            WEEKDAYS[((day + 3) % 7) as usize]
        ));
        std::fs::write(&path, "old week\n").unwrap();
        let week_ago = SystemTime::now() - Duration::from_secs(7 * 86_400);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(week_ago)
            .unwrap();
        let log = AuditLog::start(
            AuditSettings {
                max_file_bytes: 4096,
                ..settings(&dir)
            },
            now,
        );
        for _ in 0..500 {
            log.record(AuditRecord::new(AuditId::Renew, now));
        }
        log.stop();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("old week"));
        assert!(
            text.len() < 4096 + 200,
            "cap not held: {} bytes",
            text.len()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unwritable_directory_is_survived() {
        let log = AuditLog::start(settings(Path::new("/proc/no-such-dir/audit")), now_ms());
        log.record(AuditRecord::new(AuditId::Assign, now_ms()));
        log.stop();
    }
}
