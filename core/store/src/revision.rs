//! Revisions, as etcd's mvcc package names them.
//!
//! Every transaction that writes gets the next *main* revision; the writes inside one transaction
//! are told apart by a *sub* revision. A Kubernetes `resourceVersion` is the main revision of the
//! write that produced an object (its `mod_revision`).
//!
//! Worked example: an empty store is at revision 1 (as etcd starts). `put a` makes revision 2
//! (`Revision { main: 2, sub: 0 }`); a transaction that puts `b` and deletes `a` makes revision 3
//! with sub revisions 0 and 1. Key `a` then has `create_revision 2, mod_revision 3` in its
//! delete event.

/// A point in the store's history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revision {
    pub main: i64,
    pub sub: i64,
}

impl Revision {
    pub fn new(main: i64, sub: i64) -> Self {
        Revision { main, sub }
    }
}

impl std::fmt::Display for Revision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.main, self.sub)
    }
}
