//! Contract cases for per-account running-execution slots.

use super::*;

pub async fn slots_are_taken_up_to_the_limit_once_per_holder(store: Arc<dyn Store>) {
    assert_eq!(store.slots_held("acme").await.unwrap(), 0, "none yet");
    for holder in ["orders/e1", "orders/e2", "acme:billing/e1"] {
        store.acquire_slot("acme", holder, 3).await.unwrap();
    }
    assert_eq!(store.slots_held("acme").await.unwrap(), 3);
    assert!(
        is_condition_failed(&store.acquire_slot("acme", "orders/e4", 3).await),
        "the fourth holder finds all slots taken"
    );
    assert_eq!(store.slots_held("acme").await.unwrap(), 3);

    store.acquire_slot("acme", "orders/e2", 3).await.unwrap();
    store.acquire_slot("acme", "orders/e2", 3).await.unwrap();
    assert_eq!(
        store.slots_held("acme").await.unwrap(),
        3,
        "a holder taking its slot again takes no other"
    );

    store.release_slot("acme", "orders/e2").await.unwrap();
    assert_eq!(store.slots_held("acme").await.unwrap(), 2);
    store.acquire_slot("acme", "orders/e4", 3).await.unwrap();
    assert_eq!(store.slots_held("acme").await.unwrap(), 3);
    assert!(
        is_condition_failed(&store.acquire_slot("acme", "orders/e2", 3).await),
        "a released holder is a new holder"
    );

    store.release_slot("acme", "orders/e4").await.unwrap();
    store.release_slot("acme", "orders/e4").await.unwrap();
    store.release_slot("acme", "nobody/x").await.unwrap();
    assert_eq!(
        store.slots_held("acme").await.unwrap(),
        2,
        "releasing twice, or without a slot, frees nothing more"
    );

    // Accounts count apart; releasing in an account never used is fine, and leaves it usable.
    store.release_slot("fresh", "orders/e1").await.unwrap();
    assert_eq!(store.slots_held("fresh").await.unwrap(), 0);
    store.acquire_slot("fresh", "orders/e1", 1).await.unwrap();
    store.acquire_slot("other", "orders/e1", 1).await.unwrap();
    assert!(is_condition_failed(
        &store.acquire_slot("other", "orders/e2", 1).await
    ));
    assert_eq!(store.slots_held("fresh").await.unwrap(), 1);
    assert_eq!(store.slots_held("other").await.unwrap(), 1);
    assert_eq!(store.slots_held("acme").await.unwrap(), 2);
    assert_eq!(store.slots_held("acm").await.unwrap(), 0);

    // Emptied, the account starts over.
    for holder in ["orders/e1", "acme:billing/e1"] {
        store.release_slot("acme", holder).await.unwrap();
    }
    assert_eq!(store.slots_held("acme").await.unwrap(), 0);
    store.release_slot("acme", "orders/e1").await.unwrap();
    store.acquire_slot("acme", "orders/e9", 1).await.unwrap();
    assert_eq!(store.slots_held("acme").await.unwrap(), 1);
}

pub async fn lowering_the_limit_keeps_the_holders(store: Arc<dyn Store>) {
    for holder in ["f/a", "f/b", "f/c"] {
        store.acquire_slot("acct", holder, 3).await.unwrap();
    }
    assert!(is_condition_failed(
        &store.acquire_slot("acct", "f/d", 2).await
    ));
    store.acquire_slot("acct", "f/a", 2).await.unwrap();
    store.acquire_slot("acct", "f/b", 1).await.unwrap();
    store.acquire_slot("acct", "f/c", 0).await.unwrap();
    assert_eq!(
        store.slots_held("acct").await.unwrap(),
        3,
        "over the new limit, the holders keep their slots"
    );
    assert!(is_condition_failed(
        &store.acquire_slot("acct", "f/d", 0).await
    ));

    store.release_slot("acct", "f/a").await.unwrap();
    assert!(
        is_condition_failed(&store.acquire_slot("acct", "f/d", 2).await),
        "still at the lowered limit"
    );
    store.release_slot("acct", "f/b").await.unwrap();
    store.acquire_slot("acct", "f/d", 2).await.unwrap();
    assert_eq!(store.slots_held("acct").await.unwrap(), 2);

    // A limit of 0 lets nobody in, even into an account with no slots taken.
    assert!(is_condition_failed(
        &store.acquire_slot("zero", "f/a", 0).await
    ));
    assert_eq!(store.slots_held("zero").await.unwrap(), 0);
}

pub async fn concurrent_acquires_fill_the_limit_exactly(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let holder = format!("race/e{i}");
                let r = store.acquire_slot("busy", &holder, 3).await;
                (holder, r)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (holder, Ok(())) => winners.push(holder),
            (_, Err(StoreError::ConditionFailed)) => {}
            (holder, Err(e)) => panic!("{holder}: {e}"),
        }
    }
    assert_eq!(winners.len(), 3, "exactly the limit got in: {winners:?}");
    assert_eq!(store.slots_held("busy").await.unwrap(), 3);
    for holder in &winners {
        store.acquire_slot("busy", holder, 3).await.unwrap();
    }
    assert_eq!(store.slots_held("busy").await.unwrap(), 3);

    // One holder retried from many tasks at once holds one slot.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.acquire_slot("retry", "f/same", 2).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(store.slots_held("retry").await.unwrap(), 1);
}
