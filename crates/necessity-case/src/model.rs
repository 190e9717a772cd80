//! The request model (`shared/spec/case-model.md`). Field names follow the spec's concept names
//! so that requests read like the criteria.

use crate::codes::{DiagnosisCode, ProcedureCode};
use crate::enums::*;
use crate::facts::fact_struct;
use crate::level::Level;
use crate::numbers::*;
use jiff::civil::Date;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// JSON Schema stand-in for a calendar date (`2026-06-14`).
pub(crate) struct IsoDate;

impl JsonSchema for IsoDate {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("Date")
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "date", "description": "a calendar date, YYYY-MM-DD" })
    }
}

/// One prior-authorization request: one member, one date of service, one session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The submitter's request identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Planned date of service; every window counts back from it.
    #[schemars(with = "IsoDate")]
    pub service_date: Date,
    #[serde(default)]
    pub member: Member,
    /// ICD-10-CM codes on the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnoses: Option<Vec<DiagnosisCode>>,
    /// The service lines, all in the same session (same day).
    pub services: Vec<ServiceLine>,
    #[serde(default)]
    pub clinical: Clinical,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conservative_care: Option<Vec<CareEpisode>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imaging: Option<Vec<ImagingStudy>>,
    /// Prior procedures the submitter reports; an empty list says there are none, an absent
    /// one says nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<PriorProcedure>>,
}

impl Case {
    /// The prior procedures the request reports (none when it reports no history).
    #[must_use]
    pub fn reported_history(&self) -> &[PriorProcedure] {
        self.history.as_deref().unwrap_or_default()
    }
}

fact_struct! {
    /// The member the request is for.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct Member {
        /// The plan's member identifier.
        pub id: Option<String>,
        /// Date of birth; age is computed at the service date.
        #[schemars(with = "Option<IsoDate>")]
        pub birth_date: Option<Date>,
        /// Sex.
        pub sex: Option<Sex>,
        /// Currently pregnant.
        pub pregnant: Option<bool>,
        /// Currently lactating.
        pub lactating: Option<bool>,
        /// Body-mass index.
        pub bmi: Option<Bmi>,
        /// Most recent HbA1c, percent.
        pub hba1c_percent: Option<Hba1c>,
        /// Skeletally mature (absent: age 18 or over counts as mature).
        pub skeletally_mature: Option<bool>,
    }
}

fact_struct! {
    /// One requested procedure or device.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ServiceLine {
        /// CPT or HCPCS code.
        pub code: ProcedureCode,
        /// Units (default 1).
        #[serde(default)]
        pub units: Units,
        /// Modifiers: 50 (bilateral), LT, RT; others are kept but ignored.
        #[serde(default)]
        pub modifiers: Vec<String>,
        /// Side; derived from the modifiers when absent.
        pub side: Option<Side>,
        /// Spinal levels: segments (L4-L5) or vertebrae (L4).
        pub levels: Option<Vec<Level>>,
        /// Diagnostic or therapeutic.
        pub purpose: Option<Purpose>,
        /// Why a diagnostic block is done.
        pub diagnostic_goal: Option<DiagnosticGoal>,
        /// What is injected or ablated (derived from the code where the code decides it).
        pub target: Option<Target>,
        /// Epidural approach (derived from the code where the code decides it).
        pub approach: Option<Approach>,
        /// Image guidance (derived from the code where the code decides it).
        pub guidance: Option<Guidance>,
        /// Contrast used to confirm needle placement.
        pub contrast_used: Option<bool>,
        /// Fluoroscopy or CT cannot be used, for a documented reason.
        pub guidance_contraindicated: Option<bool>,
        /// Documented allergy to contrast.
        pub contrast_allergy: Option<bool>,
        /// What is injected.
        pub injectates: Option<Vec<Injectate>>,
        /// Total injectate volume in mL.
        pub volume_ml: Option<Millilitres>,
        /// Ablation technique.
        pub ablation_technique: Option<AblationTechnique>,
        /// Lesion temperature for thermal ablation, degrees Celsius.
        pub ablation_temperature_c: Option<Celsius>,
        /// Neurostimulator phase.
        pub neurostim_phase: Option<NeurostimPhase>,
        /// Neurostimulator kind.
        pub neurostim_kind: Option<NeurostimKind>,
        /// Lead type.
        pub lead_type: Option<LeadType>,
        /// What differs in a one-time second epidural injection.
        pub second_injection_change: Option<Vec<SecondInjectionChange>>,
        /// The rationale some repeats require is documented in the medical record.
        pub rationale_documented: Option<bool>,
    }
}

