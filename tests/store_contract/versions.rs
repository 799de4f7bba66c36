//! Contract cases for versions and aliases.

use super::*;

use fnf_lambda::store::{AliasRecord, Route};

fn alias(flow: &str, name: &str, routes: &[(u64, u32)]) -> AliasRecord {
    AliasRecord {
        flow: flow.into(),
        name: name.into(),
        description: format!("alias {name}"),
        routes: routes
            .iter()
            .map(|&(version, weight)| Route { version, weight })
            .collect(),
        created_ms: 10,
        modified_ms: 10,
        revision: 1,
    }
}

async fn all_versions(store: &Arc<dyn Store>, flow: &str, limit: usize) -> (Vec<u64>, usize) {
    let (mut seen, mut pages, mut after) = (Vec::new(), 0, None);
    loop {
        let page = store.list_versions(flow, limit, after).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= limit);
        seen.extend(page.items.iter().map(|v| v.version));
        match page.next_after {
            Some(a) => after = Some(a.parse().unwrap()),
            None => return (seen, pages),
        }
    }
}

pub async fn concurrent_publishes_number_once(store: Arc<dyn Store>) {
    store.create_flow(&flow("pub")).await.unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.publish_version("pub", &format!("d{i}"), i).await })
        })
        .collect();
    let mut numbers = Vec::new();
    for t in tasks {
        let v = t.await.unwrap().unwrap().expect("the flow exists");
        assert_eq!(v.definition, common::CLOUDFLOW_SEED);
        assert_eq!(
            store.get_version("pub", v.version).await.unwrap(),
            Some(v.clone())
        );
        numbers.push(v.version);
    }
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=16).collect::<Vec<_>>(),
        "each number exactly once"
    );
    assert_eq!(
        store.publish_version("nope", "", 1).await.unwrap(),
        None,
        "no flow, no version"
    );
    assert_eq!(store.get_version("pub", 17).await.unwrap(), None);
}

pub async fn versions_freeze_the_definition(store: Arc<dyn Store>) {
    let f = flow("frozen");
    store.create_flow(&f).await.unwrap();
    let v1 = store
        .publish_version("frozen", "first", 5)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (v1.version, v1.description.as_str(), v1.created_ms),
        (1, "first", 5)
    );
    let updated = FlowRecord {
        definition: common::COUNTER_LOOP.into(),
        revision: 2,
        ..f.clone()
    };
    store.replace_flow(&updated, 1).await.unwrap();
    assert_eq!(store.get_flow("frozen").await.unwrap(), Some(updated));
    // Updating the flow keeps its version counter.
    let v2 = store
        .publish_version("frozen", "", 6)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.definition, common::COUNTER_LOOP);
    let v1_again = store.get_version("frozen", 1).await.unwrap().unwrap();
    assert_eq!(v1_again, v1, "a version never changes");
    assert_eq!(v1_again.definition, common::CLOUDFLOW_SEED);
    let flows = store.list_flows(10, None).await.unwrap();
    assert_eq!(flows.items.len(), 1, "versions are not flows");
}

pub async fn versions_list_in_pages_and_delete(store: Arc<dyn Store>) {
    for name in ["ver", "ver2", "ve"] {
        store.create_flow(&flow(name)).await.unwrap();
    }
    for _ in 0..7 {
        store.publish_version("ver", "", 1).await.unwrap().unwrap();
    }
    store.publish_version("ver2", "", 1).await.unwrap().unwrap();
    store.publish_version("ve", "", 1).await.unwrap().unwrap();
    assert_eq!(all_versions(&store, "ver", 3).await, ((1..=7).collect(), 3));
    assert_eq!(
        all_versions(&store, "ver", 7).await.1,
        1,
        "no token when nothing follows"
    );
    assert!(store.delete_version("ver", 3).await.unwrap());
    assert!(!store.delete_version("ver", 3).await.unwrap());
    assert!(store.delete_version("ver", 7).await.unwrap());
    assert_eq!(store.get_version("ver", 3).await.unwrap(), None);
    assert_eq!(all_versions(&store, "ver", 2).await.0, [1, 2, 4, 5, 6]);
    let next = store.publish_version("ver", "", 1).await.unwrap().unwrap();
    assert_eq!(
        next.version, 8,
        "a deleted number is never handed out again"
    );
    assert_eq!(all_versions(&store, "ver2", 10).await.0, [1]);
    assert_eq!(all_versions(&store, "none", 10).await, (vec![], 1));
}

