//! The `Authorizer`: a compiled policy behind an atomic pointer, with reload.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;

use crate::cel::Memo;
use crate::engine::{CompiledPolicy, Decision};
use crate::error::AuthzError;
use crate::identity::Identity;
use crate::items::ListItem;
use crate::policy::Policy;
use crate::request::{PROMPTS_GET, RESOURCES_READ, Request, TOOLS_CALL};

/// Decides MCP requests against a policy; cheap to clone and share.
///
/// The policy is compiled once at load. [`Authorizer::reload`] (and the
/// optional SIGHUP and file-watch tasks) swap in a new policy atomically;
/// a policy that fails to load leaves the current one in force.
///
/// ```
/// use mcp_authz::{Authorizer, Identity, Policy, Request};
///
/// let policy = Policy::from_yaml(r#"
/// rules:
///   - name: read
///     allow: "claims.scp.exists(s, s == 'mcp:read') && tool.name.startsWith('list_')"
///   - name: no-delete
///     deny: "tool.name.contains('delete')"
///     description: Destructive operations are always blocked
/// "#).unwrap();
/// let authz = Authorizer::new(policy).unwrap();
/// let id = Identity::new("agent", ["mcp:read"], Vec::<String>::new());
///
/// assert!(authz.decide(&id, &Request::call_tool("list_channels")).allowed);
/// let d = authz.decide(&id, &Request::call_tool("list_deleted"));
/// assert!(!d.allowed);
/// assert_eq!(d.rule.as_deref(), Some("no-delete"));
/// ```
#[derive(Clone)]
pub struct Authorizer {
    inner: Arc<Inner>,
}

struct Inner {
    policy: ArcSwap<CompiledPolicy>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Authorizer {
    /// Compiles `policy`.
    pub fn new(policy: Policy) -> Result<Self, AuthzError> {
        Self::build(&policy, None)
    }

    /// Loads and compiles a policy file (`.json` as JSON, else YAML); remembers
    /// the path for [`Authorizer::reload`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, AuthzError> {
        let path = path.as_ref().to_owned();
        let policy = Policy::from_file(&path)?;
        Self::build(&policy, Some(path))
    }

    fn build(policy: &Policy, path: Option<PathBuf>) -> Result<Self, AuthzError> {
        let compiled = CompiledPolicy::compile(policy)?;
        Ok(Self {
            inner: Arc::new(Inner {
                policy: ArcSwap::from_pointee(compiled),
                path,
            }),
        })
    }

    /// Decides one request.
    pub fn decide(&self, identity: &Identity, request: &Request<'_>) -> Decision {
        self.inner.policy.load().decide(identity, request)
    }

    /// Whether the layer decides requests with this method: `tools/call`,
    /// `prompts/get`, `resources/read`, and any method a rule names in `methods`.
    pub fn governs(&self, method: &str) -> bool {
        self.inner.policy.load().governs(method)
    }

    /// Keeps the items the caller may use with `method` (on `server`, if given).
    ///
    /// An item is kept when a request for it without arguments would be
    /// allowed; rules that read `tool.arguments` cannot hide an item (they are
    /// enforced at call time). Items without a name are dropped.
    pub fn filter<T: ListItem>(
        &self,
        identity: &Identity,
        method: &str,
        server: Option<&str>,
        items: Vec<T>,
    ) -> Vec<T> {
        let mut list = self.list_filter(identity);
        items
            .into_iter()
            .filter(|item| {
                item.authz_name().is_some_and(|name| {
                    let mut req = Request::new(method, name);
                    req.server = server;
                    list.visible(&req)
                })
            })
            .collect()
    }

