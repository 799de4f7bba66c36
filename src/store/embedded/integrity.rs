//! Opening the store's file only once it has been verified. redb trusts a file it shut down
//! cleanly, and a page changed since (a flipped byte, a failing disk) can panic on first read,
//! which the release profile's `panic = "abort"` turns into the end of the process. And redb
//! starts an empty store on an empty file: the manifest beside it says whether one was there.

use std::path::Path;

use redb::{Database, DatabaseError, ReadableDatabase, StorageError, TableDefinition, TableError};

use super::backend;
use super::manifest::{self, DirLock, MANIFEST_FILE, Manifest};
use crate::store::StoreError;

/// "store_id" and "created_ms": which store this file is, as its manifest says too.
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");

/// Opens the store of the directory `lock` holds: a file the manifest names must be there and
/// not empty, pass redb's check, and carry the manifest's store id. A directory without a
/// manifest (new, or written before manifests) gets one, and its file an id if it has none.
pub(super) fn open_store(lock: &DirLock, cache_bytes: usize) -> Result<Database, StoreError> {
    let dir = &lock.dir;
    let path = dir.join(super::DB_FILE);
    let manifest = manifest::read(dir)?;
    if let Some(m) = &manifest {
        let size = match std::fs::metadata(&path) {
            Ok(meta) => Some(meta.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(backend(format!("{}: {e}", path.display()))),
        };
        let state = match size {
            None => "is missing",
            Some(0) => "is empty",
            Some(_) => "",
        };
        if !state.is_empty() {
            return Err(lost(&path, format!("{state}, but {}", says(dir, m))));
        }
    }
    // With a manifest the file must exist: redb is never asked to create it afresh.
    let db = open_checked(&path, manifest.is_none(), cache_bytes)?;
    let found = read_identity(&db)?;
    match (manifest, found) {
        (Some(m), Some((id, _))) if id == m.store_id => Ok(db),
        (Some(m), found) => {
            let holds = found.map_or("holds no store id".to_owned(), |(id, _)| {
                format!("holds store {id}")
            });
            Err(lost(&path, format!("{holds}, but {}", says(dir, &m))))
        }
        (None, found) => {
            let (id, created_ms) = match found {
                Some(identity) => identity,
                None => write_identity(&db)?,
            };
            manifest::write(dir, &Manifest::new(id, created_ms))?;
            Ok(db)
        }
    }
}

fn says(dir: &Path, m: &Manifest) -> String {
    format!(
        "{} says store {} (created {}) lives there",
        dir.join(MANIFEST_FILE).display(),
        m.store_id,
        m.created
    )
}

fn lost(path: &Path, detail: String) -> StoreError {
    StoreError::LostFile {
        path: path.display().to_string(),
        detail,
    }
}

/// The store id and creation time recorded inside the file, if it has them.
pub(super) fn read_identity(db: &Database) -> Result<Option<(String, i64)>, StoreError> {
    let txn = db.begin_read().map_err(backend)?;
    let table = match txn.open_table(META) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(backend(e)),
    };
    let id = table.get("store_id").map_err(backend)?;
    let created = table.get("created_ms").map_err(backend)?;
    Ok(id.map(|id| {
        let created = created.and_then(|c| c.value().parse().ok()).unwrap_or(0);
        (id.value().to_owned(), created)
    }))
}

/// Gives the file a new store id, created now.
pub(super) fn write_identity(db: &Database) -> Result<(String, i64), StoreError> {
    let id = uuid::Uuid::new_v4().to_string();
    let created_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let txn = begin_write(db)?;
    {
        let mut t = txn.open_table(META).map_err(backend)?;
        t.insert("store_id", id.as_str()).map_err(backend)?;
        t.insert("created_ms", created_ms.to_string().as_str())
            .map_err(backend)?;
    }
    txn.commit().map_err(backend)?;
    Ok((id, created_ms))
}

/// Opens (`create`: or creates) the file after redb has checked every page's checksum and
/// rebuilt its allocator state (reading the whole file: about 0.13 s per 35 MB). A file that
/// fails is refused with [`StoreError::CorruptFile`]; nothing is read from it. redb keeps up
/// to `cache_bytes` of pages in memory.
pub(super) fn open_checked(
    path: &Path,
    create: bool,
    cache_bytes: usize,
) -> Result<Database, StoreError> {
    let mut builder = Database::builder();
    builder
        .set_check_integrity_on_open(true)
        .set_cache_size(cache_bytes);
    let opened = if create {
        builder.create(path)
    } else {
        builder.open(path)
    };
    opened.map_err(|e| open_error(path, e))
}

/// A corrupted file (failed checksums, or not a redb file at all) gets its own error, which
/// names the file and what to do; a file another process holds says so; anything else
/// (unreadable) stays a backend error.
fn open_error(path: &Path, err: DatabaseError) -> StoreError {
    let path_text = path.display().to_string();
    let detail = match &err {
        DatabaseError::Storage(StorageError::Corrupted(detail)) => detail.clone(),
        DatabaseError::Storage(StorageError::Io(io))
            if io.kind() == std::io::ErrorKind::InvalidData =>
        {
            io.to_string()
        }
        // An fnf-lambda from before the lock file, or another program: no pid to name.
        DatabaseError::DatabaseAlreadyOpen => {
            return StoreError::InUse {
                dir: path_text,
                holder: String::new(),
            };
        }
        _ => return backend(format!("{path_text}: {err}")),
    };
    StoreError::CorruptFile {
        path: path_text,
        detail,
    }
}

/// Begins a write transaction that commits in two phases: its pages are synced before the
/// commit slot naming them is written. With one phase, an open that finds the newest commit's
/// pages damaged falls back to the commit before it, silently dropping the newest write (seen:
/// a digit changed after an unclean stop brought a Succeeded execution back as Running); with
/// two, such a file is refused as corrupted. Costs one more sync per write transaction.
pub(super) fn begin_write(db: &Database) -> Result<redb::WriteTransaction, StoreError> {
    let mut txn = db.begin_write().map_err(backend)?;
    txn.set_two_phase_commit(true);
    Ok(txn)
}

/// What to do about a store file that is not what was written, for the errors that say so.
pub fn remedy(path: &str) -> String {
    let dir = Path::new(path).parent().unwrap_or(Path::new("."));
    let dir = dir.display();
    format!(
        "Restore it from a backup (fnf-lambda restore --from BACKUP --data-dir {dir} --force), \
         or move the directory {dir} aside to start with an empty store"
    )
}
