//! Finds the line of a field in YAML source text, for errors found after
//! parsing (validation, `check`, policy compilation).
//!
//! The field is named by the path the errors print (`backends[2].http.url`,
//! `auth.audiences[0]`, `groups."Sales".deny[1]`). The text is walked with the
//! same YAML parser that read the config: a `DeserializeSeed` descends along
//! the path, skipping everything else, and fails on purpose when it reaches
//! the field (on the key of a mapping entry, on the item of a sequence). The
//! parser stamps that failure with the position of the node it was reading,
//! which is the answer. So flow mappings (`{name: a, http: {url: …}}`),
//! quoting, comments and multi-line values need no second parser.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The marker error that carries the position out of the parser.
const FOUND: &str = "\u{0}mcp-proxy: field found";

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Splits `a.b[2]."c d".e` into segments; `None` when the text is not a path.
fn segments(path: &str) -> Option<Vec<Segment>> {
    let mut out = Vec::new();
    let mut chars = path.chars().peekable();
    let mut expect_key = true;
    while let Some(&c) = chars.peek() {
        match c {
            '.' if !expect_key => {
                chars.next();
                expect_key = true;
            }
            '[' => {
                chars.next();
                let mut digits = String::new();
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                    digits.push(c);
                }
                out.push(Segment::Index(digits.parse().ok()?));
                expect_key = false;
            }
            '"' if expect_key => {
                chars.next();
                let mut key = String::new();
                for c in chars.by_ref() {
                    if c == '"' {
                        break;
                    }
                    key.push(c);
                }
                out.push(Segment::Key(key));
                expect_key = false;
            }
            _ if expect_key => {
                let mut key = String::new();
                while let Some(&c) = chars.peek() {
                    if c == '.' || c == '[' {
                        break;
                    }
                    key.push(c);
                    chars.next();
                }
                if key.is_empty() {
                    return None;
                }
                out.push(Segment::Key(key));
                expect_key = false;
            }
            _ => return None,
        }
    }
    Some(out)
}

/// The 1-based line of `field` in `text`, or of its nearest enclosing field
/// that is written there (a missing `backends[0].credentials.value` gives the
/// line of `backends[0].credentials`). `None` when nothing of the path is in
/// the text, or the text is not YAML.
pub(crate) fn line_of(text: &str, field: &str) -> Option<usize> {
    let path = segments(field)?;
    (1..=path.len())
        .rev()
        .find_map(|len| exact_line(text, &path[..len]))
}

/// The line of exactly this path, if it is in the text.
fn exact_line(text: &str, path: &[Segment]) -> Option<usize> {
    let de = serde_norway::Deserializer::from_str(text);
    match (Seek { path }).deserialize(de) {
        Err(e) if e.to_string().contains(FOUND) => e.location().map(|l| l.line()),
        _ => None,
    }
}

/// Descends along `path`; fails with [`FOUND`] where it ends.
struct Seek<'p> {
    path: &'p [Segment],
}

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (want, rest) = match self.path.split_first() {
            None => return found(),
            Some((Segment::Key(want), rest)) => (want, rest),
            Some((Segment::Index(_), _)) => return Ok(()),
        };
        while let Some(hit) = map.next_key_seed(Key {
            want,
            last: rest.is_empty(),
        })? {
            if hit {
                return map.next_value_seed(Seek { path: rest });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (want, rest) = match self.path.split_first() {
            None => return found(),
            Some((Segment::Index(want), rest)) => (*want, rest),
            Some((Segment::Key(_), _)) => return Ok(()),
        };
        let mut index = 0;
        loop {
            if index == want {
                return seq.next_element_seed(Seek { path: rest }).map(|_| ());
            }
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.scalar()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
}

impl Seek<'_> {
    /// A scalar is the end of the path, or a dead end.
    fn scalar<E: de::Error>(&self) -> Result<(), E> {
        if self.path.is_empty() {
            found()
        } else {
            Ok(())
        }
    }
}

fn found<E: de::Error>() -> Result<(), E> {
    Err(E::custom(FOUND))
}

/// Reads a mapping key: whether it is the wanted one; fails with [`FOUND`]
/// on it when it is the last step of the path (so the line is the key's).
struct Key<'p> {
    want: &'p str,
    last: bool,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        if key != self.want {
            return Ok(false);
        }
        if self.last {
            found()?;
        }
        Ok(true)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        self.visit_str(&v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        self.visit_str(&v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        self.visit_str(&v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
        self.visit_str(&v.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::{Segment, line_of, segments};

    const YAML: &str = r#"# a comment
listen: 127.0.0.1:9000
auth:
  issuer: https://example.okta.com
  audiences:
    - api://default
    - "api://other"
backends:
  - name: a
    demo: github
  - {name: b, http: {url: 'ftp://x'}}
  - name: c
    stdio:
      command: npx
      env:
        TOKEN: >-
          folded
          text
      args: [-y,
        pkg]
policy:
  groups:
    "Senior Engineers":
      allow: ["github:*"]
      deny:
        - ""
"#;

    #[test]
    fn paths_split_into_keys_and_indexes() {
        assert_eq!(
            segments(r#"backends[2].http.url"#).unwrap(),
            [
                Segment::Key("backends".into()),
                Segment::Index(2),
                Segment::Key("http".into()),
                Segment::Key("url".into()),
            ]
        );
        assert_eq!(
            segments(r#"groups."Sales team".deny[0]"#).unwrap(),
            [
                Segment::Key("groups".into()),
                Segment::Key("Sales team".into()),
                Segment::Key("deny".into()),
                Segment::Index(0),
            ]
        );
        assert!(segments("a..b").is_none());
        assert!(segments("a[x]").is_none());
    }

    #[test]
    fn block_and_flow_fields_are_found_on_their_lines() {
        let cases = [
            ("listen", 2),
            ("auth", 3),
            ("auth.issuer", 4),
            ("auth.audiences", 5),
            ("auth.audiences[0]", 6),
            ("auth.audiences[1]", 7),
            ("backends", 8),
            ("backends[0]", 9),
            ("backends[0].demo", 10),
            ("backends[1].name", 11),
            ("backends[1].http.url", 11),
            ("backends[2].stdio.command", 14),
            ("backends[2].stdio.env.TOKEN", 16),
            ("backends[2].stdio.args[1]", 20),
            ("policy.groups.\"Senior Engineers\".allow[0]", 24),
            ("policy.groups.\"Senior Engineers\".deny[0]", 26),
        ];
        for (field, line) in cases {
            assert_eq!(line_of(YAML, field), Some(line), "{field}");
        }
    }

    #[test]
    fn missing_fields_fall_back_to_the_nearest_written_parent() {
        assert_eq!(line_of(YAML, "backends[0].credentials.value"), Some(9));
        assert_eq!(line_of(YAML, "backends[1].http.nope"), Some(11));
        assert_eq!(line_of(YAML, "backends[7].name"), Some(8));
        assert_eq!(line_of(YAML, "auth.issuer[0]"), Some(4));
        assert_eq!(line_of(YAML, "audit.file"), None);
        assert_eq!(line_of("a: [yaml", "b"), None);
    }
}
