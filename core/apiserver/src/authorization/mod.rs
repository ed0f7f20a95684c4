//! Authorization: may this user do this (`k8s.io/apiserver/pkg/authorization`).
//!
//! The one authorizer is RBAC ([`rbac`]); the rules it needs at start come from
//! [`bootstrap`], as `plugin/pkg/auth/authorizer/rbac/bootstrappolicy` provides upstream.

pub mod bootstrap;
pub mod rbac;

/// The attributes of a request that authorization decides on (`authorizer.Attributes`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attributes {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    /// Set for non-resource requests (`/api`, `/openapi/v3`).
    pub path: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed, and by which binding and role (for the request inspector).
    Allow {
        reason: String,
    },
    Deny,
}
