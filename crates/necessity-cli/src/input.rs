//! Reading requests: one JSON object, a JSON array of objects, or NDJSON (one object per line).

use serde_json::value::RawValue;
use std::fmt;

/// The largest single request accepted.
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// One request's text and where it was in the input.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// 1-based: the line (NDJSON), the element (array), or 1 (single object).
    pub position: usize,
    pub text: &'a str,
}

/// How the input was laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Single,
    Array,
    Lines,
}

impl Layout {
    /// How to name a request's position in messages.
    #[must_use]
    pub fn position_word(self) -> &'static str {
        match self {
            Self::Single => "request",
            Self::Array => "element",
            Self::Lines => "line",
        }
    }
}

/// Input that is not requests at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError(pub String);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

/// Splits input into requests. Each item is parsed (and may fail) on its own.
pub fn split(text: &str) -> Result<(Layout, Vec<Item<'_>>), InputError> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(InputError("the input is empty: give a JSON request, a JSON array of requests, or NDJSON".into()));
    }
    if trimmed.starts_with('[') {
        let elements: Vec<&RawValue> = serde_json::from_str(text)
            .map_err(|e| InputError(format!("the input looks like a JSON array of requests but is not one: {e}")))?;
        if elements.is_empty() {
            return Err(InputError("the input is an empty array: give at least one request".into()));
        }
        let items =
            elements.into_iter().enumerate().map(|(i, raw)| Item { position: i + 1, text: raw.get() }).collect();
        return Ok((Layout::Array, items));
    }
    // One JSON document (possibly pretty-printed) is one request; otherwise several lines that
    // each start with `{` are NDJSON, even when one of them is broken.
    let one_document = serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let several = lines.clone().nth(1).is_some();
    let ndjson = !one_document && several && lines.all(|l| l.trim_start().starts_with('{'));
    if ndjson {
        let items = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| Item { position: i + 1, text: l })
            .collect();
        Ok((Layout::Lines, items))
    } else {
        Ok((Layout::Single, vec![Item { position: 1, text }]))
    }
}

/// Checks the size of one request before parsing it.
pub fn check_size(item: &Item<'_>) -> Result<(), String> {
    if item.text.len() > MAX_REQUEST_BYTES {
        Err(format!(
            "the request is {} bytes, more than the {} MiB a request may be",
            item.text.len(),
            MAX_REQUEST_BYTES / (1024 * 1024)
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_three_layouts() {
        assert_eq!(split("{\"a\":1}").unwrap().0, Layout::Single);
        assert_eq!(split("{\n  \"a\": 1\n}\n").unwrap().0, Layout::Single);
        let (layout, _) = split("{\"broken\":\n{\"b\":2}\n").unwrap();
        assert_eq!(layout, Layout::Lines);
        let (layout, items) = split("{\"a\":1}\n\n{\"b\":2}\n").unwrap();
        assert_eq!(layout, Layout::Lines);
        assert_eq!(items.iter().map(|i| i.position).collect::<Vec<_>>(), vec![1, 3]);
        let (layout, items) = split(" [ {\"a\":1}, {\"b\":2} ]").unwrap();
        assert_eq!(layout, Layout::Array);
        assert_eq!(items[1].text, "{\"b\":2}");
    }

    #[test]
    fn empty_and_broken_input_are_errors() {
        assert!(split("").is_err());
        assert!(split("   \n").is_err());
        assert!(split("[]").is_err());
        assert!(split("[{\"a\":1},").is_err());
    }

    #[test]
    fn oversized_requests_are_refused_before_parsing() {
        let big = "x".repeat(MAX_REQUEST_BYTES + 1);
        assert!(check_size(&Item { position: 1, text: &big }).unwrap_err().contains("more than the 4 MiB"));
    }
}
