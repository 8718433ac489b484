//! A stopped run cleans up: on SIGINT, SIGTERM or SIGHUP the command removes its temporary
//! files, kills its simulators ([`populace::cleanup::stop`]) and exits with 128 + the
//! signal's number (130, 143, 129), as shells report a process a signal ended.

/// Starts the thread that waits for a stop signal. Outside Unix, the default handling stays.
pub fn install() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let stopped = populace::cleanup::stop();
                let name = match signal {
                    SIGINT => "SIGINT",
                    SIGTERM => "SIGTERM",
                    _ => "SIGHUP",
                };
                eprintln!(
                    "\npopulace: stopped by {name}: removed {} temporary files or folders, ended {} simulator \
                     process group(s); no output of this run was put in place after the stop",
                    stopped.files, stopped.processes
                );
                std::process::exit(128 + signal);
            }
        });
    }
}