fact_struct! {
    /// Clinical information: symptoms, examination, severity, attestations and screening.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct Clinical {
        /// Current index pain, 0-10.
        pub pain_score: Option<PainScore>,
        /// Pain on most days, 0-10.
        pub pain_score_most_days: Option<PainScore>,
        /// When the pain began.
        #[schemars(with = "Option<IsoDate>")]
        pub pain_onset_date: Option<Date>,
        /// How many ADLs/IADLs are impaired.
        pub adl_iadl_impaired_count: Option<AdlCount>,
        /// Functional impairment documented.
        pub functional_impairment: Option<bool>,
        /// A physical examination was completed.
        pub physical_exam_completed: Option<bool>,
        /// Reevaluated after conservative care.
        pub reevaluated_after_conservative_care: Option<bool>,
        /// At reevaluation, worse or not significantly better.
        pub no_significant_improvement: Option<bool>,
        /// A more invasive therapy is being considered.
        pub invasive_therapy_considered: Option<bool>,
        /// Where the pain is.
        pub pain_location: Option<Vec<PainLocation>>,
        /// Lower-limb pain, 0-10.
        pub lower_limb_pain_score: Option<PainScore>,
        /// Upper-limb pain, 0-10.
        pub upper_limb_pain_score: Option<PainScore>,
        /// Radicular (dermatomal) pain.
        pub radicular_pain: Option<bool>,
        /// Radiculopathy.
        pub radiculopathy: Option<bool>,
        /// Objective radiculopathy signs matching the nerve root.
        pub radiculopathy_signs: Option<Vec<RadiculopathySign>>,
        /// Neurogenic claudication.
        pub neurogenic_claudication: Option<bool>,
        /// Axial pain predominates.
        pub axial_pain_predominant: Option<bool>,
        /// The pain is attributable to radiculopathy.
        pub pain_attributable_to_radiculopathy: Option<bool>,
        /// The pain is attributable to myelopathy.
        pub pain_attributable_to_myelopathy: Option<bool>,
        /// The examination points to the facet joint.
        pub exam_consistent_with_facet_pain: Option<bool>,
        /// Fused segments (empty: none).
        pub fusion_levels: Option<Vec<Level>>,
        /// A pars defect is suspected as the main pain source.
        pub pars_defect_suspected_primary: Option<bool>,
        /// Spondylolisthesis grade.
        pub spondylolisthesis_grade: Option<SpondylolisthesisGrade>,
        /// Dynamic instability.
        pub dynamic_instability: Option<bool>,
        /// A systemic inflammatory arthropathy.
        pub systemic_inflammatory_arthropathy: Option<bool>,
        /// Denervation is contraindicated.
        pub denervation_contraindicated: Option<bool>,
        /// Pacemaker dependent.
        pub pacemaker_dependent: Option<bool>,
        /// Cardiology was consulted about denervation.
        pub cardiology_consulted_on_denervation: Option<bool>,
        /// The source of recurrent pain is uncertain.
        pub recurrent_pain_source_uncertain: Option<bool>,
        /// A large facet cyst compresses a nerve root.
        pub large_facet_cyst_compressing_root: Option<bool>,
        /// Pain below L5, localised over the SI joint.
        pub si_pain_below_l5_localized: Option<bool>,
        /// The SI pain is one-sided.
        pub si_pain_unilateral: Option<bool>,
        /// Tenderness isolated to the sacral sulcus.
        pub sacral_sulcus_tenderness_isolated: Option<bool>,
        /// Positive SI provocative tests.
        pub si_provocative_tests_positive: Option<Vec<SiProvocativeTest>>,
        /// A radicular condition is treated, stable and optimised.
        pub radicular_condition_optimized_and_stable: Option<bool>,
        /// The SI joint is fused.
        pub si_joint_fused: Option<bool>,
        /// Ongoing active rehabilitation or home exercise program.
        pub active_rehab_program: Option<bool>,
        /// SI joint fusion is planned.
        pub planned_si_fusion: Option<bool>,
        /// Modic endplate findings.
        pub modic_findings: Option<Vec<ModicFinding>>,
        /// Other pain sources were ruled out.
        pub other_pain_sources_ruled_out: Option<bool>,
        /// Vertebral augmentation planned at these levels.
        pub vertebral_augmentation_planned_levels: Option<Vec<Level>>,
        /// Prior lumbar surgery.
        pub prior_lumbar_surgery: Option<Vec<LumbarSurgery>>,
        /// Bone-density T-score.
        pub osteoporosis_t_score: Option<TScore>,
        /// Largest disc protrusion at L3-S1, mm.
        pub disc_protrusion_mm_max_l3_s1: Option<Millimetres>,
        /// Largest spondylolisthesis, mm.
        pub spondylolisthesis_mm_max: Option<Millimetres>,
        /// Pain out of proportion to the inciting event.
        pub crps_pain_disproportionate: Option<bool>,
        /// No other diagnosis better explains the signs and symptoms.
        pub crps_no_better_diagnosis: Option<bool>,
        /// CRPS symptom categories reported.
        pub crps_symptom_categories: Option<Vec<CrpsCategory>>,
        /// CRPS sign categories seen at evaluation.
        pub crps_sign_categories: Option<Vec<CrpsCategory>>,
        /// Ongoing participation in a comprehensive pain program.
        pub comprehensive_pain_program: Option<bool>,
        /// Chronic intractable neuropathic pain.
        pub neuropathic_pain_chronic_intractable: Option<bool>,
        /// The condition a stimulator is for.
        pub scs_condition: Option<ScsCondition>,
        /// Evidence of arachnoiditis.
        pub arachnoiditis_evidence: Option<Vec<ArachnoiditisEvidence>>,
        /// Months of painful diabetic neuropathy.
        pub pdn_duration_months: Option<Months>,
        /// Neuropathy severity on EMG/NCS.
        pub emg_ncs_neuropathy_severity: Option<NeuropathySeverity>,
        /// PDN confirmed by another specialist.
        pub pdn_confirmed_by_other_specialist: Option<bool>,
        /// Daily morphine milligram equivalents.
        pub daily_mme: Option<Mme>,
        /// Medical clearance documented.
        pub medical_clearance: Option<bool>,
        /// Other causes of neuropathy ruled out.
        pub other_neuropathy_causes_ruled_out: Option<bool>,
        /// Medical management optimised.
        pub medical_management_optimized: Option<bool>,
        /// Drug categories failed or not tolerated.
        pub failed_drug_categories: Option<Vec<DrugCategory>>,
        /// Documented pathology or other objective basis for the pain.
        pub objective_basis_for_pain: Option<bool>,
        /// A trial of sympathetic blocks failed.
        pub sympathetic_block_trial_failed: Option<bool>,
        /// Evaluated by a pain specialist.
        pub pain_specialist_evaluated: Option<bool>,
        /// Facilities, equipment and staff are available.
        pub facilities_available: Option<bool>,
        /// A surgical opinion found no correctable lesion.
        pub surgical_opinion_no_correctable_lesion: Option<bool>,
        /// Date of the mental health evaluation.
        #[schemars(with = "Option<IsoDate>")]
        pub mental_health_evaluation_date: Option<Date>,
        /// Cleared by the mental health evaluation.
        pub mental_health_cleared: Option<bool>,
        /// Percutaneous leads are not feasible.
        pub percutaneous_lead_not_feasible: Option<bool>,
        /// Any prior lumbar spine surgery.
        pub prior_lumbar_spine_surgery: Option<bool>,
        /// The current stimulator.
        pub current_stimulator: Option<CurrentStimulator>,
        /// The current stimulator's kind.
        pub current_stimulator_kind: Option<NeurostimKind>,
        /// Stimulator complications.
        pub stimulator_complications: Option<Vec<StimulatorComplication>>,
        /// Surgery is being considered.
        pub surgery_considered: Option<bool>,
        /// A surgical consult is documented.
        pub surgical_consult_documented: Option<bool>,
        /// Why the surgical consult asks for a block.
        pub surgical_consult_reason: Option<SurgicalConsultReason>,
        /// The epidural is for postoperative pain management.
        pub postoperative_pain_management: Option<bool>,
        /// The epidural is for an implantable infusion pump trial.
        pub infusion_pump_trial: Option<bool>,
        /// Conditions present (screening).
        pub conditions_present: Option<Vec<ScreenableCondition>>,
        /// Every screenable condition was checked; those not listed are absent.
        pub conditions_screened: Option<bool>,
        /// Date of a spinal fracture.
        #[schemars(with = "Option<IsoDate>")]
        pub spinal_fracture_date: Option<Date>,
        /// New neck or low back pain with known or suspected cancer.
        pub new_pain_with_malignancy_or_suspicion: Option<bool>,
        /// New pain in a member at risk of spinal infection or osteoporotic fracture.
        pub new_pain_with_infection_or_fracture_risk: Option<bool>,
        /// Coagulopathy or anticoagulant treatment.
        pub coagulopathy_or_anticoagulated: Option<bool>,
        /// Back pain after acute trauma.
        pub acute_trauma: Option<bool>,
        /// Cauda equina syndrome.
        pub cauda_equina_syndrome: Option<bool>,
        /// Conus medullaris syndrome.
        pub conus_medullaris_syndrome: Option<bool>,
        /// Too little epidural space at the target level.
        pub inadequate_epidural_space: Option<bool>,
        /// Epidural hematoma.
        pub epidural_hematoma: Option<bool>,
        /// Epidural abscess.
        pub epidural_abscess: Option<bool>,
        /// Epidural mass.
        pub epidural_mass: Option<bool>,
        /// Subarachnoid hemorrhage.
        pub subarachnoid_hemorrhage: Option<bool>,
        /// Spinal cord ischemia.
        pub spinal_cord_ischemia: Option<bool>,
        /// Spinal fracture in the last 6 weeks.
        #[serde(rename = "spinal_fracture_within_6_weeks")]
        pub spinal_fracture_within_6_weeks: Option<bool>,
        /// Demyelinating disease or a CNS process predisposing to myelitis.
        pub demyelinating_or_cns_risk_of_myelitis: Option<bool>,
        /// Systemic infection.
        pub systemic_infection: Option<bool>,
        /// Infection at the injection site.
        pub local_infection_at_site: Option<bool>,
        /// Uncontrolled diabetes.
        pub uncontrolled_diabetes: Option<bool>,
        /// Moderate or severe myelopathy on examination.
        pub myelopathy_moderate_to_severe: Option<bool>,
        /// Intramedullary signal change on MRI.
        pub intramedullary_signal_change: Option<bool>,
        /// Non-facet pathology (fracture, tumour, infection).
        pub non_facet_pathology_present: Option<bool>,
        /// Non-vertebrogenic pathology.
        pub non_vertebrogenic_pathology_present: Option<bool>,
        /// Severe cardiac or pulmonary compromise.
        pub severe_cardiopulmonary_compromise: Option<bool>,
        /// Symptomatic spinal stenosis.
        pub symptomatic_spinal_stenosis: Option<bool>,
        /// Osteoporosis.
        pub osteoporosis: Option<bool>,
        /// Metabolic bone disease.
        pub metabolic_bone_disease: Option<bool>,
        /// History of spinal fragility fracture.
        pub fragility_fracture_history: Option<bool>,
        /// Fracture at the target level.
        pub fracture_at_target_level: Option<bool>,
        /// Spinal cancer.
        pub spinal_cancer: Option<bool>,
        /// Spine infection.
        pub spine_infection: Option<bool>,
        /// Bleeding diathesis.
        pub bleeding_diathesis: Option<bool>,
        /// Spondylolysis.
        pub spondylolysis: Option<bool>,
        /// Facet arthrosis correlated with facet pain at L3-S1.
        pub facet_arthrosis_correlated_l3_s1: Option<bool>,
        /// Extended-release opioids with addiction behaviours.
        pub extended_release_opioids_with_addiction_behaviors: Option<bool>,
        /// Cannot have MRI.
        pub mri_contraindicated: Option<bool>,
        /// Allergy to device components.
        pub device_component_allergy: Option<bool>,
        /// An active implanted device.
        pub active_implanted_device: Option<bool>,
        /// Untreated drug addiction.
        pub untreated_drug_addiction: Option<bool>,
    }
}

