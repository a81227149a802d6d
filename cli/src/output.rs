//! Lines to standard output. `println!` panics once the reader has gone (`lightcap caption
//! photos/*.jpg | head -1`); a command-line tool stops quietly then, as Unix tools do.

use std::io::{ErrorKind, Write};

/// `println!`, ending the process quietly (exit status 0) if standard output was closed.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}
pub(crate) use say;

pub(crate) fn line(args: std::fmt::Arguments) {
    if let Err(e) = writeln!(std::io::stdout().lock(), "{args}") {
        if e.kind() == ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to standard output: {e}");
        std::process::exit(1);
    }
}
