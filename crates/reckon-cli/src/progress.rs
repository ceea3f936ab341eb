//! A progress bar on stderr over the bytes of the input files, shown only on a terminal. Files
//! read on several threads advance the one bar, each through its own [`ReadProgress`].

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reckon_import::Progress;
use std::io::IsTerminal;
use std::path::PathBuf;

/// The bar of a run.
pub struct ByteProgress {
    bar: ProgressBar,
}

/// One reader's view of the bar: turns "bytes read of this file" into increments.
pub struct ReadProgress {
    bar: ProgressBar,
    current_bytes: u64,
}

impl ByteProgress {
    /// A bar over the sizes of `paths`; hidden when stderr is not a terminal or `hidden`.
    pub fn new(paths: &[&PathBuf], hidden: bool) -> ByteProgress {
        let total: u64 =
            paths.iter().filter_map(|path| std::fs::metadata(path).ok()).map(|metadata| metadata.len()).sum();
        let bar = if hidden || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{msg:>10} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar
        };
        ByteProgress { bar }
    }

    /// A hidden bar.
    pub fn hidden() -> ByteProgress {
        ByteProgress { bar: ProgressBar::hidden() }
    }

    /// A handle for one reader (one thread).
    pub fn reader(&self) -> ReadProgress {
        ReadProgress { bar: self.bar.clone(), current_bytes: 0 }
    }

    /// Names the phase shown beside the bar.
    pub fn set_phase(&self, phase: &'static str) {
        self.bar.set_message(phase);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for ReadProgress {
    fn advance_to(&mut self, bytes_read: u64) {
        self.bar.inc(bytes_read.saturating_sub(self.current_bytes));
        self.current_bytes = bytes_read;
    }

    fn file_finished(&mut self) {
        self.current_bytes = 0;
    }
}
