//! The store contract: one suite, run against the embedded store and DynamoDB (moto).
//! Every case is an async fn over `&dyn Store`; the macro at the bottom runs each on both.

#[path = "store_contract/accounts.rs"]
mod accounts;
mod common;
#[path = "store_contract/running.rs"]
mod running;
#[path = "store_contract/slots.rs"]
mod slots;
#[path = "store_contract/tokens.rs"]
mod tokens;
#[path = "store_contract/versions.rs"]
mod versions;

use accounts::{
    access_key_debug_hides_the_secret, accounts_create_once_replace_and_list,
    concurrent_nonce_uses_one_wins, keys_create_once_replace_and_delete,
    keys_list_per_account_in_pages_without_secrets, nonces_refuse_replays_until_they_expire,
};
use running::{
    due_index_follows_running_executions, history_is_idempotent_ordered_and_paged,
    history_pages_past_a_megabyte, kept_history_comes_with_the_record,
    make_due_moves_only_version_and_due_time,
};
use slots::{
    concurrent_acquires_fill_the_limit_exactly, lowering_the_limit_keeps_the_holders,
    slots_are_taken_up_to_the_limit_once_per_holder,
};
use tokens::{
    callback_token_round_trips, concurrent_completes_one_wins, tokens_complete_once,
    tokens_round_trip_and_put_is_idempotent,
};
use versions::{
    aliases_are_conditional_and_guard_versions, aliases_list_in_pages,
    concurrent_publishes_number_once, deleting_a_flow_deletes_its_versions_and_aliases,
    versions_freeze_the_definition, versions_list_in_pages_and_delete,
};

use std::collections::HashSet;
use std::sync::Arc;

use fnf_lambda::service::MAX_CHECKPOINT_BYTES;
use fnf_lambda::store::{
    Claim, ExecutionFilter, ExecutionRecord, ExecutionStatus, FlowRecord, HistoryRecord, Store,
    StoreError,
};

/// The names of listed executions, in order.
fn names(items: &[ExecutionRecord]) -> Vec<&str> {
    items.iter().map(|e| e.name.as_str()).collect()
}

fn flow(name: &str) -> FlowRecord {
    FlowRecord {
        name: name.into(),
        id: format!("id-{name}"),
        definition: common::CLOUDFLOW_SEED.into(),
        description: "a flow".into(),
        flow_type: "DEFAULT".into(),
        role_arn: String::new(),
        execution_mode: "Standard".into(),
        created_ms: 1_000,
        modified_ms: 1_000,
        revision: 1,
    }
}

/// The store refused a conditional write.
fn is_condition_failed<T>(r: &Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::ConditionFailed))
}

fn exec(flow: &str, name: &str, started_ms: i64) -> ExecutionRecord {
    ExecutionRecord {
        flow: flow.into(),
        name: name.into(),
        status: ExecutionStatus::Running,
        input: r#"{"key":"value"}"#.into(),
        output: None,
        error: None,
        cause: None,
        definition: common::CLOUDFLOW_SEED.into(),
        flow_type: "DEFAULT".into(),
        started_ms,
        stopped_ms: None,
        version: 1,
        ..ExecutionRecord::default()
    }
}

async fn flows_round_trip(store: Arc<dyn Store>) {
    let f = flow("orders");
    store.create_flow(&f).await.unwrap();
    assert_eq!(store.get_flow("orders").await.unwrap(), Some(f.clone()));
    assert_eq!(
        store.get_flow("Orders").await.unwrap(),
        None,
        "names are case-sensitive"
    );
    let again = FlowRecord {
        description: "other".into(),
        ..f.clone()
    };
    assert!(matches!(
        store.create_flow(&again).await,
        Err(StoreError::ConditionFailed)
    ));
    assert_eq!(
        store.get_flow("orders").await.unwrap(),
        Some(f),
        "a refused create changes nothing"
    );
}