/// A Modic endplate finding at a vertebra.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModicFinding {
    pub vertebra: Level,
    #[serde(rename = "type")]
    pub modic_type: ModicType,
}

/// A prior lumbar surgery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LumbarSurgery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<SurgeryKind>,
    #[schemars(with = "Option<IsoDate>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub radicular_pain_resolved: Option<bool>,
}

macro_rules! record_list {
    ($($ty:ty),*) => {$(
        impl crate::facts::FactListItem for $ty {
            const LIST_KIND: crate::facts::FieldKind = crate::facts::FieldKind::Records;
            fn list_value(items: &[Self]) -> crate::facts::FieldValue<'_> {
                crate::facts::FieldValue::Records(items.len())
            }
        }
    )*};
}
record_list!(ModicFinding, LumbarSurgery, CareEpisode, ImagingStudy, Finding, PriorProcedure);

fact_struct! {
    /// An episode of conservative care.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct CareEpisode {
        /// What kind of care.
        pub kind: CareKind,
        /// For alternative therapy: which.
        pub modality: Option<AlternativeModality>,
        /// Start date.
        #[schemars(with = "Option<IsoDate>")]
        pub start: Option<Date>,
        /// End date (or `ongoing: true`).
        #[schemars(with = "Option<IsoDate>")]
        pub end: Option<Date>,
        /// Continues at the service date.
        pub ongoing: Option<bool>,
        /// Supervised by a physician or therapist.
        pub supervised: Option<bool>,
        /// Supervised by a physician.
        pub physician_supervised: Option<bool>,
        /// Outcome (informational).
        pub outcome: Option<CareOutcome>,
        /// Home program tailored to the patient.
        pub tailored: Option<bool>,
        /// Home program taught in person by an MD, DO or PT who watched a return demonstration.
        pub instructed_by_md_do_pt_with_return_demo: Option<bool>,
        /// Home program compliance documented.
        pub compliance_documented: Option<bool>,
    }
}

