//! Tool name patterns of the `groups` and `scopes` tables: `[server:]glob`.

use std::fmt;

/// A pattern over tool (prompt, resource) names, optionally scoped to a server.
///
/// Syntax: `glob` or `server-glob:glob`. In a glob, `*` matches any run of
/// characters (also empty, also `/`), `?` matches exactly one character, and
/// everything else matches itself, case-sensitively. MCP tool names cannot
/// contain `:` (the spec allows `A-Z a-z 0-9 _ - . /`), so the first `:`
/// always separates the server part. Without a server part the pattern
/// matches on every server; with one, the request's server (`tool.server`,
/// empty when the request has none) must match it.
///
/// ```
/// use mcp_authz::Pattern;
/// let p = Pattern::parse("github:create_*").unwrap();
/// assert!(p.matches(Some("github"), "create_branch"));
/// assert!(!p.matches(Some("jira"), "create_issue"));
/// assert!(!p.matches(None, "create_branch"));
/// assert!(Pattern::parse("list_*").unwrap().matches(None, "list_repositories"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    server: Option<Glob>,
    name: Glob,
}

impl Pattern {
    /// Parses `[server:]glob`; `None` for an empty pattern or an empty name part.
    pub fn parse(source: &str) -> Option<Self> {
        let (server, name) = match source.split_once(':') {
            Some((server, name)) => (Some(Glob::new(server)), name),
            None => (None, source),
        };
        if name.is_empty() {
            return None;
        }
        Some(Self {
            source: source.to_owned(),
            server,
            name: Glob::new(name),
        })
    }

    /// Whether the pattern matches `name` on `server`.
    pub fn matches(&self, server: Option<&str>, name: &str) -> bool {
        if let Some(glob) = &self.server
            && !glob.matches(server.unwrap_or(""))
        {
            return false;
        }
        self.name.matches(name)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.source)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// A compiled glob: literal fast paths, else an iterative matcher.
#[derive(Clone, PartialEq, Eq)]
enum Glob {
    Any,
    Exact(String),
    Prefix(String),
    Suffix(String),
    General(Vec<char>),
}

impl Glob {
    fn new(src: &str) -> Self {
        let stars = src.matches('*').count();
        let has_q = src.contains('?');
        if src == "*" {
            Glob::Any
        } else if stars == 0 && !has_q {
            Glob::Exact(src.to_owned())
        } else if stars == 1 && !has_q && src.ends_with('*') {
            Glob::Prefix(src[..src.len() - 1].to_owned())
        } else if stars == 1 && !has_q && src.starts_with('*') {
            Glob::Suffix(src[1..].to_owned())
        } else {
            Glob::General(src.chars().collect())
        }
    }

    fn matches(&self, text: &str) -> bool {
        match self {
            Glob::Any => true,
            Glob::Exact(s) => s == text,
            Glob::Prefix(p) => text.starts_with(p.as_str()),
            Glob::Suffix(s) => text.ends_with(s.as_str()),
            Glob::General(p) => general_match(p, text),
        }
    }
}

/// Classic linear-time wildcard matching with backtracking to the last `*`.
fn general_match(pattern: &[char], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, server: Option<&str>, name: &str) -> bool {
        Pattern::parse(p).unwrap().matches(server, name)
    }

    #[test]
    fn globs() {
        assert!(m("*", None, ""));
        assert!(m("get_*", None, "get_"));
        assert!(!m("get_*", None, "xget_a"));
        assert!(m("*_issue", None, "create_issue"));
        assert!(m("*delete*", None, "bulk_delete_all"));
        assert!(!m("*delete*", None, "bulk_remove"));
        assert!(m("a?c", None, "abc"));
        assert!(!m("a?c", None, "ac"));
        assert!(m("a*b*c", None, "axxbyyc"));
        assert!(!m("a*b*c", None, "axxbyy"));
        assert!(m("créer_*", None, "créer_page"));
        assert!(m("?", None, "é"));
        assert!(!m("exact", None, "exact2"));
    }

    #[test]
    fn server_scoping() {
        assert!(m("github:*", Some("github"), "anything"));
        assert!(!m("github:*", None, "anything"));
        assert!(m("*:list_*", None, "list_x"));
        assert!(m(
            "git*:push_to_branch",
            Some("github-enterprise"),
            "push_to_branch"
        ));
        assert!(!m(
            "github:push_to_branch",
            Some("github"),
            "push_to_branch2"
        ));
    }

    #[test]
    fn rejects_empty() {
        assert!(Pattern::parse("").is_none());
        assert!(Pattern::parse("github:").is_none());
    }

    #[test]
    fn path_like_and_unicode_names_match_literally() {
        assert!(!m("list_*", None, "../list_x"));
        assert!(m("list_*", None, "list_../../etc/passwd"));
        // Cyrillic 'е' is not ASCII 'e'.
        assert!(!m("get_*", None, "gеt_secret"));
    }
}
