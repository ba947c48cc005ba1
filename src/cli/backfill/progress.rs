//! Shows a backfill job's progress: one indicatif bar per stream on a terminal, plain periodic lines
//! otherwise (logs, CI, pipes).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::Stream;
use crate::jobs::{JobState, JobView};
use crate::reconcile::StreamProgress;

/// How often the plain display prints a line while nothing but counters changed.
const LINE_INTERVAL: Duration = Duration::from_secs(5);

pub struct ProgressDisplay {
    mode: Mode,
    started: Instant,
    last_state: Option<JobState>,
}

enum Mode {
    Bars {
        multi: MultiProgress,
        bars: BTreeMap<Stream, ProgressBar>,
    },
    Lines {
        last_line: Option<Instant>,
    },
}

/// `pages 3 · objects 600 · published 12 · duplicates 588 · errors 0`
pub fn counters(p: &StreamProgress) -> String {
    format!(
        "pages {} · objects {} · published {} · duplicates {} · errors {}",
        p.pages, p.objects_seen, p.events_published, p.duplicates_skipped, p.errors
    )
}

impl ProgressDisplay {
    /// Bars when stderr is a terminal, lines otherwise.
    pub fn for_stderr() -> Self {
        Self::new(std::io::stderr().is_terminal())
    }

    pub fn new(bars: bool) -> Self {
        let mode = if bars {
            Mode::Bars {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: BTreeMap::new(),
            }
        } else {
            Mode::Lines { last_line: None }
        };
        Self {
            mode,
            started: Instant::now(),
            last_state: None,
        }
    }

    /// Shows the job as it is now.
    pub fn update(&mut self, job: &JobView) {
        let state_changed = self.last_state != Some(job.job.state);
        self.last_state = Some(job.job.state);
        let elapsed = self.started.elapsed().as_secs();
        match &mut self.mode {
            Mode::Bars { multi, bars } => {
                for (stream, p) in &job.job.progress {
                    let bar = bars.entry(*stream).or_insert_with(|| {
                        let bar = multi.add(ProgressBar::new_spinner());
                        bar.set_style(
                            ProgressStyle::with_template("{spinner:.cyan} {prefix:<13} {msg}")
                                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                        );
                        bar.set_prefix(stream.as_str());
                        bar.enable_steady_tick(Duration::from_millis(120));
                        bar
                    });
                    if bar.is_finished() {
                        continue;
                    }
                    let line = counters(p);
                    if p.done {
                        bar.finish_with_message(format!("done · {line}"));
                    } else if job.job.state.is_final() {
                        let why = p.last_error.as_deref().unwrap_or(job.job.state.as_str());
                        bar.abandon_with_message(format!("{line} · {why}"));
                    } else {
                        bar.set_message(line);
                    }
                }
            }
            Mode::Lines { last_line } => {
                let due = last_line.is_none_or(|t| t.elapsed() >= LINE_INTERVAL);
                if state_changed || due || job.job.state.is_final() {
                    *last_line = Some(Instant::now());
                    let streams: Vec<String> = job
                        .job
                        .progress
                        .iter()
                        .map(|(s, p)| {
                            let done = if p.done { " (done)" } else { "" };
                            format!("{s}: {}{done}", counters(p))
                        })
                        .collect();
                    eprintln!(
                        "[{elapsed:>4}s] backfill {} {} — {}",
                        job.job.id,
                        job.job.state,
                        streams.join("; ")
                    );
                }
            }
        }
    }

    /// Shows the final state and a one-line summary.
    pub fn finish(&mut self, job: &JobView) {
        self.update(job);
        if let Mode::Bars { bars, .. } = &self.mode {
            for bar in bars.values().filter(|b| !b.is_finished()) {
                bar.abandon();
            }
        }
        let error = job
            .job
            .error
            .as_deref()
            .map(|e| format!(" — {e}"))
            .unwrap_or_default();
        eprintln!(
            "backfill {} {} in {}s: {}{error}",
            job.job.id,
            job.job.state,
            self.started.elapsed().as_secs(),
            counters(&job.totals)
        );
    }

    /// A message that does not break the bars.
    pub fn note(&self, text: &str) {
        match &self.mode {
            Mode::Bars { multi, .. } => {
                let _ = multi.println(text);
            }
            Mode::Lines { .. } => eprintln!("{text}"),
        }
    }
}
