//! Checkpoints too large for the execution's own item (a DynamoDB item holds at most 400 KB,
//! and the execution's item also carries its input) are kept beside it, in parts:
//! `CKPT#<digest>#<part>` under the execution's partition, with `checkpoint_ref` (the digest)
//! and `checkpoint_parts` on the execution's item instead of `checkpoint`.
//!
//! Parts are named by their content's digest, so a repeated or duplicated write of the same
//! state writes the same items, and racing writers of different states never touch each
//! other's parts: only the fenced write of the execution's item decides which parts count.
//! Parts are written before that item, every time (a write costs what an inline item would).
//! Old parts are never deleted by a write (a delete costs as many write units as the item's
//! size, and a reader may still be on its way to them); they carry `expires_at`, so DynamoDB's
//! TTL removes them for free, long after the execution has moved on.

use aws_sdk_dynamodb::types::AttributeValue;
use sha2::{Digest, Sha256};

use super::DynamoStore;
use super::item::{self, Item, SK, n, s};
use crate::store::{ExecutionRecord, StoreError};

/// Checkpoints up to this size stay in the execution's item: with the largest definition
/// (128 KiB) and input (64 KiB) beside it, the item stays well under 400 KB.
pub const INLINE_CHECKPOINT_BYTES: usize = 160 * 1024;
/// The size of one part (well under the 400 KB item limit, with its key and attributes).
const PART_BYTES: usize = 300 * 1024;
/// How long parts outlive the execution's due time. A parked execution is rewritten (with
/// fresh parts) whenever it is driven, so only a sweep stopped for this long could lose them.
const PART_TTL_SECONDS: i64 = 30 * 24 * 3600;

const REF: &str = "checkpoint_ref";
const PARTS: &str = "checkpoint_parts";

/// A checkpoint kept in parts: its digest and the parts' text.
pub struct Spill<'a> {
    reference: String,
    parts: Vec<&'a str>,
}

impl<'a> Spill<'a> {
    /// The parts of `exec`'s checkpoint when it is too large for the execution's item.
    pub fn plan(exec: &'a ExecutionRecord) -> Option<Spill<'a>> {
        let text = exec.checkpoint.as_deref()?;
        (text.len() > INLINE_CHECKPOINT_BYTES).then(|| Spill {
            reference: digest(text),
            parts: split(text, PART_BYTES),
        })
    }

    /// Puts the reference on the execution's item (which holds no checkpoint of this size).
    pub fn mark(&self, item: &mut Item) {
        item.insert(REF.into(), s(&self.reference));
        item.insert(PARTS.into(), n(self.parts.len()));
    }
}

/// 32 hex digits of the text's SHA-256.
fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Splits `text` into pieces of at most `max` bytes, at character boundaries.
fn split(text: &str, max: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len().min(max);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (part, tail) = rest.split_at(end);
        parts.push(part);
        rest = tail;
    }
    parts
}

fn part_sort_key(reference: &str, index: usize) -> String {
    format!("CKPT#{reference}#{index:04}")
}

impl DynamoStore {
    /// Writes `exec`'s checkpoint parts when it has to spill; answers the plan to mark the
    /// execution's item with.
    pub(super) async fn put_checkpoint_parts<'a>(
        &self,
        exec: &'a ExecutionRecord,
    ) -> Result<Option<Spill<'a>>, StoreError> {
        let Some(spill) = Spill::plan(exec) else {
            return Ok(None);
        };
        let key = item::exec_key(&exec.flow, &exec.name);
        let due_seconds = exec.due_ms.unwrap_or(exec.started_ms).max(exec.started_ms) / 1000;
        let expires_at = n(due_seconds.saturating_add(PART_TTL_SECONDS));
        let parts: Vec<Item> = spill
            .parts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let mut part = key.clone();
                part.insert(SK.into(), s(part_sort_key(&spill.reference, i)));
                part.insert("text".into(), s(*text));
                part.insert("expires_at".into(), expires_at.clone());
                part
            })
            .collect();
        self.put_items(parts).await?;
        Ok(Some(spill))
    }

    /// Decodes an execution's item, reading its checkpoint's parts when it spilled.
    pub(super) async fn exec_with_checkpoint(
        &self,
        item: &Item,
    ) -> Result<ExecutionRecord, StoreError> {
        let mut exec = item::exec_from_item(item)?;
        let r = item::Reader(item);
        let Some(reference) = r.opt_s(REF)? else {
            return Ok(exec);
        };
        let count: usize = r.n(PARTS)?;
        let pk = item::exec_pk(&exec.flow, &exec.name);
        let (parts, _) = self
            .query_sort_range(
                pk,
                part_sort_key(&reference, 0),
                part_sort_key(&reference, 9999),
                None,
                count,
            )
            .await?;
        let mut text = String::new();
        for part in &parts {
            match part.get("text") {
                Some(AttributeValue::S(piece)) => text.push_str(piece),
                _ => return Err(StoreError::Corrupt("checkpoint part without text".into())),
            }
        }
        if parts.len() != count || digest(&text) != reference {
            return Err(StoreError::Corrupt(format!(
                "checkpoint {reference} of {}/{}: {} of {count} parts, or a wrong digest",
                exec.flow,
                exec.name,
                parts.len()
            )));
        }
        exec.checkpoint = Some(text);
        Ok(exec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_characters_whole() {
        let text = "aé".repeat(1000); // 3 bytes per pair, 'é' is 2 bytes
        let parts = split(&text, 10);
        assert!(parts.iter().all(|p| p.len() <= 10 && !p.is_empty()));
        assert_eq!(parts.concat(), text);
        assert_eq!(split("", 10), Vec::<&str>::new());
    }

    #[test]
    fn small_checkpoints_stay_inline() {
        let mut exec = ExecutionRecord {
            checkpoint: Some("x".repeat(INLINE_CHECKPOINT_BYTES)),
            ..Default::default()
        };
        assert!(Spill::plan(&exec).is_none());
        exec.checkpoint = Some("x".repeat(INLINE_CHECKPOINT_BYTES + 1));
        let spill = Spill::plan(&exec).expect("spills");
        assert_eq!(spill.parts.len(), 1);
        let mut item = item::exec_to_item(&exec);
        spill.mark(&mut item);
        assert!(!item.contains_key("checkpoint"));
        assert_eq!(item.get(PARTS), Some(&n(1)));
    }
}
