//! `fnf-lambda backup` and `fnf-lambda restore`: the embedded store's file, copied out and back
//! with its checksums verified (src/store/embedded/backup.rs does the work).

use std::path::{Path, PathBuf};

use super::cli::Report;
use crate::store::embedded::DB_FILE;
use crate::store::embedded::backup::{self, Summary};

/// Exit codes: 0 done, 1 refused or failed (nothing changed), 2 the arguments are wrong.
const REFUSED: u8 = 1;
const USAGE: u8 = 2;

struct Args {
    dir: PathBuf,
    file: PathBuf,
    force: bool,
}

/// Reads `--data-dir DIR`, `file_flag FILE` and `--force`; anything else is refused.
fn parse(cmd: &str, file_flag: &str, args: &[String]) -> Result<Args, Report> {
    let usage = |msg: String| Report {
        code: USAGE,
        stdout: String::new(),
        stderr: format!("fnf-lambda {cmd}: {msg}\n"),
    };
    let (mut dir, mut file, mut force) = (super::data_dir_from_env(), None, false);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .ok_or_else(|| usage(format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--data-dir" => dir = value()?,
            "--force" => force = true,
            flag if flag == file_flag => file = Some(value()?),
            other => return Err(usage(format!("unexpected argument {other}"))),
        }
    }
    let file = file.ok_or_else(|| usage(format!("{file_flag} FILE is required")))?;
    Ok(Args { dir, file, force })
}

fn done(verb: &str, summary: &Summary, from: &Path, to: &Path) -> Report {
    Report {
        code: 0,
        stdout: format!(
            "{verb} store {} from {} to {} ({} bytes; {})\n",
            summary.store_id,
            from.display(),
            to.display(),
            summary.bytes,
            summary.counts()
        ),
        stderr: String::new(),
    }
}

fn refused(cmd: &str, err: backup::BackupError) -> Report {
    Report {
        code: REFUSED,
        stdout: String::new(),
        stderr: format!("fnf-lambda {cmd}: {err}\n"),
    }
}

/// `backup [--data-dir DIR] --to FILE [--force]`
pub fn backup(args: &[String]) -> Report {
    let args = match parse("backup", "--to", args) {
        Ok(a) => a,
        Err(report) => return report,
    };
    match backup::backup(&args.dir, &args.file, args.force) {
        Ok(s) => done("backed up", &s, &args.dir.join(DB_FILE), &args.file),
        Err(e) => refused("backup", e),
    }
}

/// `restore --from FILE [--data-dir DIR] [--force]`
pub fn restore(args: &[String]) -> Report {
    let args = match parse("restore", "--from", args) {
        Ok(a) => a,
        Err(report) => return report,
    };
    match backup::restore(&args.file, &args.dir, args.force) {
        Ok(s) => done("restored", &s, &args.file, &args.dir.join(DB_FILE)),
        Err(e) => refused("restore", e),
    }
}