async fn flow_updates_are_fenced_by_revision(store: Arc<dyn Store>) {
    let f = flow("billing");
    store.create_flow(&f).await.unwrap();
    let v2 = FlowRecord {
        description: "v2".into(),
        revision: 2,
        ..f.clone()
    };
    store.replace_flow(&v2, 1).await.unwrap();
    let stale = FlowRecord {
        description: "stale".into(),
        revision: 2,
        ..f.clone()
    };
    assert!(matches!(
        store.replace_flow(&stale, 1).await,
        Err(StoreError::ConditionFailed)
    ));
    assert_eq!(store.get_flow("billing").await.unwrap(), Some(v2));
    let ghost = flow("ghost");
    assert!(matches!(
        store.replace_flow(&ghost, 1).await,
        Err(StoreError::ConditionFailed)
    ));
    assert_eq!(
        store.get_flow("ghost").await.unwrap(),
        None,
        "replace never creates"
    );
}

async fn flows_delete(store: Arc<dyn Store>) {
    store.create_flow(&flow("temp")).await.unwrap();
    assert!(store.delete_flow("temp").await.unwrap());
    assert!(!store.delete_flow("temp").await.unwrap());
    assert_eq!(store.get_flow("temp").await.unwrap(), None);
}

async fn flows_list_in_pages(store: Arc<dyn Store>) {
    let names = ["f5", "f1", "f3", "f7", "f2", "f6", "f4"];
    for n in names {
        store.create_flow(&flow(n)).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = store.list_flows(3, after.as_deref()).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|f| f.name.clone()));
        match page.next_after {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    assert_eq!(seen, ["f1", "f2", "f3", "f4", "f5", "f6", "f7"]);
    assert_eq!(pages, 3);
    let exact = store.list_flows(7, None).await.unwrap();
    assert_eq!(
        (exact.items.len(), exact.next_after),
        (7, None),
        "no token when nothing follows"
    );
    let listed = &exact.items[0];
    assert_eq!(
        listed.definition,
        common::CLOUDFLOW_SEED,
        "listings show the definition"
    );
}

async fn claim_is_exactly_once(store: Arc<dyn Store>) {
    let first = exec("f", "e1", 5);
    assert_eq!(store.claim_execution(&first).await.unwrap(), Claim::Created);
    let second = ExecutionRecord {
        input: "{}".into(),
        started_ms: 9,
        ..first.clone()
    };
    match store.claim_execution(&second).await.unwrap() {
        Claim::Existing(holder) => assert_eq!(*holder, first, "the holder comes back whole"),
        Claim::Created => panic!("a taken name was claimed twice"),
    }
    assert_eq!(store.get_execution("f", "e1").await.unwrap(), Some(first));
    assert_eq!(
        store
            .claim_execution(&exec("other", "e1", 1))
            .await
            .unwrap(),
        Claim::Created,
        "names are per flow"
    );
}

async fn concurrent_claims_create_one(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.claim_execution(&exec("race", "same", i)).await })
        })
        .collect();
    let mut created = 0;
    let mut holders = HashSet::new();
    for t in tasks {
        match t.await.unwrap().unwrap() {
            Claim::Created => created += 1,
            Claim::Existing(holder) => {
                holders.insert(holder.started_ms);
            }
        }
    }
    assert_eq!(created, 1);
    let stored = store.get_execution("race", "same").await.unwrap().unwrap();
    assert!(
        holders.iter().all(|s| *s == stored.started_ms),
        "every loser saw the one winner"
    );
}

async fn updates_are_fenced_by_version(store: Arc<dyn Store>) {
    let e = exec("f", "fenced", 1);
    store.claim_execution(&e).await.unwrap();
    let done = ExecutionRecord {
        status: ExecutionStatus::Succeeded,
        output: Some("{}".into()),
        stopped_ms: Some(2),
        version: 2,
        ..e.clone()
    };
    store.update_execution(&done, 1).await.unwrap();
    let late = ExecutionRecord {
        status: ExecutionStatus::Failed,
        version: 2,
        ..e.clone()
    };
    assert!(matches!(
        store.update_execution(&late, 1).await,
        Err(StoreError::ConditionFailed)
    ));
    assert_eq!(
        store.get_execution("f", "fenced").await.unwrap(),
        Some(done)
    );
    let ghost = exec("f", "ghost", 1);
    assert!(matches!(
        store.update_execution(&ghost, 0).await,
        Err(StoreError::ConditionFailed)
    ));
    assert_eq!(
        store.get_execution("f", "ghost").await.unwrap(),
        None,
        "update never creates"
    );
}

