//! The groups claim rule of an authorization server (Okta: Claims tab, value type "Groups").

use regex::Regex;

use crate::error::Error;

/// Which of a user's groups go into a token, and under which claim name.
///
/// Mirrors Okta's groups claim filter: "Starts with", "Equals", "Contains" and
/// "Matches regex" (the whole group name must match, as in Okta). Comparisons are
/// case-sensitive. A claim whose filter matches no group is left out of the token.
///
/// ```
/// use okta_sim::GroupsClaim;
/// let only_mcp = GroupsClaim::starts_with("mcp-");
/// let everything = GroupsClaim::regex(".*");
/// let renamed = GroupsClaim::equals("admins").claim_name("roles");
/// # let _ = (only_mcp, everything, renamed);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupsClaim {
    pub(crate) claim_name: String,
    pub(crate) filter: GroupsFilter,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GroupsFilter {
    StartsWith(String),
    Equals(String),
    Contains(String),
    Regex(String),
    Disabled,
}

impl GroupsClaim {
    /// Groups whose name starts with `prefix` (seed: "Starts with `mcp-`").
    pub fn starts_with(prefix: impl Into<String>) -> Self {
        Self::with(GroupsFilter::StartsWith(prefix.into()))
    }

    /// The group whose name is exactly `name`.
    pub fn equals(name: impl Into<String>) -> Self {
        Self::with(GroupsFilter::Equals(name.into()))
    }

    /// Groups whose name contains `fragment`.
    pub fn contains(fragment: impl Into<String>) -> Self {
        Self::with(GroupsFilter::Contains(fragment.into()))
    }

    /// Groups whose whole name matches the regular expression (Okta "Matches regex"; `.*`
    /// includes every group). An invalid pattern makes [`crate::OktaSimBuilder::start`] fail.
    pub fn regex(pattern: impl Into<String>) -> Self {
        Self::with(GroupsFilter::Regex(pattern.into()))
    }

    /// Every group (same as `regex(".*")`).
    pub fn all() -> Self {
        Self::regex(".*")
    }

    /// No groups claim at all (the claim is disabled).
    pub fn none() -> Self {
        Self::with(GroupsFilter::Disabled)
    }

    /// Renames the claim (default `groups`).
    pub fn claim_name(mut self, name: impl Into<String>) -> Self {
        self.claim_name = name.into();
        self
    }

    fn with(filter: GroupsFilter) -> Self {
        Self {
            claim_name: "groups".to_owned(),
            filter,
        }
    }

    pub(crate) fn compile(&self) -> Result<Option<CompiledGroupsClaim>, Error> {
        let matcher = match &self.filter {
            GroupsFilter::Disabled => return Ok(None),
            GroupsFilter::StartsWith(p) => Matcher::StartsWith(p.clone()),
            GroupsFilter::Equals(p) => Matcher::Equals(p.clone()),
            GroupsFilter::Contains(p) => Matcher::Contains(p.clone()),
            GroupsFilter::Regex(p) => {
                let anchored = format!("^(?:{p})$");
                let regex = Regex::new(&anchored).map_err(|e| {
                    Error::Config(format!("groups claim regex `{p}` does not compile: {e}"))
                })?;
                Matcher::Regex(regex)
            }
        };
        if self.claim_name.is_empty() {
            return Err(Error::Config(
                "groups claim name must not be empty".to_owned(),
            ));
        }
        Ok(Some(CompiledGroupsClaim {
            claim_name: self.claim_name.clone(),
            matcher,
        }))
    }
}

/// A groups claim rule ready to apply.
#[derive(Debug, Clone)]
pub(crate) struct CompiledGroupsClaim {
    pub(crate) claim_name: String,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    StartsWith(String),
    Equals(String),
    Contains(String),
    Regex(Regex),
}

impl CompiledGroupsClaim {
    /// The groups (in the user's order) that this rule lets into the token.
    pub(crate) fn filter(&self, groups: &[String]) -> Vec<String> {
        groups.iter().filter(|g| self.matches(g)).cloned().collect()
    }

    fn matches(&self, group: &str) -> bool {
        match &self.matcher {
            Matcher::StartsWith(p) => group.starts_with(p.as_str()),
            Matcher::Equals(p) => group == p,
            Matcher::Contains(p) => group.contains(p.as_str()),
            Matcher::Regex(r) => r.is_match(group),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::GroupsClaim;

    fn groups() -> Vec<String> {
        ["mcp-developers", "Everyone", "admins", "xmcp-other"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn starts_with_filters_by_prefix() {
        let claim = GroupsClaim::starts_with("mcp-").compile().unwrap().unwrap();
        assert_eq!(claim.filter(&groups()), vec!["mcp-developers"]);
    }

    #[test]
    fn regex_must_match_whole_name() {
        let claim = GroupsClaim::regex("mcp-.*").compile().unwrap().unwrap();
        assert_eq!(claim.filter(&groups()), vec!["mcp-developers"]);
        let all = GroupsClaim::regex(".*").compile().unwrap().unwrap();
        assert_eq!(all.filter(&groups()).len(), 4);
        let literal = GroupsClaim::starts_with(".*").compile().unwrap().unwrap();
        assert!(
            literal.filter(&groups()).is_empty(),
            "the seed's gotcha: literal prefix"
        );
    }

    #[test]
    fn equals_contains_and_none() {
        let eq = GroupsClaim::equals("admins").compile().unwrap().unwrap();
        assert_eq!(eq.filter(&groups()), vec!["admins"]);
        let contains = GroupsClaim::contains("mcp").compile().unwrap().unwrap();
        assert_eq!(contains.filter(&groups()).len(), 2);
        assert!(GroupsClaim::none().compile().unwrap().is_none());
    }

    #[test]
    fn bad_regex_is_a_config_error() {
        let err = GroupsClaim::regex("(").compile().unwrap_err();
        assert!(err.to_string().contains("does not compile"), "{err}");
    }
}
