//! Closed vocabularies of the case model. An unknown value is a validation error.

use crate::facts::{FactListItem, FactScalar, FieldKind, FieldValue};
use serde::{Deserialize, Serialize};

macro_rules! vocabulary {
    ($( $(#[$meta:meta])* $name:ident { $( $(#[$vmeta:meta])* $variant:ident ),+ $(,)? } )+) => {$(
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
            schemars::JsonSchema, strum::VariantNames, strum::IntoStaticStr, strum::VariantArray,
        )]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name { $( $(#[$vmeta])* $variant ),+ }

        impl $name {
            /// The value's name as written in requests.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                self.into()
            }

            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = <Self as strum::VariantArray>::VARIANTS;

            /// Every value's name, in declaration order.
            pub const NAMES: &'static [&'static str] = <Self as strum::VariantNames>::VARIANTS;

            /// The position of this value in [`Self::NAMES`].
            #[must_use]
            pub fn index(self) -> usize {
                self as usize
            }
        }

        impl FactScalar for $name {
            const KIND: FieldKind = FieldKind::Enum(Self::NAMES);
            fn value(&self) -> FieldValue<'_> {
                FieldValue::Enum(self.index())
            }
        }

        impl FactListItem for $name {
            const LIST_KIND: FieldKind = FieldKind::EnumList(Self::NAMES);
            fn list_value(items: &[Self]) -> FieldValue<'_> {
                FieldValue::EnumList(items.iter().fold(0u64, |set, item| set | (1u64 << item.index())))
            }
        }
    )+};
}

