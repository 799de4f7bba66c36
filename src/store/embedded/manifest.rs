//! What a data directory says about itself, beside the store's file: a manifest naming the store
//! that lives there (so an emptied or deleted file is noticed instead of starting empty), and a
//! lock file naming the process that has it open (so a second one is told who).

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{DB_FILE, backend};
use crate::store::StoreError;

/// The manifest's file name inside the data directory.
pub const MANIFEST_FILE: &str = "fnf-store.json";
/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "fnf.lock";
/// The manifest's format; a later format is refused rather than misread.
const FORMAT: u32 = 1;

/// The manifest: which store lives in this directory. Its id is also inside the store's file
/// (the `meta` table), so a file replaced by another store's is told apart too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub store_id: String,
    /// When the store was first created (RFC 3339), for the messages.
    pub created: String,
    /// The store's file name, relative to the directory.
    pub file: String,
}

impl Manifest {
    /// The manifest of the store `store_id`, created at `created_ms`.
    pub fn new(store_id: String, created_ms: i64) -> Manifest {
        Manifest {
            format: FORMAT,
            store_id,
            created: crate::time::format_rfc3339(created_ms),
            file: DB_FILE.to_owned(),
        }
    }
}

fn io_error(path: &Path, err: std::io::Error) -> StoreError {
    backend(format!("{}: {err}", path.display()))
}

/// Reads the manifest of `dir`, if it has one; a manifest that cannot be read is refused.
pub fn read(dir: &Path) -> Result<Option<Manifest>, StoreError> {
    let path = dir.join(MANIFEST_FILE);
    let bad = |detail: String| StoreError::BadManifest {
        path: path.display().to_string(),
        detail,
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(&path, e)),
    };
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    if manifest.format != FORMAT || manifest.file != DB_FILE || manifest.store_id.is_empty() {
        return Err(bad(format!(
            "format {} for file {:?}, this build reads format {FORMAT} for {DB_FILE:?}",
            manifest.format, manifest.file
        )));
    }
    Ok(Some(manifest))
}

/// Writes `manifest` into `dir` whole or not at all: a temporary file, synced, then renamed.
pub fn write(dir: &Path, manifest: &Manifest) -> Result<(), StoreError> {
    let tmp = dir.join(format!("{MANIFEST_FILE}.tmp"));
    let text = serde_json::to_vec_pretty(manifest).map_err(backend)?;
    write_synced(&tmp, &text)?;
    rename_synced(&tmp, &dir.join(MANIFEST_FILE))
}

/// Writes `bytes` to `path` and syncs them to disk.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut file = File::create(path).map_err(|e| io_error(path, e))?;
    file.write_all(bytes).map_err(|e| io_error(path, e))?;
    file.sync_all().map_err(|e| io_error(path, e))
}

/// Renames `from` to `to` (same directory) and syncs the directory, so the rename survives a
/// power loss.
pub fn rename_synced(from: &Path, to: &Path) -> Result<(), StoreError> {
    std::fs::rename(from, to).map_err(|e| io_error(to, e))?;
    let dir = to.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    // Directories cannot be opened for syncing everywhere; where they can, a failure counts.
    match File::open(dir) {
        Ok(d) => d.sync_all().or_else(|e| match e.kind() {
            ErrorKind::InvalidInput | ErrorKind::PermissionDenied => Ok(()),
            _ => Err(io_error(dir, e)),
        }),
        Err(_) => Ok(()),
    }
}

/// The exclusive lock on a data directory, held as long as this value lives. The lock file
/// holds the owner's pid, for the message a second process gets.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    pub dir: PathBuf,
}

impl DirLock {
    /// Takes the lock on `dir` (which must exist), or says which process holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock, StoreError> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_error(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                // The holder may not have written its pid yet: then the message goes without.
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                let holder = if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
                    String::new()
                } else {
                    format!(" (pid {pid})")
                };
                return Err(StoreError::InUse {
                    dir: dir.display().to_string(),
                    holder,
                });
            }
            // A file system without locks: redb's own lock on the store's file still refuses a
            // second process, only without naming it.
            Err(std::fs::TryLockError::Error(e)) if e.kind() == ErrorKind::Unsupported => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(io_error(&path, e)),
        }
        file.set_len(0).map_err(|e| io_error(&path, e))?;
        file.rewind().map_err(|e| io_error(&path, e))?;
        write!(file, "{}", std::process::id()).map_err(|e| io_error(&path, e))?;
        Ok(DirLock {
            _file: file,
            dir: dir.to_owned(),
        })
    }
}
