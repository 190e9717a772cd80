//! Field tables: every field of the fact-bearing structs, by name, with its kind and a
//! reader. The policy pack names facts (`clinical.pain_score`); the engine resolves each name
//! once, when the pack is loaded, to one of these readers.

use crate::codes::DiagnosisCode;
use crate::level::Level;
use jiff::civil::Date;

/// The unit of a number, so that a pack cannot compare a pain score with a percentage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString, strum::VariantNames)]
#[strum(serialize_all = "snake_case")]
pub enum Unit {
    Score,
    Count,
    Percent,
    Days,
    Weeks,
    Months,
    Years,
    Mm,
    Ml,
    Celsius,
    Bmi,
    TScore,
    MgMme,
    Hba1cPercent,
}

impl Unit {
    /// Every unit's name.
    pub const NAMES: &'static [&'static str] = <Self as strum::VariantNames>::VARIANTS;

    #[must_use]
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Bool,
    Int(Unit),
    Num(Unit),
    Date,
    /// One value of a closed vocabulary.
    Enum(&'static [&'static str]),
    /// A list of values of a closed vocabulary.
    EnumList(&'static [&'static str]),
    Levels,
    Diagnoses,
    Text,
    Texts,
    /// A list of structured records, read only by derived facts.
    Records,
}

impl FieldKind {
    /// A short name for error messages.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Bool => "a yes/no fact",
            Self::Int(_) | Self::Num(_) => "a number",
            Self::Date => "a date",
            Self::Enum(_) => "one value of a list",
            Self::EnumList(_) => "a list of values",
            Self::Levels => "a list of spinal levels",
            Self::Diagnoses => "a list of diagnosis codes",
            Self::Text => "a text",
            Self::Texts => "a list of texts",
            Self::Records => "a list of records",
        }
    }
}

/// The value of a field in one case. `Missing` is the absent fact: unknown, never false.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    Missing,
    Bool(bool),
    Int(i64),
    Num(f64),
    Date(Date),
    /// Index into the field's vocabulary.
    Enum(usize),
    /// Bit `i` set when vocabulary value `i` is in the list.
    EnumList(u64),
    Levels(&'a [Level]),
    Diagnoses(&'a [DiagnosisCode]),
    Text(&'a str),
    Texts(&'a [String]),
    Records(usize),
}

/// A type that can be the value of a fact.
pub trait FactScalar {
    const KIND: FieldKind;
    fn value(&self) -> FieldValue<'_>;
}

/// A type whose lists can be the value of a fact.
pub trait FactListItem: Sized {
    const LIST_KIND: FieldKind;
    fn list_value(items: &[Self]) -> FieldValue<'_>;
}

/// A field of a fact-bearing struct.
pub trait FactField {
    const KIND: FieldKind;
    /// Whether the field may be absent (every clinical fact may).
    const OPTIONAL: bool;
    fn value(&self) -> FieldValue<'_>;
}

impl<T: FactScalar> FactField for Option<T> {
    const KIND: FieldKind = T::KIND;
    const OPTIONAL: bool = true;
    fn value(&self) -> FieldValue<'_> {
        self.as_ref().map_or(FieldValue::Missing, FactScalar::value)
    }
}

impl<T: FactListItem> FactField for Option<Vec<T>> {
    const KIND: FieldKind = T::LIST_KIND;
    const OPTIONAL: bool = true;
    fn value(&self) -> FieldValue<'_> {
        self.as_deref().map_or(FieldValue::Missing, T::list_value)
    }
}

impl<T: FactScalar> FactField for T {
    const KIND: FieldKind = T::KIND;
    const OPTIONAL: bool = false;
    fn value(&self) -> FieldValue<'_> {
        FactScalar::value(self)
    }
}

impl<T: FactListItem> FactField for Vec<T> {
    const KIND: FieldKind = T::LIST_KIND;
    const OPTIONAL: bool = false;
    fn value(&self) -> FieldValue<'_> {
        T::list_value(self)
    }
}

