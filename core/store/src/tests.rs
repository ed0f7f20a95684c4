//! Unit tests and the model-based test: random operations applied to the store and to a naive
//! model (a `BTreeMap` plus the full event log), compared after every step — watches included.

use std::collections::BTreeMap;

use super::*;
use apimachinery::rng::Rng;

fn v(s: &str) -> Arc<[u8]> {
    Arc::from(s.as_bytes())
}

#[test]
fn revisions_follow_etcd() {
    let mut s = Store::new();
    assert_eq!(s.revision(), 1);
    let a = s.put("/a", v("1"));
    assert_eq!((a.create_revision, a.mod_revision, a.version), (2, 2, 1));
    let a = s.put("/a", v("2"));
    assert_eq!((a.create_revision, a.mod_revision, a.version), (2, 3, 2));
    assert!(s.delete("/a").is_some());
    assert!(
        s.delete("/a").is_none(),
        "deleting a missing key writes nothing"
    );
    assert_eq!(s.revision(), 4);
    let a = s.put("/a", v("3"));
    assert_eq!((a.create_revision, a.mod_revision, a.version), (5, 5, 1));
}

#[test]
fn txn_compares_mod_revision() {
    let mut s = Store::new();
    let kv = s.put("/k", v("x"));
    let stale = Txn {
        compares: vec![Compare::mod_revision("/k", kv.mod_revision - 1)],
        success: vec![Op::Put {
            key: "/k".into(),
            value: v("y"),
        }],
        failure: vec![Op::Get { key: "/k".into() }],
    };
    let r = s.txn(stale);
    assert!(!r.succeeded);
    assert_eq!(
        r.revision, kv.mod_revision,
        "a failed compare writes nothing"
    );
    let fresh = Txn {
        compares: vec![Compare::mod_revision("/k", kv.mod_revision)],
        success: vec![
            Op::Put {
                key: "/k".into(),
                value: v("y"),
            },
            Op::Delete { key: "/k2".into() },
        ],
        failure: vec![],
    };
    assert!(s.txn(fresh).succeeded);
    assert_eq!(&*s.get("/k").unwrap().value, b"y");
}

#[test]
fn range_with_limit_and_continue() {
    let mut s = Store::new();
    for k in ["/p/a", "/p/b", "/p/c", "/q/a"] {
        s.put(k, v(k));
    }
    let r = s.range("/p/", None, 2);
    assert_eq!(
        r.kvs.iter().map(|k| &*k.key).collect::<Vec<_>>(),
        ["/p/a", "/p/b"]
    );
    assert!(r.more);
    let r = s.range("/p/", Some("/p/b"), 2);
    assert_eq!(r.kvs.iter().map(|k| &*k.key).collect::<Vec<_>>(), ["/p/c"]);
    assert!(!r.more);
    assert_eq!(s.count("/p/"), 3);
}

#[test]
fn watch_past_compaction_fails() {
    let mut s = Store::new();
    for i in 0..8 {
        s.put("/a/x", v(&i.to_string()));
    }
    assert_eq!(s.revision(), 9);
    s.compact(6).unwrap();
    let w = s.watch("/a/", true, 6).unwrap();
    let revs: Vec<i64> = s
        .take_events(w)
        .unwrap()
        .iter()
        .map(|e| e.revision.main)
        .collect();
    assert_eq!(revs, [6, 7, 8, 9]);
    assert_eq!(
        s.watch("/a/", true, 5),
        Err(StoreError::Compacted {
            requested: 5,
            compacted: 6
        })
    );
    assert_eq!(
        s.compact(3),
        Err(StoreError::Compacted {
            requested: 3,
            compacted: 6
        })
    );
    assert_eq!(
        s.compact(99),
        Err(StoreError::FutureRevision {
            requested: 99,
            current: 9
        })
    );
    assert_eq!(
        s.watch("/a", true, 0),
        Err(StoreError::InvalidWatchKey("/a".into()))
    );
}

#[test]
fn automatic_compaction_keeps_the_limit() {
    let mut s = Store::with_history_limit(3);
    for i in 0..10 {
        s.put("/a", v(&i.to_string()));
    }
    assert_eq!(s.compact_revision(), 9);
    assert!(s.watch("/a", false, 9).is_ok());
    assert!(s.watch("/a", false, 8).is_err());
}

/// The naive model: current values and the full log of (revision, key, value or delete).
#[derive(Default)]
struct Model {
    rev: i64,
    compacted: i64,
    kvs: BTreeMap<String, (String, i64, i64, i64)>,
    log: Vec<(i64, String, Option<String>)>,
}

struct ModelWatch {
    id: WatchId,
    key: String,
    prefix: bool,
    next_log_index: usize,
}

impl Model {
    fn write(&mut self, writes: &[(String, Option<String>)]) {
        let main = self.rev + 1;
        let mut wrote = false;
        for (k, val) in writes {
            match val {
                Some(val) => {
                    let (create, version) = match self.kvs.get(k) {
                        Some(&(_, c, _, ver)) => (c, ver + 1),
                        None => (main, 1),
                    };
                    self.kvs
                        .insert(k.clone(), (val.clone(), create, main, version));
                    self.log.push((main, k.clone(), Some(val.clone())));
                    wrote = true;
                }
                None => {
                    if self.kvs.remove(k).is_some() {
                        self.log.push((main, k.clone(), None));
                        wrote = true;
                    }
                }
            }
        }
        if wrote {
            self.rev = main;
        }
    }
}

