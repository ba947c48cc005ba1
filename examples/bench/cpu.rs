//! CPU time spent during a phase, per hook: the server processes, PostgreSQL, RabbitMQ and the
//! whole machine, read from `/proc` (Linux). Wall-clock rates on a shared 2-core VM swing by ±15 %
//! between rounds; CPU time per hook hardly moves with that noise, so it tells whether a change
//! made the work cheaper. Steal time is shown too: it is the share of the phase the hypervisor
//! gave to someone else, and context switches per hook show how often the work was handed
//! between threads and processes.

/// Kernel clock ticks per second of `/proc` times (`USER_HZ`): 100 on every Linux this runs on.
const TICKS_PER_SECOND: f64 = 100.0;

/// Process groups counted by their command name, beside the servers (counted by pid).
const GROUPS: &[(&str, &str)] = &[("postgres", "PostgreSQL"), ("beam.smp", "RabbitMQ")];

/// CPU ticks at one moment.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    servers: u64,
    /// Per entry of [`GROUPS`], in its order.
    groups: [u64; GROUPS.len()],
    machine_busy: u64,
    machine_steal: u64,
    machine_total: u64,
    /// Context switches of the whole machine since boot (`ctxt` in `/proc/stat`).
    machine_switches: u64,
}

impl Snapshot {
    /// Reads the machine's counters and those of `server_pids` and of the [`GROUPS`]. Missing
    /// `/proc` (not Linux) gives zeros, which the report shows as such.
    pub fn take(server_pids: &[u32]) -> Self {
        let mut snapshot = Snapshot {
            servers: server_pids
                .iter()
                .filter_map(|pid| process_stat(*pid).map(|(_, ticks)| ticks))
                .sum(),
            ..Snapshot::default()
        };
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let Some(pid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<u32>().ok())
                else {
                    continue;
                };
                let Some((comm, ticks)) = process_stat(pid) else {
                    continue;
                };
                if let Some(i) = GROUPS.iter().position(|(c, _)| *c == comm) {
                    snapshot.groups[i] += ticks;
                }
            }
        }
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        snapshot.machine_switches = stat
            .lines()
            .find_map(|l| l.strip_prefix("ctxt "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if let Some(line) = stat.lines().next() {
            // cpu user nice system idle iowait irq softirq steal guest guest_nice
            let f: Vec<u64> = line
                .split_whitespace()
                .skip(1)
                .filter_map(|v| v.parse().ok())
                .collect();
            if f.len() >= 8 {
                snapshot.machine_busy = f[0] + f[1] + f[2] + f[5] + f[6];
                snapshot.machine_steal = f[7];
                snapshot.machine_total = f[..8].iter().sum();
            }
        }
        snapshot
    }
}

/// CPU used between two snapshots.
#[derive(Clone, Debug, Default)]
pub struct Usage {
    /// Milliseconds of CPU of the servers, of each entry of [`GROUPS`] (in its order) and of
    /// the whole machine.
    pub servers_ms: f64,
    pub groups_ms: [f64; GROUPS.len()],
    pub machine_ms: f64,
    /// Share of the machine's time stolen by the hypervisor.
    pub steal: f64,
    /// Context switches of the whole machine.
    pub switches: u64,
}

impl Usage {
    pub fn between(before: &Snapshot, after: &Snapshot) -> Self {
        let ms = |ticks: u64| ticks as f64 * 1000.0 / TICKS_PER_SECOND;
        let total = after.machine_total.saturating_sub(before.machine_total);
        Usage {
            servers_ms: ms(after.servers.saturating_sub(before.servers)),
            groups_ms: std::array::from_fn(
                |i| ms(after.groups[i].saturating_sub(before.groups[i])),
            ),
            machine_ms: ms(after.machine_busy.saturating_sub(before.machine_busy)),
            switches: after
                .machine_switches
                .saturating_sub(before.machine_switches),
            steal: if total == 0 {
                0.0
            } else {
                after.machine_steal.saturating_sub(before.machine_steal) as f64 / total as f64
            },
        }
    }

    /// "servers / PostgreSQL / RabbitMQ / machine" in microseconds of CPU per hook.
    pub fn per_hook(&self, hooks: u64) -> String {
        let per = |ms: f64| format!("{:.0}", ms * 1000.0 / hooks.max(1) as f64);
        let mut parts = vec![per(self.servers_ms)];
        parts.extend(self.groups_ms.iter().map(|ms| per(*ms)));
        parts.push(per(self.machine_ms));
        parts.join(" / ")
    }

    /// The machine's context switches per hook, one decimal.
    pub fn switches_per_hook(&self, hooks: u64) -> String {
        format!("{:.1}", self.switches as f64 / hooks.max(1) as f64)
    }
}

/// The label of [`Usage::per_hook`]'s columns.
pub fn per_hook_label() -> String {
    let mut names = vec!["ado-ingest"];
    names.extend(GROUPS.iter().map(|(_, label)| *label));
    names.push("machine");
    names.join(" / ")
}

/// The command name and utime + stime (all threads) of a process.
fn process_stat(pid: u32) -> Option<(String, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name is in parentheses and may hold spaces: split after the last ')'.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    // Fields after the name start at field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}