async fn executions_list_filter_and_page(store: Arc<dyn Store>) {
    for (i, name) in ["a1", "a2", "b1", "a3", "b2", "c1"].iter().enumerate() {
        let mut e = exec("flow", name, 100 + i as i64);
        if name.starts_with('b') {
            e.status = ExecutionStatus::Succeeded;
        }
        store.claim_execution(&e).await.unwrap();
    }
    // A flow whose name extends the other's must not leak into its listing.
    store
        .claim_execution(&exec("flow2", "a0", 1))
        .await
        .unwrap();
    store.claim_execution(&exec("flo", "a0", 1)).await.unwrap();

    let all = store
        .list_executions("flow", &ExecutionFilter::default(), 100, None)
        .await
        .unwrap();
    assert_eq!(names(&all.items), ["a1", "a2", "a3", "b1", "b2", "c1"]);
    assert!(
        all.items
            .iter()
            .all(|e| e.input.is_empty() && e.definition.is_empty()),
        "summaries only"
    );

    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list_executions("flow", &ExecutionFilter::default(), 4, after.as_deref())
            .await
            .unwrap();
        paged.extend(page.items.into_iter().map(|e| e.name));
        match page.next_after {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    assert_eq!(paged, ["a1", "a2", "a3", "b1", "b2", "c1"]);

    let succeeded = ExecutionFilter {
        status: Some(ExecutionStatus::Succeeded),
        ..Default::default()
    };
    let page = store
        .list_executions("flow", &succeeded, 1, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].name, "b1");
    let rest = store
        .list_executions("flow", &succeeded, 1, page.next_after.as_deref())
        .await
        .unwrap();
    assert_eq!(names(&rest.items), ["b2"]);
    assert_eq!(rest.next_after, None);

    let prefixed = ExecutionFilter {
        name_prefix: Some("a".into()),
        ..Default::default()
    };
    let page = store
        .list_executions("flow", &prefixed, 2, None)
        .await
        .unwrap();
    assert_eq!(names(&page.items), ["a1", "a2"]);
    let page = store
        .list_executions("flow", &prefixed, 2, page.next_after.as_deref())
        .await
        .unwrap();
    assert_eq!(names(&page.items), ["a3"]);
    assert_eq!(page.next_after, None);

    let window = ExecutionFilter {
        started_from_ms: Some(101),
        started_to_ms: Some(103),
        ..Default::default()
    };
    let page = store
        .list_executions("flow", &window, 10, None)
        .await
        .unwrap();
    assert_eq!(names(&page.items), ["a2", "a3", "b1"]);

    let none = store
        .list_executions("nothing", &ExecutionFilter::default(), 10, None)
        .await
        .unwrap();
    assert!(none.items.is_empty() && none.next_after.is_none());
}

