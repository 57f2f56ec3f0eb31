//! What learnsim tells the user on stderr while it works, at the verbosity the command line
//! chose (`-q`, none, `-v`): progress bars, step lines where no terminal shows a bar, notes
//! (reused data, resumed training) and, with `-v`, the resolved config. Warnings and errors
//! are shown at every level; results go to stdout.

use indicatif::ProgressBar;
use std::fmt::Arguments;
use std::sync::atomic::{AtomicU8, Ordering};

/// How much learnsim says while it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: no bars, no step lines, no notes.
    Quiet,
    /// Bars on a terminal (step lines without one) and notes.
    Normal,
    /// `-v`: also step lines beside the bars, and the resolved config of a run.
    Verbose,
}

static LEVEL: AtomicU8 = AtomicU8::new(1);

/// Sets the verbosity for the rest of the process.
pub fn set(verbosity: Verbosity) {
    LEVEL.store(verbosity as u8, Ordering::Relaxed);
}

/// The verbosity in force.
pub fn level() -> Verbosity {
    match LEVEL.load(Ordering::Relaxed) {
        0 => Verbosity::Quiet,
        1 => Verbosity::Normal,
        _ => Verbosity::Verbose,
    }
}

/// A progress bar of `len` steps (hidden under `-q`).
pub fn bar(len: u64) -> ProgressBar {
    if level() == Verbosity::Quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(len)
    }
}

/// A spinner (hidden under `-q`).
pub fn spinner() -> ProgressBar {
    if level() == Verbosity::Quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    }
}

/// Whether a loop behind `bar` should also print its step lines: where no terminal shows the
/// bar (a log file, CI), or always under `-v`; never under `-q`.
pub fn step_lines(bar: &ProgressBar) -> bool {
    match level() {
        Verbosity::Quiet => false,
        Verbosity::Normal => bar.is_hidden(),
        Verbosity::Verbose => true,
    }
}

/// Prints a step line of the loop behind `bar` above the bar (or plainly without one).
#[expect(clippy::print_stderr, reason = "the user's progress lines")]
pub fn step_line(bar: &ProgressBar, line: &str) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// Prints a note (reused data, a resumed run) unless `-q`.
#[expect(clippy::print_stderr, reason = "the user's notes")]
pub fn note(args: Arguments) {
    if level() >= Verbosity::Normal {
        eprintln!("{args}");
    }
}

/// Prints a detail only under `-v`.
#[expect(clippy::print_stderr, reason = "the user's details")]
pub fn detail(args: Arguments) {
    if level() == Verbosity::Verbose {
        eprintln!("{args}");
    }
}

/// Prints a warning, at every verbosity.
#[expect(clippy::print_stderr, reason = "a warning the user must see")]
pub fn warning(args: Arguments) {
    eprintln!("warning: {args}");
}
