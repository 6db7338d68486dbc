//! Human-friendly durations in the config file: `250ms`, `30s`, `5m`, `1h`.

use std::time::Duration;

use serde::Deserializer;
use serde::de::{self, Visitor};

/// Parses `250ms`, `30s`, `5m`, `1h` (a bare integer is seconds).
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; write e.g. `250ms`, `30s`, `5m`"))?;
    let duration = match unit.trim() {
        "ms" => Duration::from_millis(value),
        "" | "s" => Duration::from_secs(value),
        "m" => Duration::from_secs(value.saturating_mul(60)),
        "h" => Duration::from_secs(value.saturating_mul(3600)),
        other => {
            return Err(format!(
                "unknown duration unit `{other}` in `{text}`; use ms, s, m or h"
            ));
        }
    };
    Ok(duration)
}

/// `deserialize_with` helper for a required duration. The value is read by a
/// visitor (not through a buffered untagged enum), so an error is reported at
/// the value itself: the parser adds its line and the field's path.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Duration, D::Error> {
    de.deserialize_any(DurationVisitor { positive: false })
}

/// [`deserialize`], refusing zero (for a duration that would make the
/// gateway useless, like a session idle timeout).
pub(crate) fn deserialize_positive<'de, D: Deserializer<'de>>(de: D) -> Result<Duration, D::Error> {
    de.deserialize_any(DurationVisitor { positive: true })
}

struct DurationVisitor {
    /// Zero is an error.
    positive: bool,
}

impl DurationVisitor {
    fn checked<E: de::Error>(&self, duration: Duration) -> Result<Duration, E> {
        if self.positive && duration.is_zero() {
            return Err(E::custom("must be more than 0, e.g. `5m`"));
        }
        Ok(duration)
    }
}

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a duration like `250ms`, `30s`, `5m`, `1h` or a number of seconds")
    }

    fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<Duration, E> {
        self.checked(Duration::from_secs(seconds))
    }

    fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<Duration, E> {
        let seconds = u64::try_from(seconds).map_err(|_| {
            E::custom(format!(
                "`{seconds}` is not a duration; durations are not negative"
            ))
        })?;
        self.checked(Duration::from_secs(seconds))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
        self.checked(parse(text).map_err(E::custom)?)
    }
}

#[cfg(test)]
mod tests {
    use super::parse;
    use std::time::Duration;

    #[test]
    fn units() {
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse("7").unwrap(), Duration::from_secs(7));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse("fast").unwrap_err().contains("not a duration"));
        assert!(parse("3d").unwrap_err().contains("unknown duration unit"));
    }
}