const KEYS: [&str; 6] = ["/r/a/1", "/r/a/2", "/r/b/1", "/r/b/2", "/s/1", "/r/a/10"];
const PREFIXES: [&str; 4] = ["/", "/r/", "/r/a/", "/s/"];

fn check_seed(seed: u64) {
    let mut rng = Rng::new(seed);
    let mut store = Store::with_history_limit(1 + rng.below(40) as usize);
    let mut model = Model {
        rev: 1,
        ..Model::default()
    };
    let mut watches: Vec<ModelWatch> = Vec::new();
    for step in 0..300 {
        let ctx = format!("seed {seed} step {step}");
        let key = KEYS[rng.below(KEYS.len() as u64) as usize].to_string();
        match rng.below(8) {
            0..=2 => {
                let val = format!("v{step}");
                store.put(&key, v(&val));
                model.write(&[(key, Some(val))]);
            }
            3 => {
                store.delete(&key);
                model.write(&[(key, None)]);
            }
            4 => {
                // A compare-and-swap with a right or a stale expected revision.
                let actual = model.kvs.get(&key).map_or(0, |e| e.2);
                let expected = if rng.chance(50) { actual } else { actual + 1 };
                let key2 = KEYS[rng.below(KEYS.len() as u64) as usize].to_string();
                let r = store.txn(Txn {
                    compares: vec![Compare::mod_revision(&key, expected)],
                    success: vec![
                        Op::Put {
                            key: key.clone(),
                            value: v("t"),
                        },
                        Op::Delete { key: key2.clone() },
                    ],
                    failure: vec![],
                });
                assert_eq!(r.succeeded, expected == actual, "{ctx}");
                if r.succeeded {
                    model.write(&[(key, Some("t".into())), (key2, None)]);
                }
            }
            5 => {
                let target = model.compacted.max(1) + rng.below(5) as i64;
                let before = store.compact_revision();
                let r = store.compact(target);
                if target > model.rev {
                    assert!(matches!(r, Err(StoreError::FutureRevision { .. })), "{ctx}");
                } else if target <= before {
                    assert!(matches!(r, Err(StoreError::Compacted { .. })), "{ctx}");
                } else {
                    assert_eq!(r, Ok(()), "{ctx}");
                }
            }
            6 => {
                let prefix = rng.chance(70);
                let wkey = if prefix {
                    PREFIXES[rng.below(PREFIXES.len() as u64) as usize].to_string()
                } else {
                    key
                };
                let start = (model.rev - 6 + rng.below(8) as i64).max(1);
                match store.watch(&wkey, prefix, start) {
                    Ok(id) => {
                        assert!(start >= store.compact_revision(), "{ctx}");
                        let next_log_index = model.log.partition_point(|e| e.0 < start);
                        watches.push(ModelWatch {
                            id,
                            key: wkey,
                            prefix,
                            next_log_index,
                        });
                    }
                    Err(StoreError::Compacted { .. }) => {
                        assert!(start < store.compact_revision(), "{ctx}")
                    }
                    Err(e) => panic!("{ctx}: {e}"),
                }
            }
            _ => poll_a_watch(&mut store, &model, &mut watches, &mut rng, &ctx),
        }
        model.compacted = store.compact_revision();
        // The live state always equals the model's.
        assert_state_matches(&store, &model, &ctx);
    }
}

/// Takes one watch's events (or cancels it) and checks them against the model's log.
fn poll_a_watch(
    store: &mut Store,
    model: &Model,
    watches: &mut Vec<ModelWatch>,
    rng: &mut Rng,
    ctx: &str,
) {
    if !watches.is_empty() {
        let i = rng.below(watches.len() as u64) as usize;
        if rng.chance(15) {
            let w = watches.remove(i);
            assert!(store.cancel_watch(w.id), "{ctx}");
            assert!(store.take_events(w.id).is_err(), "{ctx}");
            return;
        }
        let w = &mut watches[i];
        let got: Vec<(i64, String, Option<String>)> = store
            .take_events(w.id)
            .unwrap()
            .into_iter()
            .map(|e| {
                let val = match e.kind {
                    EventType::Put => Some(String::from_utf8(e.kv.value.to_vec()).unwrap()),
                    EventType::Delete => None,
                };
                (e.revision.main, e.kv.key.to_string(), val)
            })
            .collect();
        let want: Vec<_> = model.log[w.next_log_index..]
            .iter()
            .filter(|e| covers(&w.key, w.prefix, &e.1))
            .cloned()
            .collect();
        assert_eq!(got, want, "{ctx}: watch on {} (prefix {})", w.key, w.prefix);
        w.next_log_index = model.log.len();
    }
}

/// The store's revision and live keys equal the model's.
fn assert_state_matches(store: &Store, model: &Model, ctx: &str) {
    assert_eq!(store.revision(), model.rev, "{ctx}");
    let all = store.range("/", None, 0);
    let got: Vec<_> = all
        .kvs
        .iter()
        .map(|kv| {
            let val = String::from_utf8(kv.value.to_vec()).unwrap();
            (
                kv.key.to_string(),
                (val, kv.create_revision, kv.mod_revision, kv.version),
            )
        })
        .collect();
    let want: Vec<_> = model
        .kvs
        .iter()
        .map(|(k, e)| (k.clone(), e.clone()))
        .collect();
    assert_eq!(got, want, "{ctx}");
}

#[test]
fn model_based_random_operations() {
    for seed in 0..200 {
        check_seed(seed);
    }
}
