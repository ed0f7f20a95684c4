//! Sorting and map building compiled once for every caller.
//!
//! std's stable sort is compiled anew for each element type and comparison (a few KB of wasm
//! each), and collecting into a `BTreeMap` sorts too; the page ships every copy. Here every
//! caller sorts a list of indices with the one compiled sort and then moves its elements into
//! that order. Stable, as std's: equal elements keep their order, so traces do not change.

use std::cmp::Ordering;
use std::collections::BTreeMap;

/// `v.sort_by(cmp)`, stable.
pub fn sort_by<T>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    let mut order: Vec<usize> = (0..v.len()).collect();
    {
        let items: &[T] = v;
        sort_indices(&mut order, &mut |a, b| cmp(&items[a], &items[b]));
    }
    permute(v, order);
}

/// `v.sort_by_key(key)`, stable.
pub fn sort_by_key<T, K: Ord>(v: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(v, |a, b| key(a).cmp(&key(b)));
}

/// `v.sort()`, stable.
pub fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, T::cmp);
}

/// A map from pairs, later pairs winning (as `collect()` does), without sorting first.
pub fn map_from<K: Ord, V>(pairs: impl IntoIterator<Item = (K, V)>) -> BTreeMap<K, V> {
    let mut map = BTreeMap::new();
    for (k, v) in pairs {
        map.insert(k, v);
    }
    map
}

#[inline(never)]
fn sort_indices(order: &mut [usize], cmp: &mut dyn FnMut(usize, usize) -> Ordering) {
    order.sort_by(|&a, &b| cmp(a, b));
}

/// Moves `v[order[i]]` to position `i`, following each cycle of the permutation once.
fn permute<T>(v: &mut [T], mut order: Vec<usize>) {
    for start in 0..order.len() {
        let mut dest = start;
        while order[dest] != usize::MAX {
            let src = order[dest];
            order[dest] = usize::MAX;
            if src == start {
                break;
            }
            v.swap(dest, src);
            dest = src;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_as_std_does_stably() {
        let mut rng = crate::rng::Rng::new(7);
        for len in [0, 1, 2, 3, 10, 100, 1000] {
            let v: Vec<(u64, usize)> = (0..len).map(|i| (rng.next_u64() % 10, i)).collect();
            let mut ours = v.clone();
            let mut theirs = v.clone();
            sort_by_key(&mut ours, |p| p.0);
            theirs.sort_by_key(|p| p.0);
            assert_eq!(ours, theirs);
            sort_by(&mut ours, |a, b| b.cmp(a));
            theirs.sort_by(|a, b| b.cmp(a));
            assert_eq!(ours, theirs);
        }
        let mut words = vec!["b", "a", "c", "a"];
        sort(&mut words);
        assert_eq!(words, ["a", "a", "b", "c"]);
        let m = map_from([("b", 1), ("a", 2), ("b", 3)]);
        assert_eq!(m.into_iter().collect::<Vec<_>>(), [("a", 2), ("b", 3)]);
    }
}