/// An imaging study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImagingStudy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modality: Option<ImagingModality>,
    #[schemars(with = "Option<IsoDate>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    /// Read by an independent radiologist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub independent_radiologist: Option<bool>,
    /// Findings correlate with the clinical findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlates_with_clinical: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<Vec<Finding>>,
}

/// One imaging finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    pub kind: FindingKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nerve_root_compression: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_to: Option<DueTo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_mm: Option<Millimetres>,
}

fact_struct! {
    /// A prior procedure, reported by the submitter or stored for the member.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct PriorProcedure {
        /// CPT or HCPCS code.
        pub code: Option<ProcedureCode>,
        /// What was injected or ablated.
        pub target: Option<Target>,
        /// Date performed.
        #[schemars(with = "IsoDate")]
        pub date: Date,
        /// Modifiers (50, LT, RT), from which the side is derived when absent.
        #[serde(default)]
        pub modifiers: Vec<String>,
        /// Side.
        pub side: Option<Side>,
        /// Levels.
        pub levels: Option<Vec<Level>>,
        /// Diagnostic or therapeutic.
        pub purpose: Option<Purpose>,
        /// Why a diagnostic block was done.
        pub diagnostic_goal: Option<DiagnosticGoal>,
        /// What was injected.
        pub injectates: Option<Vec<Injectate>>,
        /// Ablation technique.
        pub ablation_technique: Option<AblationTechnique>,
        /// Peak relief of the index pain, percent.
        pub relief_percent: Option<Percent>,
        /// How long at least that relief lasted, days.
        pub relief_duration_days: Option<Days>,
        /// Relief onset consistent with the anesthetic.
        pub relief_onset_consistent_with_agent: Option<bool>,
        /// Relief duration consistent with the anesthetic.
        pub relief_duration_consistent_with_agent: Option<bool>,
        /// Relief within the first 2 weeks, percent.
        pub relief_within_2_weeks_percent: Option<Percent>,
        /// Function improved.
        pub function_improved: Option<bool>,
        /// ADLs improved.
        pub adl_improved: Option<bool>,
        /// Pain medication use decreased.
        pub medication_use_decreased: Option<bool>,
        /// Touch tolerance improved.
        pub touch_tolerance_improved: Option<bool>,
        /// Limb temperature rise, degrees Celsius.
        pub limb_temperature_rise_c: Option<CelsiusDelta>,
        /// A somatic block was excluded.
        pub somatic_block_excluded: Option<bool>,
        /// This was a one-time second epidural injection.
        pub is_second_injection: Option<bool>,
        /// Neurostimulator phase.
        pub neurostim_phase: Option<NeurostimPhase>,
        /// Neurostimulator kind.
        pub neurostim_kind: Option<NeurostimKind>,
        /// Stimulator trial length, days.
        pub trial_duration_days: Option<Days>,
        /// Analgesic reduction, percent.
        pub analgesic_reduction_percent: Option<Percent>,
        /// Outcome.
        pub outcome: Option<ProcedureOutcome>,
        /// Why it failed.
        pub failure_reason: Option<FailureReason>,
    }
}
