//! Configured users (Okta "people") who can sign in with the password grant.

use std::fmt;

use sha2::{Digest, Sha256};

/// A user of the simulated org: login, password, profile and group memberships.
///
/// ```
/// use okta_sim::SimUser;
/// let alice = SimUser::new("alice", "pw-alice")
///     .groups(["mcp-developers", "Everyone"])
///     .email("alice@example.com");
/// assert_eq!(alice.login(), "alice");
/// assert!(alice.user_id().starts_with("00u"));
/// ```
#[derive(Clone)]
pub struct SimUser {
    pub(crate) login: String,
    pub(crate) password: String,
    pub(crate) id: String,
    pub(crate) email: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) groups: Vec<String>,
}

impl SimUser {
    /// A user with this login and password, no groups, and an Okta-style user id
    /// (`00u…`, 20 characters) derived deterministically from the login.
    pub fn new(login: impl Into<String>, password: impl Into<String>) -> Self {
        let login = login.into();
        let id = derived_user_id(&login);
        Self {
            login,
            password: password.into(),
            id,
            email: None,
            name: None,
            groups: Vec::new(),
        }
    }

    /// Sets the user's group memberships (group names, as Okta puts them in `groups`).
    pub fn groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.groups = groups.into_iter().map(Into::into).collect();
        self
    }

    /// Overrides the Okta user id (the `uid` claim of access tokens, `sub` of ID tokens).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Sets the email address (default: the login if it contains `@`, else `{login}@example.com`).
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Sets the display name (the `name` claim of ID tokens; default: the login).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The login (Okta username); the `sub` claim of this user's access tokens.
    pub fn login(&self) -> &str {
        &self.login
    }

    /// The Okta user id (`uid` claim).
    pub fn user_id(&self) -> &str {
        &self.id
    }

    /// The user's email address (explicit or derived from the login).
    pub fn email_address(&self) -> String {
        match &self.email {
            Some(email) => email.clone(),
            None if self.login.contains('@') => self.login.clone(),
            None => format!("{}@example.com", self.login),
        }
    }

    /// The user's display name (explicit or the login).
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.login)
    }

    /// The user's group names.
    pub fn group_names(&self) -> &[String] {
        &self.groups
    }
}

impl fmt::Debug for SimUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimUser")
            .field("login", &self.login)
            .field("password", &"[redacted]")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("name", &self.name)
            .field("groups", &self.groups)
            .finish()
    }
}

/// `00u` + 17 lowercase alphanumerics from SHA-256(login): stable across runs, like an Okta id.
fn derived_user_id(login: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let digest = Sha256::digest(login.as_bytes());
    let mut id = String::with_capacity(20);
    id.push_str("00u");
    for byte in digest.iter().take(17) {
        let index = usize::from(*byte) % ALPHABET.len();
        id.push(char::from(ALPHABET[index]));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::SimUser;

    #[test]
    fn user_id_is_okta_shaped_and_stable() {
        let a = SimUser::new("alice", "x");
        assert_eq!(a.user_id().len(), 20);
        assert!(a.user_id().starts_with("00u"));
        assert_eq!(a.user_id(), SimUser::new("alice", "y").user_id());
        assert_ne!(a.user_id(), SimUser::new("bob", "x").user_id());
    }

    #[test]
    fn debug_redacts_password() {
        let text = format!("{:?}", SimUser::new("alice", "very-secret"));
        assert!(!text.contains("very-secret"));
    }

    #[test]
    fn email_defaults() {
        assert_eq!(
            SimUser::new("alice", "x").email_address(),
            "alice@example.com"
        );
        assert_eq!(SimUser::new("a@b.io", "x").email_address(), "a@b.io");
    }
}
