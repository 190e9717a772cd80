//! Procedure (CPT/HCPCS) and diagnosis (ICD-10-CM) codes, checked for shape only. Whether a
//! procedure code is in scope is the policy pack's business (`GEN-CODE-1`), not a parse error.

use crate::facts::{FactScalar, FieldKind, FieldValue};
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use std::fmt;

/// A CPT or HCPCS level II code: five digits (`64483`), four digits and a letter (`0627T`), or
/// a letter and four digits (`G0260`, `L8679`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ProcedureCode(String);

impl ProcedureCode {
    /// Checks the shape of a code.
    pub fn new(code: &str) -> Result<Self, String> {
        let well_formed = match code.as_bytes() {
            [a, b, c, d, e] => {
                let four_digits = [a, b, c, d].iter().all(|x| x.is_ascii_digit());
                (four_digits && (e.is_ascii_digit() || e.is_ascii_uppercase()))
                    || (a.is_ascii_uppercase() && [b, c, d, e].iter().all(|x| x.is_ascii_digit()))
            }
            _ => false,
        };
        if well_formed {
            Ok(Self(code.to_owned()))
        } else {
            Err(format!(
                "`{}` is not a procedure code: expected a CPT or HCPCS code such as `64483`, `0627T` or `G0260`",
                code.chars().take(20).collect::<String>()
            ))
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProcedureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ProcedureCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        Self::new(&s).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for ProcedureCode {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("ProcedureCode")
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "a CPT or HCPCS code",
            "pattern": "^([0-9]{5}|[0-9]{4}[A-Z]|[A-Z][0-9]{4})$",
        })
    }
}

impl FactScalar for ProcedureCode {
    const KIND: FieldKind = FieldKind::Text;
    fn value(&self) -> FieldValue<'_> {
        FieldValue::Text(&self.0)
    }
}

/// An ICD-10-CM diagnosis code in its dotted form (`M54.16`, `G89.11`, `Z33.1`). The undotted
/// form (`M5416`) is accepted and stored dotted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct DiagnosisCode(String);

impl DiagnosisCode {
    /// Checks the shape of a code and puts it in dotted form.
    pub fn new(code: &str) -> Result<Self, String> {
        let compact: String = code.chars().filter(|c| *c != '.').collect();
        let dot_ok = match code.find('.') {
            None => true,
            Some(i) => i == 3 && code.matches('.').count() == 1 && code.len() > 4,
        };
        let shape_ok = match compact.as_bytes() {
            [letter, digit, rest @ ..] => {
                (1..=5).contains(&rest.len())
                    && letter.is_ascii_uppercase()
                    && *letter != b'U'
                    && digit.is_ascii_digit()
                    && rest.iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            }
            _ => false,
        };
        let well_formed = dot_ok && shape_ok;
        if !well_formed {
            return Err(format!(
                "`{}` is not an ICD-10-CM code: expected a code such as `M54.16`",
                code.chars().take(20).collect::<String>()
            ));
        }
        let dotted = match (compact.get(..3), compact.get(3..)) {
            (Some(head), Some(tail)) if !tail.is_empty() => format!("{head}.{tail}"),
            _ => compact,
        };
        Ok(Self(dotted))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DiagnosisCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DiagnosisCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        Self::new(&s).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for DiagnosisCode {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("DiagnosisCode")
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "an ICD-10-CM code, dotted (M54.16) or not (M5416)",
            "pattern": "^[A-TV-Z][0-9][0-9A-Z](\\.?[0-9A-Z]{1,4})?$",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procedure_code_shapes() {
        for ok in ["64483", "0627T", "G0260", "L8679", "C1767"] {
            assert!(ProcedureCode::new(ok).is_ok(), "{ok}");
        }
        for bad in ["6448", "644833", "g0260", "06 27", "ABCDE", ""] {
            assert!(ProcedureCode::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn diagnosis_codes_are_stored_dotted() {
        assert_eq!(DiagnosisCode::new("M5416").unwrap().as_str(), "M54.16");
        assert_eq!(DiagnosisCode::new("G89.11").unwrap().as_str(), "G89.11");
        assert_eq!(DiagnosisCode::new("M54").unwrap().as_str(), "M54");
        for bad in ["M5.416", "54.16", "M54.", "m54.16", "U07.1", "M54.16.1", "M54.12345"] {
            assert!(DiagnosisCode::new(bad).is_err(), "{bad}");
        }
    }
}
