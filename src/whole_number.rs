//! Integers in JSON bodies. JSON Schema counts `100.0` as an integer, and
//! some clients (JavaScript's among them) may write one that way; serde's
//! integer types refuse it. These accept a whole number in either spelling
//! and still refuse a fraction or a value out of the field's range.

use serde::{de, Deserialize, Deserializer};

/// A whole JSON number as `T`, whether written `100` or `100.0`.
pub fn deserialize<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    let number = serde_json::Number::deserialize(deserializer)?;
    let whole = of(&number).ok_or_else(|| de::Error::custom(format!("expected an integer, got {number}")))?;
    T::try_from(whole).map_err(|_| de::Error::custom(format!("{whole} is out of range")))
}

/// A JSON number's value when it is whole and fits an `i64`.
pub fn of(number: &serde_json::Number) -> Option<i64> {
    if let Some(n) = number.as_i64() {
        return Some(n);
    }
    let f = number.as_f64()?;
    // 2^63 is exactly representable; anything at or past it does not fit.
    (f.fract() == 0.0 && f >= -(2f64.powi(63)) && f < 2f64.powi(63)).then_some(f as i64)
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(deserialize_with = "super::deserialize")]
        n: u32,
    }

    fn parse(text: &str) -> Result<u32, String> {
        serde_json::from_str::<Body>(text).map(|b| b.n).map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numbers_in_either_spelling() {
        assert_eq!(parse(r#"{"n": 100}"#), Ok(100));
        assert_eq!(parse(r#"{"n": 1e2}"#), Ok(100));
        assert_eq!(parse(r#"{"n": 100.0}"#), Ok(100));
        assert!(parse(r#"{"n": 1.5}"#).unwrap_err().contains("expected an integer, got 1.5"));
        assert!(parse(r#"{"n": -1}"#).unwrap_err().contains("-1 is out of range"));
        assert!(parse(r#"{"n": 1e30}"#).unwrap_err().contains("expected an integer"));
        assert!(parse(r#"{"n": "1"}"#).is_err());
    }
}
