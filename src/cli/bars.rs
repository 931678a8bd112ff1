//! The CLI's view of the library's progress events: a bar per stage with its ETA
//! where the stage has a known total, a spinner where it has not, and warnings and
//! notes as log lines (printed above the bars so they are not torn).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use spacescribe::{Event, Progress, Stage};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

pub struct Bars {
    multi: MultiProgress,
    open: Mutex<HashMap<Stage, ProgressBar>>,
}

impl Bars {
    /// Bars drawn on stderr when `draw`, else only the log lines.
    pub fn new(draw: bool) -> Self {
        let target = if draw {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Bars {
            multi: MultiProgress::with_draw_target(target),
            open: Mutex::new(HashMap::new()),
        }
    }

    fn start(&self, stage: Stage, total: Option<u64>) {
        let bar = match total {
            Some(total) => {
                let bar = ProgressBar::new(total);
                let template = format!(
                    "{{msg:>14}} [{{bar:40}}] {{pos}}/{{len}} {}, eta {{eta}}",
                    stage.unit()
                );
                bar.set_style(
                    ProgressStyle::with_template(&template)
                        .expect("valid template")
                        .progress_chars("=> "),
                );
                bar
            }
            None => {
                let spinner = ProgressBar::new_spinner();
                spinner.enable_steady_tick(Duration::from_millis(120));
                spinner
            }
        };
        let bar = self.multi.add(bar.with_message(stage.label()));
        self.lock().insert(stage, bar);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Stage, ProgressBar>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Progress for Bars {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::Started { stage, total, .. } => self.start(stage, total),
            Event::Advanced { stage, done, .. } => {
                if let Some(bar) = self.lock().get(&stage) {
                    bar.set_position(done);
                }
            }
            Event::Finished { stage, .. } => {
                if let Some(bar) = self.lock().remove(&stage) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
            }
            Event::Warning { input, message } => self
                .multi
                .suspend(|| tracing::warn!("{}: {message}", input.display())),
            Event::Info { input, message } => self
                .multi
                .suspend(|| tracing::info!("{}: {message}", input.display())),
            _ => {}
        }
    }
}