vocabulary! {
    Sex { Female, Male, Other }
    Side { Left, Right, Bilateral }
    Purpose { Diagnostic, Therapeutic }
    DiagnosticGoal { RfnCandidacy, ParsEvaluation, SurgicalPlanning, Other }
    Target {
        Epidural, NerveRoot, Intradiscal, EpiduralAdhesions, MedialBranch, FacetJoint, FacetCyst,
        BasivertebralNerve, StellateGanglion, LumbarSympathetic, ThoracicSympathetic, GanglionImpar,
        SacroiliacJoint, SacralLateralBranch, SpinalCordStimulator, DorsalRootGanglionStimulator,
    }
    Approach { Transforaminal, Interlaminar, Caudal }
    Guidance { Fluoroscopy, Ct, Ultrasound, None }
    Injectate {
        LocalAnesthetic, Corticosteroid, Neurolytic, HypertonicSaline, Enzyme, Biologic, Prp,
        BotulinumToxin, Prolotherapy, Ozone, CellularTissueProduct, Saline, Opioid, Other,
    }
    AblationTechnique { Thermal, Pulsed, Cryo, Chemical, Laser, Endoscopic, OpenSurgical }
    NeurostimPhase { Trial, Permanent, Replacement, Revision, Removal }
    NeurostimKind {
        DorsalColumnConventional, DorsalColumnBurst, DorsalColumnHighFrequency, DorsalRootGanglion,
    }
    LeadType { Percutaneous, Paddle }
    SecondInjectionChange { Approach, Level, Steroid }
    PainLocation { Neck, MidBack, LowBack, Buttock, UpperLimb, LowerLimb, Trunk, Other }
    RadiculopathySign { DermatomalSensoryChange, MyotomalWeakness, ReflexAbnormality }
    SpondylolisthesisGrade { None, Mild, Moderate, Severe }
    SiProvocativeTest { Distraction, Compression, SacralThrust, ThighThrust, Faber, Gaenslen }
    SurgeryKind { Discectomy, Laminectomy, Fusion, Other }
    CrpsCategory { Sensory, Vasomotor, SudomotorEdema, MotorTrophic }
    ScsCondition {
        Arachnoiditis, PostSurgicalRootInjury, Crps, PainfulDiabeticNeuropathy,
        CriticalLimbIschemia, RefractoryAngina, HeartFailure, CancerPain, NonsurgicalLowBackPain,
        Other,
    }
    ArachnoiditisEvidence { CsfProtein, Mri, Myelography }
    NeuropathySeverity { None, Mild, Moderate, Severe }
    DrugCategory { Antidepressant, Anticonvulsant, Topical, Other }
    CurrentStimulator { None, Functioning, Failed }
    StimulatorComplication {
        LeadMigration, Infection, PainfulGeneratorSite, BatteryEndOfService, PatientIntolerance,
        NewNeurologicDeficit, MriNeededOtherTestsInconclusive, AicdPlanned,
    }
    SurgicalConsultReason {
        ConfirmCompression, IdentifySymptomaticLevel, RadiculopathySuspectedImagingNegative,
    }
    CareKind {
        PhysicalTherapy, HomeExerciseProgram, PtException, AntiInflammatoryOrAnalgesic,
        AdjunctiveMedication, AlternativeTherapy, InterventionalProcedure,
    }
    AlternativeModality { Acupuncture, Chiropractic, Massage, ActivityModification, Rest }
    CareOutcome { Improved, NoSignificantImprovement, Worse }
    ImagingModality { Mri, Ct, Myelography, Xray, Other }
    FindingKind {
        DiscHerniation, StenosisCentral, StenosisLateralRecess, StenosisForaminal,
        StenosisExtraforaminal, FacetSynovialCyst, FacetEffusion,
        #[serde(rename = "modic_type_1")]
        #[strum(serialize = "modic_type_1")]
        ModicType1,
        #[serde(rename = "modic_type_2")]
        #[strum(serialize = "modic_type_2")]
        ModicType2,
        Spondylolisthesis, Spondylolysis, Fracture, Tumor, Infection, Arachnoiditis, Other,
    }
    DueTo { DiscHerniation, Degenerative, Other }
    ProcedureOutcome { Success, Failed }
    FailureReason { LeadPlacementAnatomy, Other }

    /// The conditions a clinician may attest to having screened for (`conditions_screened`).
    ScreenableCondition {
        NewPainWithMalignancyOrSuspicion, NewPainWithInfectionOrFractureRisk,
        CoagulopathyOrAnticoagulated, AcuteTrauma, CaudaEquinaSyndrome, ConusMedullarisSyndrome,
        InadequateEpiduralSpace, EpiduralHematoma, EpiduralAbscess, EpiduralMass,
        SubarachnoidHemorrhage, SpinalCordIschemia,
        #[serde(rename = "spinal_fracture_within_6_weeks")]
        #[strum(serialize = "spinal_fracture_within_6_weeks")]
        SpinalFractureWithin6Weeks,
        DemyelinatingOrCnsRiskOfMyelitis, SystemicInfection, LocalInfectionAtSite,
        UncontrolledDiabetes, MyelopathyModerateToSevere, IntramedullarySignalChange,
        NonFacetPathologyPresent, NonVertebrogenicPathologyPresent,
        SevereCardiopulmonaryCompromise, SymptomaticSpinalStenosis, Osteoporosis,
        MetabolicBoneDisease, FragilityFractureHistory, FractureAtTargetLevel, SpinalCancer,
        SpineInfection, BleedingDiathesis, Spondylolysis,
        #[serde(rename = "facet_arthrosis_correlated_l3_s1")]
        #[strum(serialize = "facet_arthrosis_correlated_l3_s1")]
        FacetArthrosisCorrelatedL3S1,
        ExtendedReleaseOpioidsWithAddictionBehaviors, MriContraindicated, DeviceComponentAllergy,
        ActiveImplantedDevice, UntreatedDrugAddiction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_snake_case_and_match_serde() {
        assert_eq!(ScreenableCondition::SpinalFractureWithin6Weeks.as_str(), "spinal_fracture_within_6_weeks");
        assert_eq!(FindingKind::ModicType1.as_str(), "modic_type_1");
        let json = serde_json::to_string(&ScreenableCondition::FacetArthrosisCorrelatedL3S1).unwrap();
        assert_eq!(json, "\"facet_arthrosis_correlated_l3_s1\"");
        let json = serde_json::to_string(&FindingKind::ModicType1).unwrap();
        assert_eq!(json, "\"modic_type_1\"");
    }

    #[test]
    fn every_vocabulary_fits_a_64_bit_set() {
        assert!(ScreenableCondition::NAMES.len() <= 64);
        assert!(FindingKind::NAMES.len() <= 64);
    }
}
