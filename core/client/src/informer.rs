//! Informers (client-go's `SharedInformer`, one per component and resource): the component's
//! cache of one resource, kept from a watch. A component reads its cache, never the store, so
//! what it knows lags the store by the watch's delivery — as in Kubernetes.

use std::collections::BTreeMap;
use std::sync::Arc;

use apiserver::watch::{EventType, WatchEvent};
use serde_json::Value;

/// What changed in the cache. The objects are the watch event's, shared with every other
/// informer the event went to.
#[derive(Clone, Debug, PartialEq)]
pub enum InformerEvent {
    Added(Arc<Value>),
    Updated { old: Arc<Value>, new: Arc<Value> },
    Deleted(Arc<Value>),
}

impl InformerEvent {
    /// The object as it is now (or was, when deleted).
    pub fn object(&self) -> &Value {
        match self {
            InformerEvent::Added(o) | InformerEvent::Deleted(o) => o,
            InformerEvent::Updated { new, .. } => new,
        }
    }
}

/// Objects by `namespace/name` (or `name` for cluster-scoped ones).
#[derive(Clone, Debug, Default)]
pub struct Informer {
    objects: BTreeMap<String, Arc<Value>>,
}

pub fn key_of(obj: &Value) -> String {
    let ns = apimachinery::api::meta::namespace(obj);
    let name = apimachinery::api::meta::name(obj);
    if ns.is_empty() {
        name.to_string()
    } else {
        format!("{ns}/{name}")
    }
}

impl Informer {
    /// Applies one watch event to the cache.
    pub fn apply(&mut self, event: &WatchEvent) -> Option<InformerEvent> {
        let obj = Arc::clone(&event.object);
        let key = key_of(&obj);
        match event.kind {
            EventType::Added | EventType::Modified => {
                match self.objects.insert(key, Arc::clone(&obj)) {
                    Some(old) => Some(InformerEvent::Updated { old, new: obj }),
                    None => Some(InformerEvent::Added(obj)),
                }
            }
            EventType::Deleted => {
                self.objects.remove(&key);
                Some(InformerEvent::Deleted(obj))
            }
            EventType::Bookmark | EventType::Error => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.objects.get(key).map(|o| &**o)
    }

    /// Objects in `namespace`, in key order.
    pub fn in_namespace<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        let prefix = format!("{namespace}/");
        self.objects
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .map(|(_, v)| &**v)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Value> {
        self.objects.values().map(|v| &**v)
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}
