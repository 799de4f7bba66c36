//! Backing up and restoring the embedded store: a copy of its file, made and checked while the
//! directory's lock is held (so no `serve` writes meanwhile; redb lets one process have the
//! file, so a running `serve` must be stopped first), and put in place by a rename, so a
//! reader finds the old file or the new one, never half of either.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTableMetadata, TableHandle};

use super::manifest::{self, DirLock, Manifest};
use super::{DB_FILE, backend, integrity};
use crate::store::StoreError;

/// What a backup or a restore copied: which store, how large, how many records per table.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub store_id: String,
    pub bytes: u64,
    /// Table name and record count, by name.
    pub tables: Vec<(String, u64)>,
}

impl Summary {
    /// "3 flows, 12 executions, ..." for the tables that hold records.
    pub fn counts(&self) -> String {
        let held: Vec<String> = self
            .tables
            .iter()
            .filter(|(name, n)| *n > 0 && name != "meta")
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        if held.is_empty() {
            "no records".to_owned()
        } else {
            held.join(", ")
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{dir} holds no store (no {DB_FILE} and no manifest): nothing to back up")]
    NoStore { dir: String },
    #[error("{path} exists: pass --force to replace it")]
    Exists { path: String },
    #[error(
        "{dir} already holds a store ({path}, {bytes} bytes): pass --force to replace it (it is \
         not kept: back it up first if it may still be needed)"
    )]
    NotEmpty {
        dir: String,
        path: String,
        bytes: u64,
    },
    #[error("the backup {path} cannot be restored ({detail}); nothing in {dir} was changed")]
    BadBackup {
        path: String,
        dir: String,
        detail: String,
    },
    #[error("the copy {path} does not read back as its source ({detail}); no backup was written")]
    CopyMismatch { path: String, detail: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Copies the store in `dir` to the file `to` (replacing it only with `force`): the store is
/// opened as `serve` opens it (every page's checksum verified, the file checked against the
/// manifest), copied beside `to`, the copy opened and verified the same way and compared
/// record counts and store id with the source, then renamed to `to`.
pub fn backup(dir: &Path, to: &Path, force: bool) -> Result<Summary, BackupError> {
    let file = dir.join(DB_FILE);
    if !file.exists() && manifest::read(dir)?.is_none() {
        return Err(BackupError::NoStore {
            dir: dir.display().to_string(),
        });
    }
    if to.exists() && !force {
        return Err(BackupError::Exists {
            path: to.display().to_string(),
        });
    }
    let lock = DirLock::acquire(dir)?;
    let db = integrity::open_store(&lock, super::DEFAULT_CACHE_BYTES)?;
    let source = summarize(&db, &file)?;
    // Closed before copying: a closed file is whole, and the lock keeps other processes out.
    drop(db);
    let partial = beside(to, "partial");
    removed_on_error(&partial, copy_and_check(&file, &partial, &source))?;
    manifest::rename_synced(&partial, to)?;
    Ok(source)
}

/// Copies `from` to `partial`, synced, and checks that the copy opens and holds `source`.
fn copy_and_check(from: &Path, partial: &Path, source: &Summary) -> Result<(), BackupError> {
    copy_synced(from, partial)?;
    let mismatch = |detail: String| BackupError::CopyMismatch {
        path: partial.display().to_string(),
        detail,
    };
    let db = integrity::open_checked(partial, false, super::DEFAULT_CACHE_BYTES)
        .map_err(|e| mismatch(e.to_string()))?;
    let copy = summarize(&db, partial).map_err(|e| mismatch(e.to_string()))?;
    if copy.store_id != source.store_id || copy.tables != source.tables {
        return Err(mismatch(format!(
            "store {} with {}, the source store {} with {}",
            copy.store_id,
            copy.counts(),
            source.store_id,
            source.counts()
        )));
    }
    Ok(())
}

/// Restores the backup `from` into `dir`: refused when `dir` holds a non-empty store file
/// unless `force`; the backup is copied into `dir`, opened and verified (a corrupted or foreign
/// file is refused, and `dir` left as it was), renamed over the store file, and the manifest
/// written for the restored store.
pub fn restore(from: &Path, dir: &Path, force: bool) -> Result<Summary, BackupError> {
    std::fs::metadata(from).map_err(io(from))?;
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let lock = DirLock::acquire(dir)?;
    let file = dir.join(DB_FILE);
    let bytes = std::fs::metadata(&file).map_or(0, |m| m.len());
    if bytes > 0 && !force {
        return Err(BackupError::NotEmpty {
            dir: dir.display().to_string(),
            path: file.display().to_string(),
            bytes,
        });
    }
    let partial = beside(&file, "restoring");
    let (summary, created_ms) =
        removed_on_error(&partial, copy_and_verify_backup(from, &partial, dir))?;
    manifest::rename_synced(&partial, &file)?;
    // A crash before this line leaves the old manifest: the next open refuses loudly (another
    // store id), and restoring again finishes the work.
    manifest::write(dir, &Manifest::new(summary.store_id.clone(), created_ms))?;
    drop(lock);
    Ok(summary)
}

/// Copies the backup to `partial` and verifies it; answers its summary and creation time.
fn copy_and_verify_backup(
    from: &Path,
    partial: &Path,
    dir: &Path,
) -> Result<(Summary, i64), BackupError> {
    copy_synced(from, partial)?;
    let bad = |detail: String| BackupError::BadBackup {
        path: from.display().to_string(),
        dir: dir.display().to_string(),
        detail,
    };
    let db = integrity::open_checked(partial, false, super::DEFAULT_CACHE_BYTES)
        .map_err(|e| bad(open_detail(e)))?;
    let identity = integrity::read_identity(&db).map_err(|e| bad(e.to_string()))?;
    let (_, created_ms) = match identity {
        Some(identity) => identity,
        // A copy of a store file from before store ids: accepted if it is an fnf store.
        None if has_table(&db, "executions")? => integrity::write_identity(&db)?,
        None => return Err(bad("not an fnf-lambda store: it has no store id".into())),
    };
    let summary = summarize(&db, partial)?;
    Ok((summary, created_ms))
}

/// The reason a backup did not open, without the remedy meant for a live store.
fn open_detail(err: StoreError) -> String {
    match err {
        StoreError::CorruptFile { detail, .. } => format!("it is corrupted: {detail}"),
        other => other.to_string(),
    }
}

fn has_table(db: &Database, name: &str) -> Result<bool, StoreError> {
    let txn = db.begin_read().map_err(backend)?;
    let mut tables = txn.list_tables().map_err(backend)?;
    Ok(tables.any(|t| t.name() == name))
}

/// The store id and record counts of an open store whose file is `path`.
fn summarize(db: &Database, path: &Path) -> Result<Summary, StoreError> {
    let (store_id, _) = integrity::read_identity(db)?
        .ok_or_else(|| StoreError::Corrupt(format!("{}: no store id", path.display())))?;
    let txn = db.begin_read().map_err(backend)?;
    let mut tables = Vec::new();
    for handle in txn.list_tables().map_err(backend)? {
        let table = txn.open_untyped_table(handle).map_err(backend)?;
        tables.push((table.name().to_owned(), table.len().map_err(backend)?));
    }
    tables.sort();
    let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
    Ok(Summary {
        store_id,
        bytes,
        tables,
    })
}

/// `result` of filling the temporary file `partial`; when it failed, the file is removed.
fn removed_on_error<T>(partial: &Path, result: Result<T, BackupError>) -> Result<T, BackupError> {
    if result.is_err() {
        let _ = std::fs::remove_file(partial);
    }
    result
}

/// A temporary name in the same directory as `path` (a rename does not cross file systems).
fn beside(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "backup".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.{what}"))
}

fn copy_synced(from: &Path, to: &Path) -> Result<(), BackupError> {
    std::fs::copy(from, to).map_err(io(from))?;
    std::fs::File::open(to)
        .and_then(|f| f.sync_all())
        .map_err(io(to))
}
