//! Progress on a terminal, silence when piped.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use populace::iteration::Observer;

/// A spinner that shows the iteration and the margin deviation, drawn only when stderr is a
/// terminal and the user did not ask for quiet.
pub struct Spinner(Option<ProgressBar>);

impl Spinner {
    /// Starts a spinner with a message, unless `quiet` or stderr is not a terminal.
    pub fn new(message: &str, quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Spinner(None);
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("valid template"));
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Spinner(Some(bar))
    }

    /// Replaces the message (e.g. the current step).
    pub fn message(&self, message: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(message.to_string());
        }
    }

    /// Clears the spinner.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Spinner {
    fn observe(&mut self, iteration: usize, deviation: f64) {
        if let Some(bar) = &self.0 {
            bar.set_message(format!("fitting: sweep {iteration}, max margin deviation {deviation:.3e}"));
        }
    }
}