impl FactScalar for bool {
    const KIND: FieldKind = FieldKind::Bool;
    fn value(&self) -> FieldValue<'_> {
        FieldValue::Bool(*self)
    }
}

impl FactScalar for Date {
    const KIND: FieldKind = FieldKind::Date;
    fn value(&self) -> FieldValue<'_> {
        FieldValue::Date(*self)
    }
}

impl FactScalar for String {
    const KIND: FieldKind = FieldKind::Text;
    fn value(&self) -> FieldValue<'_> {
        FieldValue::Text(self)
    }
}

impl FactListItem for String {
    const LIST_KIND: FieldKind = FieldKind::Texts;
    fn list_value(items: &[Self]) -> FieldValue<'_> {
        FieldValue::Texts(items)
    }
}

impl FactListItem for Level {
    const LIST_KIND: FieldKind = FieldKind::Levels;
    fn list_value(items: &[Self]) -> FieldValue<'_> {
        FieldValue::Levels(items)
    }
}

impl FactListItem for DiagnosisCode {
    const LIST_KIND: FieldKind = FieldKind::Diagnoses;
    fn list_value(items: &[Self]) -> FieldValue<'_> {
        FieldValue::Diagnoses(items)
    }
}

/// Whether a field holds nothing, so that the canonical form (and the case hash) leaves it out:
/// an absent fact and a field not written are the same request.
pub trait MaybeAbsent {
    fn is_absent(&self) -> bool;
}

impl<T> MaybeAbsent for Option<T> {
    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

impl<T> MaybeAbsent for Vec<T> {
    fn is_absent(&self) -> bool {
        self.is_empty()
    }
}

macro_rules! never_absent {
    ($($ty:ty),*) => {$(
        impl MaybeAbsent for $ty {
            fn is_absent(&self) -> bool {
                false
            }
        }
    )*};
}
never_absent!(crate::codes::ProcedureCode, crate::numbers::Units, Date, crate::enums::CareKind);

/// For `skip_serializing_if`.
pub fn is_absent<T: MaybeAbsent>(value: &T) -> bool {
    value.is_absent()
}

/// One named field of `S`.
pub struct FieldDef<S: 'static> {
    pub name: &'static str,
    pub kind: FieldKind,
    /// Whether the field may be absent.
    pub optional: bool,
    pub doc: &'static str,
    pub get: for<'a> fn(&'a S) -> FieldValue<'a>,
}

impl<S> std::fmt::Debug for FieldDef<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldDef").field("name", &self.name).field("kind", &self.kind).finish()
    }
}

/// A struct whose fields are facts.
pub trait FactStruct: Sized + 'static {
    const FIELDS: &'static [FieldDef<Self>];

    /// The field with this name.
    #[must_use]
    fn field(name: &str) -> Option<&'static FieldDef<Self>> {
        Self::FIELDS.iter().find(|f| f.name == name)
    }
}

/// Declares a struct whose fields are facts, and its field table.
macro_rules! fact_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                #[doc = $doc:literal]
                $(#[$fmeta:meta])*
                pub $field:ident : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $(
                #[doc = $doc]
                $(#[$fmeta])*
                #[serde(skip_serializing_if = "crate::facts::is_absent")]
                pub $field: $ty,
            )*
        }

        impl $crate::facts::FactStruct for $name {
            const FIELDS: &'static [$crate::facts::FieldDef<Self>] = &[
                $(
                    $crate::facts::FieldDef {
                        name: stringify!($field),
                        kind: <$ty as $crate::facts::FactField>::KIND,
                        optional: <$ty as $crate::facts::FactField>::OPTIONAL,
                        doc: $doc,
                        get: {
                            fn get(s: &$name) -> $crate::facts::FieldValue<'_> {
                                $crate::facts::FactField::value(&s.$field)
                            }
                            get
                        },
                    },
                )*
            ];
        }
    };
}
pub(crate) use fact_struct;
