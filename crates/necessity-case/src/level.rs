//! Spinal levels: a vertebra (`L4`, `S1`) or the segment between two adjacent vertebrae
//! (`L4-L5`, `C7-T1`, `C0-C1`). Anything else ("L9-L10", "L4-L6") is a validation error.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// The spine's regions, as vertebra names start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Region {
    Occiput,
    Cervical,
    Thoracic,
    Lumbar,
    Sacral,
}

/// A vertebra, in head-to-tail order: C0 (the occiput, only as the top of C0-C1), C1..C7,
/// T1..T12, L1..L5, S1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vertebra(u8);

const LAST_VERTEBRA: u8 = 25; // S1

impl Vertebra {
    /// The vertebra named by a region letter and a number, if it exists.
    #[must_use]
    pub fn new(letter: char, number: u8) -> Option<Self> {
        let ordinal = match (letter, number) {
            ('C', 0..=7) => number,
            ('T', 1..=12) => 7 + number,
            ('L', 1..=5) => 19 + number,
            ('S', 1) => LAST_VERTEBRA,
            _ => return None,
        };
        Some(Self(ordinal))
    }

    /// Position from the head: C0 is 0, S1 is 25.
    #[must_use]
    pub fn ordinal(self) -> u8 {
        self.0
    }

    #[must_use]
    pub fn region(self) -> Region {
        match self.0 {
            0 => Region::Occiput,
            1..=7 => Region::Cervical,
            8..=19 => Region::Thoracic,
            20..=24 => Region::Lumbar,
            _ => Region::Sacral,
        }
    }

    fn letter_and_number(self) -> (char, u8) {
        match self.0 {
            n @ 0..=7 => ('C', n),
            n @ 8..=19 => ('T', n - 7),
            n @ 20..=24 => ('L', n - 19),
            _ => ('S', 1),
        }
    }

    /// The next vertebra toward the tail, if any.
    #[must_use]
    pub fn next(self) -> Option<Self> {
        (self.0 < LAST_VERTEBRA).then_some(Self(self.0 + 1))
    }
}

impl fmt::Display for Vertebra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (letter, number) = self.letter_and_number();
        write!(f, "{letter}{number}")
    }
}

impl FromStr for Vertebra {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let mut chars = s.chars();
        let letter = chars.next().ok_or(())?;
        let digits = chars.as_str();
        if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        if digits.len() == 2 && digits.starts_with('0') {
            return Err(());
        }
        let number: u8 = digits.parse().map_err(|_| ())?;
        Self::new(letter, number).ok_or(())
    }
}

/// A spinal level named in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// A vertebral body (basivertebral ablation, Modic findings).
    Vertebra(Vertebra),
    /// The segment whose upper vertebra is given (facet joints, foramina, discs).
    Segment(Vertebra),
}

impl Level {
    /// The vertebrae this level touches: one for a vertebra, two for a segment.
    #[must_use]
    pub fn vertebrae(self) -> (Vertebra, Option<Vertebra>) {
        match self {
            Self::Vertebra(v) => (v, None),
            Self::Segment(upper) => (upper, upper.next()),
        }
    }

    /// The upper vertebra (the vertebra itself for a vertebra level).
    #[must_use]
    pub fn upper(self) -> Vertebra {
        self.vertebrae().0
    }

    /// Same level, or a vertebra and a segment that touches it.
    #[must_use]
    pub fn touches(self, other: Self) -> bool {
        match (self, other) {
            (Self::Segment(a), Self::Segment(b)) | (Self::Vertebra(a), Self::Vertebra(b)) => a == b,
            (Self::Segment(_), Self::Vertebra(v)) | (Self::Vertebra(v), Self::Segment(_)) => {
                let seg = if let Self::Segment(_) = self { self } else { other };
                let (upper, lower) = seg.vertebrae();
                upper == v || lower == Some(v)
            }
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Vertebra(v) => write!(f, "{v}"),
            Self::Segment(upper) => match upper.next() {
                Some(lower) => write!(f, "{upper}-{lower}"),
                None => write!(f, "{upper}"),
            },
        }
    }
}

/// Why a level string is not a level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelError(String);

impl fmt::Display for LevelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a spinal level: expected a vertebra such as `L4` or `S1`, or a segment of two adjacent vertebrae such as `L4-L5`, `C7-T1` or `C0-C1`",
            self.0
        )
    }
}

impl std::error::Error for LevelError {}

impl FromStr for Level {
    type Err = LevelError;
    fn from_str(s: &str) -> Result<Self, LevelError> {
        let err = || LevelError(s.chars().take(40).collect());
        match s.split_once('-') {
            None => {
                let v: Vertebra = s.parse().map_err(|()| err())?;
                if v.ordinal() == 0 {
                    return Err(err());
                }
                Ok(Self::Vertebra(v))
            }
            Some((upper, lower)) => {
                let upper: Vertebra = upper.parse().map_err(|()| err())?;
                let lower: Vertebra = lower.parse().map_err(|()| err())?;
                if upper.next() == Some(lower) { Ok(Self::Segment(upper)) } else { Err(err()) }
            }
        }
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Level {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl schemars::JsonSchema for Level {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("Level")
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "a vertebra (L4, S1) or a segment of two adjacent vertebrae (L4-L5, C7-T1, C0-C1)",
            "pattern": "^(C[0-7]|T(1[0-2]|[1-9])|L[1-5]|S1)(-(C[1-7]|T(1[0-2]|[1-9])|L[1-5]|S1))?$",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_segments_and_vertebrae() {
        for ok in ["C0-C1", "C1-C2", "C7-T1", "T12-L1", "L4-L5", "L5-S1", "L4", "S1", "C1", "T12"] {
            let level: Level = ok.parse().unwrap();
            assert_eq!(level.to_string(), ok);
        }
    }

    #[test]
    fn rejects_impossible_levels() {
        for bad in
            ["L9-L10", "L4-L6", "L5-L4", "C0", "T13", "S2", "L0", "", "L", "l4-l5", "L04", "L4-", "-L5", "L4-L5-S1"]
        {
            assert!(bad.parse::<Level>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn segment_touches_its_two_vertebrae_only() {
        let seg: Level = "L4-L5".parse().unwrap();
        assert!(seg.touches("L4".parse().unwrap()));
        assert!(seg.touches("L5".parse().unwrap()));
        assert!(!seg.touches("L3".parse().unwrap()));
        assert!(!seg.touches("S1".parse().unwrap()));
        assert!(seg.touches(seg));
        assert!(!seg.touches("L5-S1".parse().unwrap()));
    }

    #[test]
    fn regions_follow_vertebra_names() {
        assert_eq!(Vertebra::new('T', 12).unwrap().region(), Region::Thoracic);
        assert_eq!(Vertebra::new('L', 1).unwrap().region(), Region::Lumbar);
        assert_eq!(Vertebra::new('S', 1).unwrap().region(), Region::Sacral);
        assert_eq!(Vertebra::new('C', 0).unwrap().region(), Region::Occiput);
    }
}