pub async fn aliases_are_conditional_and_guard_versions(store: Arc<dyn Store>) {
    store.create_flow(&flow("al")).await.unwrap();
    for _ in 0..3 {
        store.publish_version("al", "", 1).await.unwrap().unwrap();
    }
    let prod = alias("al", "prod", &[(1, 100)]);
    store.create_alias(&prod).await.unwrap();
    assert_eq!(
        store.get_alias("al", "prod").await.unwrap(),
        Some(prod.clone())
    );
    let again = alias("al", "prod", &[(2, 100)]);
    assert!(matches!(
        store.create_alias(&again).await,
        Err(StoreError::ConditionFailed)
    ));
    assert_eq!(
        store.get_alias("al", "prod").await.unwrap(),
        Some(prod.clone())
    );
    let dangling = alias("al", "dangling", &[(1, 50), (9, 50)]);
    assert!(matches!(
        store.create_alias(&dangling).await,
        Err(StoreError::ConditionFailed)
    ));
    assert_eq!(store.get_alias("al", "dangling").await.unwrap(), None);

    // A routed version cannot be deleted.
    assert!(matches!(
        store.delete_version("al", 1).await,
        Err(StoreError::ConditionFailed)
    ));
    let split = AliasRecord {
        routes: vec![
            Route {
                version: 2,
                weight: 30,
            },
            Route {
                version: 3,
                weight: 70,
            },
        ],
        revision: 2,
        modified_ms: 20,
        ..prod.clone()
    };
    store.replace_alias(&split, 1).await.unwrap();
    let stale = AliasRecord {
        description: "stale".into(),
        revision: 2,
        ..prod.clone()
    };
    assert!(matches!(
        store.replace_alias(&stale, 1).await,
        Err(StoreError::ConditionFailed)
    ));
    let to_missing = AliasRecord {
        routes: vec![Route {
            version: 9,
            weight: 100,
        }],
        revision: 3,
        ..split.clone()
    };
    assert!(matches!(
        store.replace_alias(&to_missing, 2).await,
        Err(StoreError::ConditionFailed)
    ));
    assert!(matches!(
        store
            .replace_alias(&alias("al", "ghost", &[(1, 100)]), 0)
            .await,
        Err(StoreError::ConditionFailed)
    ));
    assert_eq!(
        store.get_alias("al", "ghost").await.unwrap(),
        None,
        "replace never creates"
    );
    assert_eq!(store.get_alias("al", "prod").await.unwrap(), Some(split));
    // Version 1 is free again; 2 and 3 are held.
    assert!(store.delete_version("al", 1).await.unwrap());
    for held in [2, 3] {
        assert!(matches!(
            store.delete_version("al", held).await,
            Err(StoreError::ConditionFailed)
        ));
    }
    assert!(store.delete_alias("al", "prod").await.unwrap());
    assert!(!store.delete_alias("al", "prod").await.unwrap());
    assert!(store.delete_version("al", 2).await.unwrap());
    assert!(store.delete_version("al", 3).await.unwrap());
}

pub async fn aliases_list_in_pages(store: Arc<dyn Store>) {
    for f in ["lst", "lst2"] {
        store.create_flow(&flow(f)).await.unwrap();
        store.publish_version(f, "", 1).await.unwrap().unwrap();
    }
    for name in ["e", "a", "d", "b", "c"] {
        store
            .create_alias(&alias("lst", name, &[(1, 100)]))
            .await
            .unwrap();
    }
    store
        .create_alias(&alias("lst2", "z", &[(1, 100)]))
        .await
        .unwrap();
    let (mut seen, mut pages, mut after) = (Vec::new(), 0, None::<String>);
    loop {
        let page = store
            .list_aliases("lst", 2, after.as_deref())
            .await
            .unwrap();
        pages += 1;
        seen.extend(page.items.iter().map(|a| a.name.clone()));
        match page.next_after {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    assert_eq!(
        (seen, pages),
        (
            vec!["a", "b", "c", "d", "e"]
                .into_iter()
                .map(String::from)
                .collect(),
            3
        )
    );
    let one = store.list_aliases("lst", 5, None).await.unwrap();
    assert_eq!((one.items.len(), one.next_after), (5, None));
    assert_eq!(one.items[0], alias("lst", "a", &[(1, 100)]));
}

pub async fn deleting_a_flow_deletes_its_versions_and_aliases(store: Arc<dyn Store>) {
    store.create_flow(&flow("gone")).await.unwrap();
    for _ in 0..3 {
        store.publish_version("gone", "", 1).await.unwrap().unwrap();
    }
    store
        .create_alias(&alias("gone", "live", &[(2, 100)]))
        .await
        .unwrap();
    assert!(store.delete_flow("gone").await.unwrap());
    store.create_flow(&flow("gone")).await.unwrap();
    assert_eq!(all_versions(&store, "gone", 10).await.0, Vec::<u64>::new());
    assert_eq!(store.get_alias("gone", "live").await.unwrap(), None);
    let v = store.publish_version("gone", "", 1).await.unwrap().unwrap();
    assert_eq!(
        v.version, 1,
        "a new flow of the same name starts again at 1"
    );
}