    /// A filter for one list of one caller: pins the current policy and
    /// remembers the parts of rules that depend on the caller only.
    pub(crate) fn list_filter<'i>(&self, identity: &'i Identity) -> ListFilter<'i> {
        let policy = self.inner.policy.load_full();
        let memo = policy.new_memo();
        ListFilter {
            policy,
            identity,
            memo,
        }
    }

    /// Keeps the tools the caller may call.
    pub fn filter_tools<T: ListItem>(&self, identity: &Identity, tools: Vec<T>) -> Vec<T> {
        self.filter(identity, TOOLS_CALL, None, tools)
    }

    /// Keeps the prompts the caller may get.
    pub fn filter_prompts<T: ListItem>(&self, identity: &Identity, prompts: Vec<T>) -> Vec<T> {
        self.filter(identity, PROMPTS_GET, None, prompts)
    }

    /// Keeps the resources the caller may read (matched by URI).
    pub fn filter_resources<T: ListItem>(&self, identity: &Identity, resources: Vec<T>) -> Vec<T> {
        self.filter(identity, RESOURCES_READ, None, resources)
    }

    /// Replaces the policy; on error the current policy stays.
    pub fn replace(&self, policy: &Policy) -> Result<(), AuthzError> {
        let compiled = CompiledPolicy::compile(policy)?;
        self.inner.policy.store(Arc::new(compiled));
        Ok(())
    }

    /// Re-reads the policy file; on error the current policy stays and the error is returned.
    pub fn reload(&self) -> Result<(), AuthzError> {
        let path = self.inner.path.as_ref().ok_or(AuthzError::NoPolicyFile)?;
        let policy = Policy::from_file(path)?;
        self.replace(&policy)?;
        tracing::info!(path = %path.display(), "authorization policy reloaded");
        Ok(())
    }

    fn reload_logged(&self) {
        if let Err(e) = self.reload() {
            tracing::error!(error = %e, "policy reload failed; keeping the current policy");
        }
    }

    /// Reloads the policy file whenever the process receives SIGHUP (Unix).
    /// Must be called inside a tokio runtime; abort the handle to stop.
    #[cfg(unix)]
    pub fn spawn_reload_on_sighup(&self) -> std::io::Result<tokio::task::JoinHandle<()>> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup = signal(SignalKind::hangup())?;
        let this = self.clone();
        Ok(tokio::spawn(async move {
            while hup.recv().await.is_some() {
                this.reload_logged();
            }
        }))
    }

    /// Polls the policy file every `interval` and reloads it when its
    /// modification time or size changes. Must be called inside a tokio
    /// runtime; abort the handle to stop.
    pub fn spawn_file_watch(
        &self,
        interval: Duration,
    ) -> Result<tokio::task::JoinHandle<()>, AuthzError> {
        let path = self.inner.path.clone().ok_or(AuthzError::NoPolicyFile)?;
        let this = self.clone();
        Ok(tokio::spawn(async move {
            let stamp = |p: &Path| -> Option<(SystemTime, u64)> {
                let m = std::fs::metadata(p).ok()?;
                Some((m.modified().ok()?, m.len()))
            };
            let mut last = stamp(&path);
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let now = stamp(&path);
                if now.is_some() && now != last {
                    last = now;
                    this.reload_logged();
                }
            }
        }))
    }
}

/// Decides the items of one list for one caller (see [`Authorizer::filter`]).
pub(crate) struct ListFilter<'i> {
    policy: Arc<CompiledPolicy>,
    identity: &'i Identity,
    memo: Memo,
}

impl ListFilter<'_> {
    pub(crate) fn visible(&mut self, request: &Request<'_>) -> bool {
        self.policy.visible(self.identity, request, &mut self.memo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reload_keeps_old_policy_on_error() {
        let dir = std::env::temp_dir().join(format!("mcp-authz-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("policy.yaml");
        std::fs::write(&path, "rules:\n  - allow: \"tool.name == 'a'\"\n").unwrap();
        let authz = Authorizer::from_file(&path).unwrap();
        let id = Identity::new("s", Vec::<String>::new(), Vec::<String>::new());
        assert!(authz.decide(&id, &Request::call_tool("a")).allowed);

        std::fs::write(&path, "rules:\n  - allow: \"tool.name ==\"\n").unwrap();
        let err = authz.reload().unwrap_err();
        assert!(matches!(err, AuthzError::RuleSyntax { .. }), "{err}");
        assert!(
            authz.decide(&id, &Request::call_tool("a")).allowed,
            "old policy kept"
        );

        std::fs::write(&path, "rules:\n  - allow: \"tool.name == 'b'\"\n").unwrap();
        authz.reload().unwrap();
        assert!(!authz.decide(&id, &Request::call_tool("a")).allowed);
        assert!(authz.decide(&id, &Request::call_tool("b")).allowed);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reload_without_file_is_an_error() {
        let authz = Authorizer::new(Policy::default()).unwrap();
        assert!(matches!(authz.reload(), Err(AuthzError::NoPolicyFile)));
    }

    #[tokio::test]
    async fn file_watch_picks_up_changes() {
        let dir = std::env::temp_dir().join(format!("mcp-authz-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("policy.yaml");
        std::fs::write(&path, "default: deny\n").unwrap();
        let authz = Authorizer::from_file(&path).unwrap();
        let task = authz.spawn_file_watch(Duration::from_millis(20)).unwrap();
        let id = Identity::new("s", Vec::<String>::new(), Vec::<String>::new());
        tokio::time::sleep(Duration::from_millis(50)).await;
        std::fs::write(&path, "default: allow\n# changed size\n").unwrap();
        let mut ok = false;
        for _ in 0..200 {
            if authz.decide(&id, &Request::call_tool("x")).allowed {
                ok = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        task.abort();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(ok, "the watcher reloaded the changed file");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn sighup_reloads() {
        let dir = std::env::temp_dir().join(format!("mcp-authz-hup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("policy.json");
        std::fs::write(&path, r#"{"default": "deny"}"#).unwrap();
        let authz = Authorizer::from_file(&path).unwrap();
        let task = authz.spawn_reload_on_sighup().unwrap();
        std::fs::write(&path, r#"{"default": "allow"}"#).unwrap();
        let status = std::process::Command::new("kill")
            .args(["-HUP", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let id = Identity::new("s", Vec::<String>::new(), Vec::<String>::new());
        let mut ok = false;
        for _ in 0..300 {
            if authz.decide(&id, &Request::call_tool("x")).allowed {
                ok = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        task.abort();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(ok, "SIGHUP reloaded the policy");
    }
}
