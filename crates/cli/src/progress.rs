//! Progress bars for long operations (indicatif), silent when stderr is not a terminal.

use indicatif::{ProgressBar, ProgressStyle};

/// A byte-progress bar of `total` bytes labelled `label`.
pub fn bytes_bar(label: &str, total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:<28} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(label.to_owned());
    bar
}
