//! A progress bar on stderr over the bytes of the input files, shown only on a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reckon_import::Progress;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Tracks reading across several files as one bar.
pub struct ByteProgress {
    bar: ProgressBar,
    /// Bytes of the files already finished.
    finished_bytes: u64,
    current_bytes: u64,
}

impl ByteProgress {
    /// A bar over the sizes of `paths`; hidden when stderr is not a terminal or `hidden`.
    pub fn new(paths: &[&PathBuf], hidden: bool) -> ByteProgress {
        let total: u64 = paths
            .iter()
            .filter_map(|path| std::fs::metadata(path).ok())
            .map(|metadata| metadata.len())
            .sum();
        let bar = if hidden || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg:>10} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar
        };
        ByteProgress {
            bar,
            finished_bytes: 0,
            current_bytes: 0,
        }
    }

    /// Names the phase shown beside the bar.
    pub fn set_phase(&self, phase: &'static str) {
        self.bar.set_message(phase);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for ByteProgress {
    fn advance_to(&mut self, bytes_read: u64) {
        self.current_bytes = bytes_read;
        self.bar.set_position(self.finished_bytes + bytes_read);
    }

    fn file_finished(&mut self) {
        self.finished_bytes += self.current_bytes;
        self.current_bytes = 0;
    }
}
