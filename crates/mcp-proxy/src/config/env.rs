//! `${VAR}` interpolation of config string values.
//!
//! Interpolation runs on the parsed values (never on the YAML text), so an
//! environment value cannot change the structure of the file, and comments
//! are never interpolated. Forms: `${VAR}` (error when unset), `${VAR:-default}`
//! (default when unset or empty) and `$${` for a literal `${`.

/// Looks variables up; the process environment in production, a map in tests.
pub(crate) trait Lookup {
    /// The value of `name`, if set.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub(crate) struct ProcessEnv;

impl Lookup for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<F: Fn(&str) -> Option<String>> Lookup for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// Expands `${…}` references in `value`; the error says which variable and why.
pub(crate) fn expand(value: &str, env: &dyn Lookup) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(escaped) = after.strip_prefix("${") {
            out.push_str("${");
            rest = escaped;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| "unterminated `${` (write `$${` for a literal)".to_owned())?;
            let expr = &body[..end];
            let (name, default) = match expr.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (expr, None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("`${{{expr}}}` is not a valid variable reference"));
            }
            match (
                env.get(name).filter(|v| !v.is_empty() || default.is_none()),
                default,
            ) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => {
                    return Err(format!(
                        "environment variable `{name}` is not set (export it, or write `${{{name}:-default}}`)"
                    ));
                }
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::expand;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_set_variables_and_defaults() {
        assert_eq!(expand("Bearer ${TOKEN}", &env).unwrap(), "Bearer s3cret");
        assert_eq!(expand("${NOPE:-x}/${EMPTY:-y}", &env).unwrap(), "x/y");
        assert_eq!(
            expand("$${TOKEN} costs $5", &env).unwrap(),
            "${TOKEN} costs $5"
        );
        assert_eq!(expand("${EMPTY}", &env).unwrap(), "");
    }

    #[test]
    fn missing_and_malformed_references_are_errors() {
        assert!(
            expand("${NOPE}", &env)
                .unwrap_err()
                .contains("`NOPE` is not set")
        );
        assert!(
            expand("${TOKEN", &env)
                .unwrap_err()
                .contains("unterminated")
        );
        assert!(expand("${A B}", &env).unwrap_err().contains("not a valid"));
    }
}
