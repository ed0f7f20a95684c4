//! PersistentVolume ↔ PersistentVolumeClaim matching (`pkg/controller/volume/persistentvolume`
//! `findMatchingVolume`), shared by the volume binder controller and the scheduler's
//! VolumeBinding plugin.

use serde_json::Value;

use super::quantity::parse_milli;
use crate::selectors::Selector;

/// `storageClassName` of a claim or a volume ("" when none).
pub fn class_name(obj: &Value) -> &str {
    obj["spec"]["storageClassName"].as_str().unwrap_or_default()
}

fn storage(v: &Value) -> i128 {
    v.as_str().and_then(parse_milli).unwrap_or(0)
}

/// The storage a volume has, in milli-bytes.
pub fn capacity(pv: &Value) -> i128 {
    storage(&pv["spec"]["capacity"]["storage"])
}

/// Whether `pv` is free for `pvc` (or already promised to it).
pub fn available_for(pv: &Value, pvc: &Value) -> bool {
    let claim_ref = &pv["spec"]["claimRef"];
    let meta = &pvc["metadata"];
    let free = claim_ref.is_null()
        || (claim_ref["name"] == meta["name"] && claim_ref["namespace"] == meta["namespace"]);
    let phase = pv["status"]["phase"].as_str().unwrap_or_default();
    free && phase != "Released" && phase != "Failed" && !crate::api::meta::is_being_deleted(pv)
}

/// Whether `pv` can satisfy `pvc`: same class, enough storage, every access mode, the same
/// volume mode, and the claim's selector.
pub fn satisfies(pv: &Value, pvc: &Value) -> bool {
    if class_name(pv) != class_name(pvc) {
        return false;
    }
    if capacity(pv) < storage(&pvc["spec"]["resources"]["requests"]["storage"]) {
        return false;
    }
    let modes = pv["spec"]["accessModes"].as_array();
    let wanted = pvc["spec"]["accessModes"].as_array().into_iter().flatten();
    if !wanted
        .into_iter()
        .all(|m| modes.is_some_and(|ms| ms.contains(m)))
    {
        return false;
    }
    let mode = |o: &Value| {
        o["spec"]["volumeMode"]
            .as_str()
            .unwrap_or("Filesystem")
            .to_string()
    };
    if mode(pv) != mode(pvc) {
        return false;
    }
    let selector = &pvc["spec"]["selector"];
    selector.is_null() || Selector::from_label_selector(selector).is_ok_and(|s| s.matches(pv))
}

/// `required.nodeSelectorTerms` of a volume's node affinity, if it has one.
pub fn node_terms(pv: &Value) -> Option<&Vec<Value>> {
    pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"].as_array()
}
