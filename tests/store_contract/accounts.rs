//! Contract cases for accounts, access keys and request nonces.

use super::*;

use fnf_lambda::store::{AccessKeyRecord, AccountRecord};

fn account(id: &str) -> AccountRecord {
    AccountRecord {
        id: id.into(),
        description: format!("account {id}"),
        created_ms: 1_000,
        requests_per_second: None,
        max_running_executions: None,
        max_execution_transitions: None,
        max_history_bytes: None,
    }
}

fn key(id: &str, account: &str) -> AccessKeyRecord {
    AccessKeyRecord {
        id: id.into(),
        secret: format!("secret-of-{id}"),
        account: account.into(),
        policy: r#"{"Statement":[{"Effect":"Allow","Action":["fnf:*"],"Resource":["*"]}]}"#.into(),
        description: format!("key {id}"),
        created_ms: 2_000,
        disabled: false,
    }
}

/// Every page of a listing, following `next_after`; checks the page size on the way.
async fn pages<T, F>(limit: usize, mut list: F) -> Vec<Vec<T>>
where
    F: AsyncFnMut(Option<String>) -> fnf_lambda::store::Page<T>,
{
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = list(after.take()).await;
        assert!(page.items.len() <= limit);
        all.push(page.items);
        match page.next_after {
            Some(a) => after = Some(a),
            None => return all,
        }
    }
}

pub async fn accounts_create_once_replace_and_list(store: Arc<dyn Store>) {
    let a = AccountRecord {
        requests_per_second: Some(50),
        ..account("acme")
    };
    store.create_account(&a).await.unwrap();
    assert_eq!(store.get_account("acme").await.unwrap(), Some(a.clone()));
    assert_eq!(
        store.get_account("ACME").await.unwrap(),
        None,
        "ids are case-sensitive"
    );
    assert_eq!(store.get_account("nobody").await.unwrap(), None);

    let again = AccountRecord {
        description: "other".into(),
        ..account("acme")
    };
    assert!(is_condition_failed(&store.create_account(&again).await));
    assert_eq!(
        store.get_account("acme").await.unwrap(),
        Some(a.clone()),
        "a refused create changes nothing"
    );

    let replaced = AccountRecord {
        description: "renamed".into(),
        requests_per_second: None,
        max_running_executions: Some(7),
        max_execution_transitions: Some(5_000_000_000),
        max_history_bytes: Some(0),
        ..a.clone()
    };
    store.replace_account(&replaced).await.unwrap();
    assert_eq!(
        store.get_account("acme").await.unwrap(),
        Some(replaced.clone())
    );
    assert!(is_condition_failed(
        &store.replace_account(&account("ghost")).await
    ));
    assert_eq!(
        store.get_account("ghost").await.unwrap(),
        None,
        "replace never creates"
    );

    for id in ["a5", "a1", "a3", "a2", "a4"] {
        store.create_account(&account(id)).await.unwrap();
    }
    let listed = pages(2, async |after| {
        store.list_accounts(2, after.as_deref()).await.unwrap()
    })
    .await;
    assert_eq!(listed.len(), 3);
    let ids: Vec<_> = listed.iter().flatten().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["a1", "a2", "a3", "a4", "a5", "acme"]);
    let acme = listed.iter().flatten().find(|a| a.id == "acme").unwrap();
    assert_eq!(
        *acme, replaced,
        "listings show the whole account, limits too"
    );

    let exact = store.list_accounts(6, None).await.unwrap();
    assert_eq!(
        (exact.items.len(), exact.next_after),
        (6, None),
        "no token when nothing follows"
    );
    // Accounts live apart from flows.
    assert!(store.list_flows(10, None).await.unwrap().items.is_empty());
}

pub async fn keys_create_once_replace_and_delete(store: Arc<dyn Store>) {
    // Non-ASCII, and characters that mean something in keys and signatures.
    let k = AccessKeyRecord {
        secret: "t3st+Secret/=&\u{ea}\u{4e2d}\u{1f511}#".into(),
        ..key("AK1", "acme")
    };
    store.create_key(&k).await.unwrap();
    let got = store.get_key("AK1").await.unwrap().unwrap();
    assert_eq!(got, k, "get round-trips the secret");
    assert_eq!(
        store.get_key("ak1").await.unwrap(),
        None,
        "ids are case-sensitive"
    );
    assert_eq!(store.get_key("AK2").await.unwrap(), None);

    let again = AccessKeyRecord {
        secret: "another".into(),
        account: "other".into(),
        ..key("AK1", "acme")
    };
    assert!(is_condition_failed(&store.create_key(&again).await));
    assert_eq!(store.get_key("AK1").await.unwrap(), Some(k.clone()));

    // A replace changes the policy, description and state; never the secret or the account.
    let replaced = AccessKeyRecord {
        policy: r#"{"Statement":[]}"#.into(),
        description: "rotated out".into(),
        disabled: true,
        ..k.clone()
    };
    store
        .replace_key(&AccessKeyRecord {
            secret: "must not stick".into(),
            account: "elsewhere".into(),
            created_ms: 9,
            ..replaced.clone()
        })
        .await
        .unwrap();
    assert_eq!(store.get_key("AK1").await.unwrap(), Some(replaced.clone()));
    let enabled = AccessKeyRecord {
        disabled: false,
        ..replaced.clone()
    };
    store.replace_key(&enabled).await.unwrap();
    assert_eq!(store.get_key("AK1").await.unwrap(), Some(enabled));
    assert!(is_condition_failed(
        &store.replace_key(&key("ghost", "acme")).await
    ));
    assert_eq!(
        store.get_key("ghost").await.unwrap(),
        None,
        "replace never creates"
    );

    assert!(store.delete_key("AK1").await.unwrap());
    assert!(!store.delete_key("AK1").await.unwrap());
    assert_eq!(store.get_key("AK1").await.unwrap(), None);
    assert!(
        store
            .list_keys("acme", 10, None)
            .await
            .unwrap()
            .items
            .is_empty(),
        "a deleted key is not listed"
    );
    // The id is free again.
    store.create_key(&key("AK1", "other")).await.unwrap();
    assert_eq!(
        store.get_key("AK1").await.unwrap(),
        Some(key("AK1", "other"))
    );
}

