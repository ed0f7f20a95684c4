//! Authentication: who is asking (`k8s.io/apiserver/pkg/authentication`).
//!
//! Bearer tokens map to a user, a UID and groups, as a static token file does upstream. Every
//! authenticated user also gets `system:authenticated`. A request without a known token is
//! anonymous, and anonymous requests are rejected with 401 — the playground runs with
//! `--anonymous-auth=false`.

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    /// What the authenticator adds about the user (`user.Info.GetExtra`): scopes, the
    /// credential's id… by key, in order.
    pub extra: Vec<(String, Vec<String>)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenEntry {
    pub token: String,
    pub user: UserInfo,
}

#[derive(Clone, Debug, Default)]
pub struct TokenAuthenticator {
    tokens: Vec<TokenEntry>,
}

impl TokenAuthenticator {
    pub fn new(tokens: Vec<TokenEntry>) -> Self {
        TokenAuthenticator { tokens }
    }

    pub fn add(&mut self, token: &str, name: &str, groups: &[&str]) {
        self.tokens.retain(|t| t.token != token);
        self.tokens.push(TokenEntry {
            token: token.to_string(),
            user: UserInfo {
                name: name.to_string(),
                uid: name.to_string(),
                groups: groups.iter().map(|g| g.to_string()).collect(),
                extra: Vec::new(),
            },
        });
    }

    /// The user behind an `Authorization` header, if any.
    pub fn authenticate(&self, authorization: Option<&str>) -> Option<UserInfo> {
        let token = authorization?.strip_prefix("Bearer ")?.trim();
        let entry = self.tokens.iter().find(|t| t.token == token)?;
        let mut user = entry.user.clone();
        if !user.groups.iter().any(|g| g == "system:authenticated") {
            user.groups.push("system:authenticated".into());
        }
        Some(user)
    }
}
