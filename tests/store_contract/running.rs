//! Contract cases for what running executions need: history events and the due index.

use super::*;

fn event(id: u64) -> HistoryRecord {
    HistoryRecord {
        id,
        kind: if id.is_multiple_of(2) {
            "StepExited"
        } else {
            "StepEntered"
        }
        .into(),
        step_name: format!("s{}", id / 2),
        schedule_event_id: (id > 1).then_some(id - 1),
        time_ms: 1_000 + id as i64,
        detail: format!(r#"{{"n":{id}}}"#),
    }
}

pub async fn history_is_idempotent_ordered_and_paged(store: Arc<dyn Store>) {
    let events: Vec<_> = (1..=60).map(event).collect();
    store.put_history("f", "e", &events[..30]).await.unwrap();
    // A retried write of events already stored, overlapping new ones, stores each once.
    store.put_history("f", "e", &events[20..]).await.unwrap();
    // Another execution's history (a name that extends this one) stays apart.
    store.put_history("f", "e-2", &events[..3]).await.unwrap();
    store.put_history("f", "e2", &events[..3]).await.unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_history("f", "e", 25, after).await.unwrap();
        assert!(page.items.len() <= 25);
        seen.extend(page.items);
        match page.next_after {
            Some(a) => after = Some(a.parse().unwrap()),
            None => break,
        }
    }
    assert_eq!(seen, events, "every event once, in id order, intact");
    let tail = store.list_history("f", "e", 100, Some(58)).await.unwrap();
    assert_eq!(
        tail.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        [59, 60]
    );
    assert_eq!(tail.next_after, None);
    assert!(
        store
            .list_history("f", "none", 10, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    // History does not disturb the execution item that shares its partition.
    assert_eq!(store.get_execution("f", "e").await.unwrap(), None);
}

pub async fn due_index_follows_running_executions(store: Arc<dyn Store>) {
    let mut a = exec("f", "a", 1);
    a.due_ms = Some(5_000);
    a.checkpoint = Some("{}".into());
    a.lease_owner = Some("inv-1".into());
    a.lease_until_ms = Some(5_000);
    store.claim_execution(&a).await.unwrap();
    let mut b = exec("f", "b", 1);
    b.due_ms = Some(3_000);
    store.claim_execution(&b).await.unwrap();
    store
        .claim_execution(&exec("f", "not-due", 1))
        .await
        .unwrap();
    assert_eq!(
        store.get_execution("f", "a").await.unwrap(),
        Some(a.clone()),
        "lease and checkpoint round-trip"
    );

    let due = store.list_due(4_000, 10).await.unwrap();
    assert_eq!(
        due.iter()
            .map(|d| (d.name.as_str(), d.version, d.due_ms))
            .collect::<Vec<_>>(),
        [("b", 1, 3_000)]
    );
    let due = store.list_due(10_000, 10).await.unwrap();
    assert_eq!(
        due.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
        ["b", "a"],
        "earliest first"
    );
    assert_eq!(store.list_due(10_000, 1).await.unwrap().len(), 1);

    // Moving the due time moves the entry; ending the execution takes it out.
    let moved = ExecutionRecord {
        due_ms: Some(20_000),
        version: 2,
        ..a.clone()
    };
    store.update_execution(&moved, 1).await.unwrap();
    let ended = ExecutionRecord {
        status: ExecutionStatus::Succeeded,
        due_ms: Some(1),
        version: 2,
        ..b.clone()
    };
    store.update_execution(&ended, 1).await.unwrap();
    assert!(store.list_due(10_000, 10).await.unwrap().is_empty());
    let due = store.list_due(20_000, 10).await.unwrap();
    assert_eq!(
        due.iter()
            .map(|d| (d.name.as_str(), d.version))
            .collect::<Vec<_>>(),
        [("a", 2)]
    );

    // An ended execution that still owes its parent a report (the outbox) stays listed until
    // the report clears its due time.
    let mut child = exec("f", "child", 1);
    child.callback_token = Some("fnf1-parent".into());
    store.claim_execution(&child).await.unwrap();
    let owing = ExecutionRecord {
        status: ExecutionStatus::Failed,
        due_ms: Some(7_000),
        stopped_ms: Some(7_000),
        version: 2,
        ..child.clone()
    };
    store.update_execution(&owing, 1).await.unwrap();
    let due = store.list_due(10_000, 10).await.unwrap();
    assert_eq!(
        due.iter()
            .map(|d| (d.name.as_str(), d.version, d.due_ms))
            .collect::<Vec<_>>(),
        [("child", 2, 7_000)]
    );
    let reported = ExecutionRecord {
        due_ms: None,
        version: 3,
        ..owing
    };
    store.update_execution(&reported, 2).await.unwrap();
    assert!(store.list_due(10_000, 10).await.unwrap().is_empty());
}

pub async fn history_pages_past_a_megabyte(store: Arc<dyn Store>) {
    // 120 events of 12 KB: one DynamoDB response (1 MB at most) cannot hold a page of 100.
    let events: Vec<_> = (1..=120)
        .map(|id| HistoryRecord {
            detail: format!(r#"{{"pad":"{}"}}"#, "x".repeat(12_000)),
            ..event(id)
        })
        .collect();
    store.put_history("f", "big", &events).await.unwrap();
    let page = store.list_history("f", "big", 100, None).await.unwrap();
    assert_eq!(page.items.len(), 100);
    assert_eq!(page.next_after.as_deref(), Some("100"));
    let rest = store
        .list_history("f", "big", 100, Some(100))
        .await
        .unwrap();
    assert_eq!((rest.items.len(), rest.next_after), (20, None));
}

pub async fn kept_history_comes_with_the_record(store: Arc<dyn Store>) {
    let events: Vec<_> = (1..=8).map(event).collect();
    let mut e = exec("f", "kept", 1);
    store.claim_execution(&e).await.unwrap();
    store.put_history("f", "kept", &events[..5]).await.unwrap();
    // Left over by an invocation that was fenced off: the record's event 7 wins over it.
    let stale = HistoryRecord {
        detail: r#"{"stale":true}"#.into(),
        ..event(7)
    };
    store.put_history("f", "kept", &[stale]).await.unwrap();
    e.history = events[5..].to_vec();
    let expected = e.close(ExecutionStatus::Succeeded, 9);
    store.update_execution(&e, expected).await.unwrap();

    let read = store.get_execution("f", "kept").await.unwrap().unwrap();
    assert_eq!(read.history, events[5..]);
    let whole = store.execution_history(&read, 100, None).await.unwrap();
    assert_eq!(
        (whole.items.as_slice(), whole.next_after),
        (events.as_slice(), None)
    );
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = store.execution_history(&read, 3, after).await.unwrap();
        assert!(page.items.len() <= 3);
        paged.extend(page.items);
        match page.next_after {
            Some(a) => after = Some(a.parse().unwrap()),
            None => break,
        }
    }
    assert_eq!(paged, events, "pages of 3 across stored and kept events");
    // Listings carry no history.
    let listed = store
        .list_executions("f", &ExecutionFilter::default(), 10, None)
        .await
        .unwrap();
    assert!(listed.items.iter().all(|x| x.history.is_empty()));
}

pub async fn make_due_moves_only_version_and_due_time(store: Arc<dyn Store>) {
    let mut e = exec("f", "waiting", 1);
    e.due_ms = Some(90_000);
    // Large enough for DynamoDB to keep it in parts: a wake-up must leave them be.
    e.checkpoint = Some(format!(r#"{{"s":"{}"}}"#, "c".repeat(300_000)));
    store.claim_execution(&e).await.unwrap();

    store.make_due("f", "waiting", 1, 2_000).await.unwrap();
    let woken = ExecutionRecord {
        version: 2,
        due_ms: Some(2_000),
        ..e.clone()
    };
    assert_eq!(
        store.get_execution("f", "waiting").await.unwrap(),
        Some(woken)
    );
    let due = store.list_due(3_000, 10).await.unwrap();
    assert_eq!(
        due.iter()
            .map(|d| (d.name.as_str(), d.version, d.due_ms))
            .collect::<Vec<_>>(),
        [("waiting", 2, 2_000)]
    );
    // A stale version, or no such execution: refused, nothing written.
    assert!(matches!(
        store.make_due("f", "waiting", 1, 1_000).await,
        Err(StoreError::ConditionFailed)
    ));
    assert!(matches!(
        store.make_due("f", "nobody", 1, 1_000).await,
        Err(StoreError::ConditionFailed)
    ));
    assert_eq!(store.get_execution("f", "nobody").await.unwrap(), None);
    assert_eq!(
        store
            .get_execution("f", "waiting")
            .await
            .unwrap()
            .map(|x| x.version),
        Some(2)
    );
}
