//! An execution's history as readers see it: the events stored as items of their own, merged
//! with those kept in the execution's record (`ExecutionRecord::history`).

use super::{HistoryRecord, Page};

/// Merges a page of stored events (`stored`, and whether more follow it) with the events kept
/// in the record, in id order, after `after`, at most `limit`. An id in both is the record's:
/// the record's events came with the execution's fenced final write, while a stored item of
/// the same id can only be left over from an invocation that was fenced off.
pub fn merge(
    stored: Page<HistoryRecord>,
    kept: &[HistoryRecord],
    limit: usize,
    after: Option<u64>,
) -> Page<HistoryRecord> {
    if kept.is_empty() {
        return stored;
    }
    let stored_more = stored.next_after.is_some();
    let mut events: Vec<HistoryRecord> = kept
        .iter()
        .filter(|e| after.is_none_or(|a| e.id > a))
        .cloned()
        .collect();
    events.extend(
        stored
            .items
            .into_iter()
            .filter(|e| !kept.iter().any(|k| k.id == e.id)),
    );
    events.sort_by_key(|e| e.id);
    // Stored events past the page's last one were not read: the page ends there at the latest.
    let more = stored_more || events.len() > limit;
    events.truncate(limit);
    Page::new(events, more, |e| e.id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: u64, kind: &str) -> HistoryRecord {
        HistoryRecord {
            id,
            kind: kind.into(),
            step_name: String::new(),
            schedule_event_id: None,
            time_ms: 0,
            detail: "{}".into(),
        }
    }

    fn page(ids: &[u64], more: bool) -> Page<HistoryRecord> {
        let items = ids.iter().map(|&i| event(i, "stored")).collect();
        Page::new(items, more, |e| e.id.to_string())
    }

    fn ids(p: &Page<HistoryRecord>) -> Vec<u64> {
        p.items.iter().map(|e| e.id).collect()
    }

    #[test]
    fn kept_events_follow_the_stored_ones_page_by_page() {
        let kept: Vec<_> = (6..=9).map(|i| event(i, "kept")).collect();
        let first = merge(page(&[1, 2, 3], true), &kept, 3, None);
        assert_eq!(
            (ids(&first), first.next_after.as_deref()),
            (vec![1, 2, 3], Some("3"))
        );
        let second = merge(page(&[4, 5], false), &kept, 3, Some(3));
        assert_eq!(
            (ids(&second), second.next_after.as_deref()),
            (vec![4, 5, 6], Some("6"))
        );
        let third = merge(page(&[], false), &kept, 3, Some(6));
        assert_eq!((ids(&third), third.next_after), (vec![7, 8, 9], None));
    }

    #[test]
    fn the_record_wins_over_a_left_over_item() {
        let kept = [event(2, "kept"), event(3, "kept")];
        let merged = merge(page(&[1, 2], false), &kept, 10, None);
        let kinds: Vec<_> = merged.items.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["stored", "kept", "kept"]);
        assert_eq!(merged.next_after, None);
    }

    #[test]
    fn without_kept_events_the_page_is_unchanged() {
        let merged = merge(page(&[1, 2], true), &[], 2, None);
        assert_eq!(
            (ids(&merged), merged.next_after.as_deref()),
            (vec![1, 2], Some("2"))
        );
    }
}