async fn big_items_round_trip(store: Arc<dyn Store>) {
    // The documented maxima together: 64 KiB input and output, 128 KiB definition.
    let mut e = exec("big", "e", 1);
    e.input = format!(r#"{{"k":"{}"}}"#, "x".repeat(64 * 1024 - 8));
    e.definition = "#".repeat(128 * 1024);
    store.claim_execution(&e).await.unwrap();
    let done = ExecutionRecord {
        output: Some(e.input.clone()),
        status: ExecutionStatus::Succeeded,
        version: 2,
        ..e.clone()
    };
    store.update_execution(&done, 1).await.unwrap();
    assert_eq!(store.get_execution("big", "e").await.unwrap(), Some(done));
}

async fn large_checkpoints_round_trip(store: Arc<dyn Store>) {
    // Up to the service's limit, next to the largest input and definition: DynamoDB keeps such
    // a checkpoint in parts beside the execution's item (one item holds at most 400 KB).
    let mut e = exec("big", "c", 1);
    e.input = format!(r#"{{"k":"{}"}}"#, "x".repeat(64 * 1024 - 8));
    e.definition = "#".repeat(128 * 1024);
    e.checkpoint = Some(format!(
        r#"{{"s":"{}"}}"#,
        "é".repeat(MAX_CHECKPOINT_BYTES / 2 - 4)
    ));
    e.due_ms = Some(5_000);
    store.claim_execution(&e).await.unwrap();
    assert_eq!(
        store.get_execution("big", "c").await.unwrap().as_ref(),
        Some(&e)
    );
    // A view (DescribeExecution's poll) is all of it but the checkpoint.
    let view = ExecutionRecord {
        checkpoint: None,
        ..e.clone()
    };
    assert_eq!(store.view_execution("big", "c").await.unwrap(), Some(view));
    // Another large state replaces it; a repeated write of the same state is harmless.
    let mut next = ExecutionRecord {
        checkpoint: Some("[".repeat(300_000) + &"]".repeat(300_000)),
        version: 2,
        ..e.clone()
    };
    store.update_execution(&next, 1).await.unwrap();
    // The same write again finds itself stored (a retry whose first answer was lost); any
    // other write at that version is refused.
    store.update_execution(&next, 1).await.unwrap();
    let other = ExecutionRecord {
        lease_owner: Some("another invocation".into()),
        ..next.clone()
    };
    assert!(matches!(
        store.update_execution(&other, 1).await,
        Err(StoreError::ConditionFailed)
    ));
    assert_eq!(
        store.get_execution("big", "c").await.unwrap().as_ref(),
        Some(&next)
    );
    // Back to a small state, then ended: no trace of the large ones.
    next.checkpoint = Some("{}".into());
    next.version = 3;
    store.update_execution(&next, 2).await.unwrap();
    assert_eq!(
        store.get_execution("big", "c").await.unwrap().as_ref(),
        Some(&next)
    );
    let expected = next.close(ExecutionStatus::Succeeded, 9_000);
    store.update_execution(&next, expected).await.unwrap();
    assert_eq!(store.get_execution("big", "c").await.unwrap(), Some(next));
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let (store, _dir) = crate::common::embedded_store();
                    super::$case(std::sync::Arc::new(store)).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let store = crate::common::dynamo_store().await;
                    super::$case(std::sync::Arc::new(store)).await;
                }
            )*
        }
    };
}

contract!(
    flows_round_trip,
    flow_updates_are_fenced_by_revision,
    flows_delete,
    flows_list_in_pages,
    claim_is_exactly_once,
    concurrent_claims_create_one,
    updates_are_fenced_by_version,
    executions_list_filter_and_page,
    big_items_round_trip,
    large_checkpoints_round_trip,
    history_is_idempotent_ordered_and_paged,
    kept_history_comes_with_the_record,
    make_due_moves_only_version_and_due_time,
    due_index_follows_running_executions,
    history_pages_past_a_megabyte,
    concurrent_publishes_number_once,
    versions_freeze_the_definition,
    versions_list_in_pages_and_delete,
    aliases_are_conditional_and_guard_versions,
    aliases_list_in_pages,
    deleting_a_flow_deletes_its_versions_and_aliases,
    tokens_round_trip_and_put_is_idempotent,
    tokens_complete_once,
    concurrent_completes_one_wins,
    callback_token_round_trips,
    accounts_create_once_replace_and_list,
    keys_create_once_replace_and_delete,
    keys_list_per_account_in_pages_without_secrets,
    nonces_refuse_replays_until_they_expire,
    concurrent_nonce_uses_one_wins,
    access_key_debug_hides_the_secret,
    slots_are_taken_up_to_the_limit_once_per_holder,
    lowering_the_limit_keeps_the_holders,
    concurrent_acquires_fill_the_limit_exactly,
);

#[tokio::test]
async fn embedded_store_keeps_data_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = fnf_lambda::store::embedded::EmbeddedStore::open(dir.path()).unwrap();
        store.create_flow(&flow("durable")).await.unwrap();
        store
            .claim_execution(&exec("durable", "e1", 1))
            .await
            .unwrap();
    }
    let reopened = fnf_lambda::store::embedded::EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(
        reopened.get_flow("durable").await.unwrap(),
        Some(flow("durable"))
    );
    assert_eq!(
        reopened.get_execution("durable", "e1").await.unwrap(),
        Some(exec("durable", "e1", 1))
    );
}
