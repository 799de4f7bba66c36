//! Opening the store's file only once it has been verified. redb trusts a file it shut down
//! cleanly, and a page changed since (a flipped byte, a failing disk) can panic on first read,
//! which the release profile's `panic = "abort"` turns into the end of the process.

use std::path::Path;

use redb::{Database, DatabaseError, StorageError};

use super::backend;
use crate::store::StoreError;

/// Opens (or creates) the file after redb has checked every page's checksum and rebuilt its
/// allocator state (reading the whole file: about 0.13 s per 35 MB). A file that fails is
/// refused with [`StoreError::CorruptFile`]; nothing is read from it. redb keeps up to
/// `cache_bytes` of pages in memory.
pub(super) fn open_checked(path: &Path, cache_bytes: usize) -> Result<Database, StoreError> {
    Database::builder()
        .set_check_integrity_on_open(true)
        .set_cache_size(cache_bytes)
        .create(path)
        .map_err(|e| open_error(path, e))
}

/// A corrupted file (failed checksums, or not a redb file at all) gets its own error, which
/// names the file and what to do; anything else (locked, unreadable) stays a backend error.
fn open_error(path: &Path, err: DatabaseError) -> StoreError {
    let path_text = path.display().to_string();
    let detail = match &err {
        DatabaseError::Storage(StorageError::Corrupted(detail)) => detail.clone(),
        DatabaseError::Storage(StorageError::Io(io))
            if io.kind() == std::io::ErrorKind::InvalidData =>
        {
            io.to_string()
        }
        _ => return backend(format!("{path_text}: {err}")),
    };
    StoreError::CorruptFile {
        path: path_text,
        detail,
    }
}
