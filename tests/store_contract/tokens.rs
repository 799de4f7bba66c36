//! Contract cases for task tokens, and the execution's callback token.

use super::*;

use fnf_lambda::store::TokenRecord;

fn token(name: &str) -> TokenRecord {
    TokenRecord {
        token: name.into(),
        flow: "parent".into(),
        execution: "run-1".into(),
        task_id: "task-7".into(),
        created_ms: 1_000,
        result: None,
        completed_ms: None,
    }
}

pub async fn tokens_round_trip_and_put_is_idempotent(store: Arc<dyn Store>) {
    let t = token("tok-a");
    store.put_token(&t).await.unwrap();
    assert_eq!(store.get_token("tok-a").await.unwrap(), Some(t.clone()));
    assert_eq!(store.get_token("tok-b").await.unwrap(), None);
    assert_eq!(
        store.get_token("TOK-A").await.unwrap(),
        None,
        "tokens are case-sensitive"
    );

    // A retried put, even with other fields, leaves the first as it was, and is no error.
    let other = TokenRecord {
        flow: "elsewhere".into(),
        execution: "run-2".into(),
        task_id: "task-9".into(),
        created_ms: 2_000,
        ..t.clone()
    };
    store.put_token(&other).await.unwrap();
    assert_eq!(store.get_token("tok-a").await.unwrap(), Some(t.clone()));

    // Nor does it erase a result, even one that carries a result of its own (or none).
    store
        .complete_token("tok-a", "parent", "{\"ok\":1}", 3_000)
        .await
        .unwrap();
    let done = TokenRecord {
        result: Some("{\"ok\":1}".into()),
        completed_ms: Some(3_000),
        ..t.clone()
    };
    store.put_token(&t).await.unwrap();
    store
        .put_token(&TokenRecord {
            result: Some("{\"other\":2}".into()),
            completed_ms: Some(4_000),
            ..other
        })
        .await
        .unwrap();
    assert_eq!(store.get_token("tok-a").await.unwrap(), Some(done));

    // A token put with its result already set keeps it.
    let preset = TokenRecord {
        result: Some("{}".into()),
        completed_ms: Some(5),
        ..token("tok-preset")
    };
    store.put_token(&preset).await.unwrap();
    assert_eq!(store.get_token("tok-preset").await.unwrap(), Some(preset));

    // Tokens live apart from flows and executions: listings and the sweep never see them.
    assert!(store.list_flows(10, None).await.unwrap().items.is_empty());
    assert!(store.list_due(i64::MAX, 10).await.unwrap().is_empty());
    assert_eq!(store.get_execution("parent", "run-1").await.unwrap(), None);
}

pub async fn tokens_complete_once(store: Arc<dyn Store>) {
    let t = token("tok-once");
    store.put_token(&t).await.unwrap();
    store
        .complete_token("tok-once", "parent", r#"{"output":"first"}"#, 2_000)
        .await
        .unwrap();
    let done = TokenRecord {
        result: Some(r#"{"output":"first"}"#.into()),
        completed_ms: Some(2_000),
        ..t.clone()
    };
    assert_eq!(
        store.get_token("tok-once").await.unwrap(),
        Some(done.clone())
    );

    let again = store
        .complete_token("tok-once", "parent", r#"{"output":"second"}"#, 3_000)
        .await;
    assert!(is_condition_failed(&again), "second complete: {again:?}");
    assert_eq!(
        store.get_token("tok-once").await.unwrap(),
        Some(done),
        "a refused complete changes nothing"
    );

    // Another flow's completion is refused by the write itself (accounts' views rely on it).
    let mut theirs = token("tok-theirs");
    theirs.flow = "acme:parent".into();
    store.put_token(&theirs).await.unwrap();
    let wrong = store.complete_token("tok-theirs", "parent", "{}", 1).await;
    assert!(
        is_condition_failed(&wrong),
        "another flow's token: {wrong:?}"
    );
    assert_eq!(store.get_token("tok-theirs").await.unwrap(), Some(theirs));

    let unknown = store.complete_token("tok-unknown", "parent", "{}", 1).await;
    assert!(is_condition_failed(&unknown), "unknown token: {unknown:?}");
    assert_eq!(
        store.get_token("tok-unknown").await.unwrap(),
        None,
        "complete never creates"
    );

    // A token nobody could have minted (longer than any key) is unknown, not an outage.
    let huge = "x".repeat(4096);
    assert_eq!(store.get_token(&huge).await.unwrap(), None);
    let huge_complete = store.complete_token(&huge, "parent", "{}", 1).await;
    assert!(
        is_condition_failed(&huge_complete),
        "oversized token: {huge_complete:?}"
    );
}

pub async fn concurrent_completes_one_wins(store: Arc<dyn Store>) {
    store.put_token(&token("tok-race")).await.unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let result = format!(r#"{{"by":{i}}}"#);
                let done = store
                    .complete_token("tok-race", "parent", &result, 10 + i)
                    .await;
                (i, done)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        let (i, done) = t.await.unwrap();
        match done {
            Ok(()) => winners.push(i),
            Err(StoreError::ConditionFailed) => {}
            Err(e) => panic!("complete {i} failed with {e:?}, not ConditionFailed"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one complete wins: {winners:?}");
    let stored = store.get_token("tok-race").await.unwrap().unwrap();
    let w = winners[0];
    assert_eq!(stored.result, Some(format!(r#"{{"by":{w}}}"#)));
    assert_eq!(stored.completed_ms, Some(10 + w));
}

pub async fn callback_token_round_trips(store: Arc<dyn Store>) {
    let child = ExecutionRecord {
        callback_token: Some("tok-parent-task".into()),
        ..exec("child", "c1", 1)
    };
    assert_eq!(store.claim_execution(&child).await.unwrap(), Claim::Created);
    assert_eq!(
        store.get_execution("child", "c1").await.unwrap(),
        Some(child.clone())
    );
    match store
        .claim_execution(&exec("child", "c1", 2))
        .await
        .unwrap()
    {
        Claim::Existing(holder) => assert_eq!(*holder, child, "the holder keeps its token"),
        Claim::Created => panic!("a taken name was claimed twice"),
    }

    let mut done = child.clone();
    done.output = Some("{}".into());
    let expected = done.close(ExecutionStatus::Succeeded, 5);
    store.update_execution(&done, expected).await.unwrap();
    assert_eq!(
        store.get_execution("child", "c1").await.unwrap(),
        Some(done.clone())
    );
    assert_eq!(done.callback_token.as_deref(), Some("tok-parent-task"));

    // An update without it removes it; one with it puts it back.
    let mut cleared = ExecutionRecord {
        callback_token: None,
        ..done.clone()
    };
    cleared.version += 1;
    store
        .update_execution(&cleared, done.version)
        .await
        .unwrap();
    assert_eq!(
        store.get_execution("child", "c1").await.unwrap(),
        Some(cleared.clone())
    );
    let restored = ExecutionRecord {
        callback_token: Some("tok-again".into()),
        version: cleared.version + 1,
        ..cleared.clone()
    };
    store
        .update_execution(&restored, cleared.version)
        .await
        .unwrap();
    assert_eq!(
        store.get_execution("child", "c1").await.unwrap(),
        Some(restored)
    );

    // Without a callback token, there is none.
    let plain = exec("child", "c2", 3);
    store.claim_execution(&plain).await.unwrap();
    let got = store.get_execution("child", "c2").await.unwrap().unwrap();
    assert_eq!(got.callback_token, None);
    assert_eq!(got, plain);
}
