//! Bounded numbers: a value outside its clinical range is a validation error, not a guess.

use crate::facts::{FactScalar, FieldKind, FieldValue, Unit};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// Reads a whole number in a range, saying what was wrong when it is not one: a fraction, a
/// string, a number out of range.
struct WholeNumber {
    what: &'static str,
    min: u32,
    max: u32,
}

impl WholeNumber {
    fn check<E: de::Error>(&self, value: i128) -> Result<u32, E> {
        u32::try_from(value).ok().filter(|v| (self.min..=self.max).contains(v)).ok_or_else(|| {
            E::custom(format!("`{value}` is out of range: expected {} from {} to {}", self.what, self.min, self.max))
        })
    }
}

impl Visitor<'_> for WholeNumber {
    type Value = u32;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: a whole number from {} to {}", self.what, self.min, self.max)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u32, E> {
        self.check(i128::from(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u32, E> {
        self.check(i128::from(v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<u32, E> {
        self.check(i128::try_from(v).unwrap_or(i128::MAX))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u32, E> {
        if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
            #[expect(clippy::cast_possible_truncation, reason = "a whole number below 1e15")]
            return self.check(v as i128);
        }
        Err(E::custom(format!("`{v}` is not a whole number: expected {} from {} to {}", self.what, self.min, self.max)))
    }
}

macro_rules! bounded_int {
    ($(#[$meta:meta])* $name:ident, $min:expr, $max:expr, $unit:expr, $what:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u32);

        impl $name {
            pub const MIN: u32 = $min;
            pub const MAX: u32 = $max;

            /// The value, already known to be within range.
            #[must_use]
            pub fn get(self) -> u32 {
                self.0
            }

            /// Builds the value, or says why it is out of range.
            pub fn new(value: u32) -> Result<Self, String> {
                if (Self::MIN..=Self::MAX).contains(&value) {
                    Ok(Self(value))
                } else {
                    Err(format!(
                        "`{value}` is out of range: expected {} from {} to {}",
                        $what,
                        Self::MIN,
                        Self::MAX
                    ))
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(WholeNumber { what: $what, min: Self::MIN, max: Self::MAX }).map(Self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u32(self.0)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "integer",
                    "minimum": $min,
                    "maximum": $max,
                    "description": $what,
                })
            }
        }

        impl FactScalar for $name {
            const KIND: FieldKind = FieldKind::Int($unit);
            fn value(&self) -> FieldValue<'_> {
                FieldValue::Int(i64::from(self.0))
            }
        }
    };
}

macro_rules! bounded_num {
    ($(#[$meta:meta])* $name:ident, $min:expr, $max:expr, $unit:expr, $what:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
        pub struct $name(f64);

        impl $name {
            pub const MIN: f64 = $min;
            pub const MAX: f64 = $max;

            /// The value, already known to be finite and within range.
            #[must_use]
            pub fn get(self) -> f64 {
                self.0
            }

            /// Builds the value, or says why it is out of range.
            pub fn new(value: f64) -> Result<Self, String> {
                if value.is_finite() && (Self::MIN..=Self::MAX).contains(&value) {
                    Ok(Self(value))
                } else {
                    Err(format!(
                        "`{value}` is out of range: expected {} from {} to {}",
                        $what,
                        Self::MIN,
                        Self::MAX
                    ))
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Self::new(f64::deserialize(d)?).map_err(serde::de::Error::custom)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_f64(self.0)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "number",
                    "minimum": $min,
                    "maximum": $max,
                    "description": $what,
                })
            }
        }

        impl FactScalar for $name {
            const KIND: FieldKind = FieldKind::Num($unit);
            fn value(&self) -> FieldValue<'_> {
                FieldValue::Num(self.0)
            }
        }
    };
}

bounded_int!(
    /// A 0-10 numeric pain rating.
    PainScore, 0, 10, Unit::Score, "a pain score"
);
bounded_int!(
    /// How many activities of daily living (basic or instrumental) are impaired.
    AdlCount, 0, 20, Unit::Count, "a count of impaired ADLs/IADLs"
);
bounded_int!(
    /// Number of units billed on a line.
    Units, 1, 50, Unit::Count, "a number of units"
);
bounded_int!(
    /// A whole percentage.
    Percent, 0, 100, Unit::Percent, "a percentage"
);
bounded_int!(
    /// A number of days (relief duration, trial length).
    Days, 0, 36_600, Unit::Days, "a number of days"
);
bounded_int!(
    /// A number of months.
    Months, 0, 1_200, Unit::Months, "a number of months"
);
bounded_int!(
    /// Daily morphine milligram equivalents.
    Mme, 0, 10_000, Unit::MgMme, "a daily morphine milligram equivalent"
);
bounded_int!(
    /// Modic endplate change type (1 or 2).
    ModicType, 1, 2, Unit::Count, "a Modic type"
);
bounded_num!(
    /// Body-mass index.
    Bmi, 8.0, 150.0, Unit::Bmi, "a body-mass index"
);
bounded_num!(
    /// Glycated haemoglobin, percent.
    Hba1c, 2.0, 25.0, Unit::Hba1cPercent, "an HbA1c percentage"
);
bounded_num!(
    /// Volume in millilitres.
    Millilitres, 0.0, 1_000.0, Unit::Ml, "a volume in mL"
);
bounded_num!(
    /// Temperature in degrees Celsius (lesion temperature).
    Celsius, 0.0, 150.0, Unit::Celsius, "a temperature in degrees Celsius"
);
bounded_num!(
    /// A temperature change in degrees Celsius.
    CelsiusDelta, -20.0, 20.0, Unit::Celsius, "a temperature change in degrees Celsius"
);
bounded_num!(
    /// A bone-density T-score.
    TScore, -10.0, 10.0, Unit::TScore, "a T-score"
);
bounded_num!(
    /// A size in millimetres.
    Millimetres, 0.0, 200.0, Unit::Mm, "a size in mm"
);

impl Default for Units {
    /// A line without `units` is one unit.
    fn default() -> Self {
        Self(1)
    }
}