pub async fn keys_list_per_account_in_pages_without_secrets(store: Arc<dyn Store>) {
    for id in ["K5", "K1", "K3", "K4", "K2"] {
        store.create_key(&key(id, "acme")).await.unwrap();
    }
    // Accounts whose ids extend or precede "acme" must not leak into its listing.
    for (id, acct) in [
        ("K0", "acm"),
        ("K6", "acme2"),
        ("K7", "acme/x"),
        ("K8", "acme#x"),
    ] {
        store.create_key(&key(id, acct)).await.unwrap();
    }
    let disabled = AccessKeyRecord {
        disabled: true,
        ..key("K3", "acme")
    };
    store.replace_key(&disabled).await.unwrap();

    let listed = pages(2, async |after| {
        store.list_keys("acme", 2, after.as_deref()).await.unwrap()
    })
    .await;
    assert_eq!(listed.len(), 3);
    let all: Vec<_> = listed.into_iter().flatten().collect();
    let ids: Vec<_> = all.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(ids, ["K1", "K2", "K3", "K4", "K5"]);
    for k in &all {
        assert_eq!(k.secret, "", "listings never carry secrets");
        let expected = if k.id == "K3" {
            disabled.clone()
        } else {
            key(&k.id, "acme")
        };
        assert_eq!(
            *k,
            AccessKeyRecord {
                secret: String::new(),
                ..expected
            },
            "everything else is listed"
        );
    }

    let exact = store.list_keys("acme", 5, None).await.unwrap();
    assert_eq!((exact.items.len(), exact.next_after), (5, None));
    let ids = |page: fnf_lambda::store::Page<AccessKeyRecord>| -> Vec<String> {
        page.items.into_iter().map(|k| k.id).collect()
    };
    assert_eq!(ids(store.list_keys("acm", 10, None).await.unwrap()), ["K0"]);
    assert_eq!(
        ids(store.list_keys("acme2", 10, None).await.unwrap()),
        ["K6"]
    );
    assert_eq!(
        ids(store.list_keys("acme/x", 10, None).await.unwrap()),
        ["K7"]
    );
    assert_eq!(
        ids(store.list_keys("acme#x", 10, None).await.unwrap()),
        ["K8"]
    );
    assert!(ids(store.list_keys("nobody", 10, None).await.unwrap()).is_empty());
    assert_eq!(
        ids(store.list_keys("acme", 10, Some("K4")).await.unwrap()),
        ["K5"],
        "after is exclusive"
    );
    // Keys live apart from accounts.
    assert!(
        store
            .list_accounts(10, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

pub async fn nonces_refuse_replays_until_they_expire(store: Arc<dyn Store>) {
    store.use_nonce("AK1", "n-1", 1_000, 2_000).await.unwrap();
    assert!(
        is_condition_failed(&store.use_nonce("AK1", "n-1", 1_000, 2_000).await),
        "a replay"
    );
    assert!(
        is_condition_failed(&store.use_nonce("AK1", "n-1", 1_999, 9_000).await),
        "still alive just before it expires"
    );
    store.use_nonce("AK2", "n-1", 1_000, 2_000).await.unwrap();
    store.use_nonce("AK1", "n-2", 1_000, 2_000).await.unwrap();
    // Separators inside ids or nonces do not make two pairs one.
    store.use_nonce("AK1", "x#y", 1_000, 2_000).await.unwrap();
    store.use_nonce("AK1#x", "y", 1_000, 2_000).await.unwrap();
    store.use_nonce("AK1", "x/y", 1_000, 2_000).await.unwrap();
    store.use_nonce("AK1/x", "y", 1_000, 2_000).await.unwrap();
    store
        .use_nonce("AK1", "\u{e9}\u{4e2d}-nonce", 1_000, 2_000)
        .await
        .unwrap();
    assert!(is_condition_failed(
        &store
            .use_nonce("AK1", "\u{e9}\u{4e2d}-nonce", 1_500, 2_000)
            .await
    ));

    // Expired (alive while now < expires): it may be used again, and is then alive again.
    store.use_nonce("AK1", "n-1", 2_000, 5_000).await.unwrap();
    assert!(is_condition_failed(
        &store.use_nonce("AK1", "n-1", 4_999, 9_000).await
    ));
    store.use_nonce("AK1", "n-1", 6_000, 9_000).await.unwrap();

    // A nonce too long for a DynamoDB key still works, and is still refused when replayed.
    let long = "n".repeat(3_000);
    store.use_nonce("AK1", &long, 1_000, 2_000).await.unwrap();
    assert!(is_condition_failed(
        &store.use_nonce("AK1", &long, 1_000, 2_000).await
    ));
}

pub async fn concurrent_nonce_uses_one_wins(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.use_nonce("AK1", "race", 1_000, 60_000).await })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::ConditionFailed) => {}
            Err(e) => panic!("a replay is refused, not failed: {e}"),
        }
    }
    assert_eq!(won, 1);
}

pub async fn access_key_debug_hides_the_secret(_store: Arc<dyn Store>) {
    let k = key("AK1", "acme");
    let printed = format!("{k:?}");
    assert!(!printed.contains("secret-of-AK1"), "{printed}");
    assert!(
        printed.contains("<redacted>") && printed.contains("AK1"),
        "{printed}"
    );
}
