//! How sure a caption is: from what the model produced for it (each chosen token's
//! log-prob, the concept scores) to a confidence in [0, 1] and an `unsure` flag.
//!
//! Input: a finished caption's token log-probs and concepts. Output:
//! [`ConfidenceFeatures`], then `confidence = sigmoid(weights . features + bias)` and
//! `unsure = confidence < threshold` with the pack's [`Calibration`].
//!
//! The features are few on purpose, each cheap and each telling a different story:
//! - `mean_token_log_prob`: how fluent the whole caption was to the model; a decoder
//!   that has nothing to say spreads its probability over many words.
//! - `min_token_log_prob`: the weakest word; one forced word can make a caption wrong
//!   while the mean still looks fine.
//! - `top_concept_score`: whether the vision side found any concept at all; noise,
//!   flat colour and textures rarely light one up.
//! - `mean_top5_concept_score`: the same, less sensitive to one spurious concept.
//! - `image_evidence`: how strongly the backbone responds to the image at all (the
//!   spread of its feature grid, an output of the vision graph where the pack has it,
//!   else 0): photographs light many features, noise, flat colour, stripes and text
//!   pages few, even where the ImageNet head is confidently wrong about them.
//!
//! A pack's manifest may carry a fitted `confidence` section (`python -m
//! lightcap.calibrate` writes it). A pack without one is **uncalibrated**: its
//! confidence is the caption's geometric-mean token probability,
//! `exp(mean_token_log_prob)`, and `unsure` is `confidence < 0.5`. That number ranks
//! captions of one pack sensibly but is not a probability of being right.

use crate::captioner::Concept;
use crate::error::{Error, Result};
use crate::manifest::{ConfidenceSpec, MANIFEST_FILE};

/// The feature names a manifest's `confidence.features` may use.
pub const FEATURE_NAMES: [&str; 5] = [
    "mean_token_log_prob",
    "min_token_log_prob",
    "top_concept_score",
    "mean_top5_concept_score",
    IMAGE_EVIDENCE,
];

/// The feature only packs whose vision graph has an `image_evidence` output can use.
pub const IMAGE_EVIDENCE: &str = "image_evidence";

/// The `unsure` threshold of packs without a calibration.
pub const UNCALIBRATED_THRESHOLD: f32 = 0.5;

/// Log-probs below this are clamped, so that a forced token (log-prob -inf after the
/// search's constraints) still gives finite features.
const LOG_PROB_FLOOR: f32 = -30.0;

/// What the confidence is computed from, for one caption.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ConfidenceFeatures {
    /// Mean log-probability of the generated tokens ([SEP] included when generated).
    pub mean_token_log_prob: f32,
    /// Lowest log-probability among them.
    pub min_token_log_prob: f32,
    /// Highest concept score (sigmoid, in [0, 1]).
    pub top_concept_score: f32,
    /// Mean of the five highest concept scores (fewer if the pack reports fewer).
    pub mean_top5_concept_score: f32,
    /// The vision graph's `image_evidence` (the standard deviation of the backbone's
    /// feature grid); 0 for a pack whose graph does not report it.
    pub image_evidence: f32,
}

impl ConfidenceFeatures {
    /// Features of a caption from its tokens' log-probs, its concepts and the vision
    /// graph's image evidence (where the pack has it).
    pub fn compute(
        token_log_probs: &[f32],
        concepts: &[Concept],
        image_evidence: Option<f32>,
    ) -> Self {
        let clamped = token_log_probs.iter().map(|&lp| {
            if lp.is_nan() {
                LOG_PROB_FLOOR
            } else {
                lp.clamp(LOG_PROB_FLOOR, 0.0)
            }
        });
        let (mean_token_log_prob, min_token_log_prob) = if token_log_probs.is_empty() {
            (LOG_PROB_FLOOR, LOG_PROB_FLOOR)
        } else {
            let (sum, min) = clamped.fold((0f32, 0f32), |(s, m), lp| (s + lp, m.min(lp)));
            (sum / token_log_probs.len() as f32, min)
        };
        let mut scores: Vec<f32> = concepts
            .iter()
            .map(|c| if c.score.is_finite() { c.score } else { 0.0 })
            .collect();
        scores.sort_by(|a, b| b.total_cmp(a));
        let top5 = &scores[..scores.len().min(5)];
        ConfidenceFeatures {
            mean_token_log_prob,
            min_token_log_prob,
            top_concept_score: scores.first().copied().unwrap_or(0.0),
            mean_top5_concept_score: if top5.is_empty() {
                0.0
            } else {
                top5.iter().sum::<f32>() / top5.len() as f32
            },
            image_evidence: image_evidence.filter(|e| e.is_finite()).unwrap_or(0.0),
        }
    }

    /// The feature called `name` (one of [`FEATURE_NAMES`]).
    pub fn get(&self, name: &str) -> Option<f32> {
        Some(match name {
            "mean_token_log_prob" => self.mean_token_log_prob,
            "min_token_log_prob" => self.min_token_log_prob,
            "top_concept_score" => self.top_concept_score,
            "mean_top5_concept_score" => self.mean_top5_concept_score,
            IMAGE_EVIDENCE => self.image_evidence,
            _ => return None,
        })
    }

    /// Every feature with its name, in [`FEATURE_NAMES`] order.
    pub fn named(&self) -> [(&'static str, f32); 5] {
        FEATURE_NAMES.map(|name| (name, self.get(name).expect("a known name")))
    }
}

/// Which feature a weight multiplies (checked at load, so scoring cannot fail).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Feature {
    MeanTokenLogProb,
    MinTokenLogProb,
    TopConceptScore,
    MeanTop5ConceptScore,
    ImageEvidence,
}

impl Feature {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "mean_token_log_prob" => Feature::MeanTokenLogProb,
            "min_token_log_prob" => Feature::MinTokenLogProb,
            "top_concept_score" => Feature::TopConceptScore,
            "mean_top5_concept_score" => Feature::MeanTop5ConceptScore,
            IMAGE_EVIDENCE => Feature::ImageEvidence,
            _ => return None,
        })
    }

    fn of(self, f: &ConfidenceFeatures) -> f32 {
        match self {
            Feature::MeanTokenLogProb => f.mean_token_log_prob,
            Feature::MinTokenLogProb => f.min_token_log_prob,
            Feature::TopConceptScore => f.top_concept_score,
            Feature::MeanTop5ConceptScore => f.mean_top5_concept_score,
            Feature::ImageEvidence => f.image_evidence,
        }
    }
}

/// A pack's rule from features to confidence: fitted (from the manifest) or the
/// documented uncalibrated default.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// `None`: uncalibrated, confidence = exp(mean token log-prob).
    terms: Option<(Vec<(Feature, f32)>, f32)>,
    threshold: f32,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration {
            terms: None,
            threshold: UNCALIBRATED_THRESHOLD,
        }
    }
}

impl Calibration {
    /// The calibration a manifest asks for; `None` gives the uncalibrated default.
    pub fn for_manifest(spec: Option<&ConfidenceSpec>) -> Result<Self> {
        spec.map_or_else(|| Ok(Calibration::default()), Calibration::from_spec)
    }

    /// Check a manifest's `confidence` section; errors name the field at fault.
    pub fn from_spec(spec: &ConfidenceSpec) -> Result<Self> {
        let bad = |problem: String| Err(Error::pack(MANIFEST_FILE, problem));
        if spec.features.is_empty() {
            return bad("`confidence.features` is empty".into());
        }
        if spec.weights.len() != spec.features.len() {
            return bad(format!(
                "`confidence.weights` has {} values for {} features",
                spec.weights.len(),
                spec.features.len()
            ));
        }
        let mut terms = Vec::with_capacity(spec.features.len());
        for (i, (name, &weight)) in spec.features.iter().zip(&spec.weights).enumerate() {
            let Some(feature) = Feature::parse(name) else {
                return bad(format!(
                    "`confidence.features[{i}]` {name:?} is not one of {FEATURE_NAMES:?}"
                ));
            };
            if spec.features[..i].contains(name) {
                return bad(format!("`confidence.features[{i}]` {name:?} is repeated"));
            }
            if !weight.is_finite() {
                return bad(format!("`confidence.weights[{i}]` is {weight}, not finite"));
            }
            terms.push((feature, weight));
        }
        if !spec.bias.is_finite() {
            return bad(format!("`confidence.bias` is {}, not finite", spec.bias));
        }
        if !(0.0..=1.0).contains(&spec.threshold) {
            return bad(format!(
                "`confidence.threshold` {} is outside [0, 1]",
                spec.threshold
            ));
        }
        Ok(Calibration {
            terms: Some((terms, spec.bias)),
            threshold: spec.threshold,
        })
    }

    /// Whether the calibration weighs the image evidence (the pack must then report it).
    pub fn uses_image_evidence(&self) -> bool {
        (self.terms.as_ref())
            .is_some_and(|(terms, _)| terms.iter().any(|(f, _)| *f == Feature::ImageEvidence))
    }

    /// Whether the pack was calibrated (false: the uncalibrated default).
    pub fn is_calibrated(&self) -> bool {
        self.terms.is_some()
    }

    /// Captions with a confidence below this are unsure.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Confidence in [0, 1].
    pub fn confidence(&self, features: &ConfidenceFeatures) -> f32 {
        let value = match &self.terms {
            None => features.mean_token_log_prob.exp(),
            Some((terms, bias)) => {
                let z: f32 = bias + terms.iter().map(|(f, w)| w * f.of(features)).sum::<f32>();
                sigmoid(z)
            }
        };
        if value.is_nan() {
            0.0
        } else {
            value.clamp(0.0, 1.0)
        }
    }

    /// `(confidence, unsure)` for a caption's features.
    pub fn judge(&self, features: &ConfidenceFeatures) -> (f32, bool) {
        let confidence = self.confidence(features);
        (confidence, confidence < self.threshold)
    }
}

fn sigmoid(z: f32) -> f32 {
    // Split by sign so that exp never overflows.
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn concept(score: f32) -> Concept {
        Concept {
            name: "x".into(),
            score,
            index: 0,
        }
    }

    fn spec(features: &[&str], weights: &[f32], bias: f32, threshold: f32) -> ConfidenceSpec {
        ConfidenceSpec {
            features: features.iter().map(|s| s.to_string()).collect(),
            weights: weights.to_vec(),
            bias,
            threshold,
            calibrated_on: String::new(),
        }
    }

    fn problem(result: Result<Calibration>) -> String {
        match result {
            Err(Error::InvalidPack { file, problem }) => {
                assert_eq!(file, "manifest.json");
                problem
            }
            other => panic!("expected InvalidPack, got {other:?}"),
        }
    }

    #[test]
    fn features_are_mean_min_and_top_concepts() {
        let concepts: Vec<Concept> = [0.1, 0.9, 0.3, 0.5, 0.2, 0.7, 0.05]
            .into_iter()
            .map(concept)
            .collect();
        let f = ConfidenceFeatures::compute(&[-0.5, -2.0, -0.5], &concepts, Some(0.75));
        assert!((f.mean_token_log_prob - -1.0).abs() < 1e-6);
        assert_eq!(f.min_token_log_prob, -2.0);
        assert_eq!(f.top_concept_score, 0.9);
        assert!((f.mean_top5_concept_score - (0.9 + 0.7 + 0.5 + 0.3 + 0.2) / 5.0).abs() < 1e-6);
        assert_eq!(f.get("top_concept_score"), Some(0.9));
        assert_eq!(f.get("nope"), None);
        assert_eq!(f.named()[1], ("min_token_log_prob", -2.0));
        assert_eq!(f.named()[4], ("image_evidence", 0.75));
    }

    #[test]
    fn forced_tokens_and_missing_values_give_finite_features() {
        let f =
            ConfidenceFeatures::compute(&[f32::NEG_INFINITY, -1.0, f32::NAN], &[], Some(f32::NAN));
        assert_eq!(f.image_evidence, 0.0, "a NaN evidence counts as none");
        assert_eq!(f.min_token_log_prob, LOG_PROB_FLOOR);
        assert!((f.mean_token_log_prob - (2.0 * LOG_PROB_FLOOR - 1.0) / 3.0).abs() < 1e-4);
        assert_eq!((f.top_concept_score, f.mean_top5_concept_score), (0.0, 0.0));
        let few = ConfidenceFeatures::compute(&[], &[concept(0.4), concept(0.2)], None);
        assert_eq!(few.mean_token_log_prob, LOG_PROB_FLOOR);
        assert!((few.mean_top5_concept_score - 0.3).abs() < 1e-6);
    }

    #[test]
    fn uncalibrated_confidence_is_the_geometric_mean_token_probability() {
        let c = Calibration::for_manifest(None).unwrap();
        assert!(!c.is_calibrated());
        let f = ConfidenceFeatures {
            mean_token_log_prob: 0.8f32.ln(),
            ..Default::default()
        };
        let (confidence, unsure) = c.judge(&f);
        assert!((confidence - 0.8).abs() < 1e-6);
        assert!(!unsure);
        let low = ConfidenceFeatures {
            mean_token_log_prob: 0.3f32.ln(),
            ..Default::default()
        };
        assert!(c.judge(&low).1);
    }

    #[test]
    fn calibrated_confidence_is_a_logistic_of_the_named_features() {
        let c = Calibration::from_spec(&spec(
            &["top_concept_score", "mean_token_log_prob", "image_evidence"],
            &[4.0, 0.5, 2.0],
            -2.0,
            0.6,
        ))
        .unwrap();
        assert!(c.is_calibrated() && c.uses_image_evidence());
        let f = ConfidenceFeatures {
            mean_token_log_prob: -2.0,
            min_token_log_prob: -9.0,
            top_concept_score: 0.75,
            mean_top5_concept_score: 0.1,
            image_evidence: 0.5,
        };
        // z = -2 + 4 * 0.75 + 0.5 * -2 + 2 * 0.5 = 1
        let want = 1.0 / (1.0 + (-1.0f32).exp());
        let (confidence, unsure) = c.judge(&f);
        assert!((confidence - want).abs() < 1e-6, "{confidence}");
        assert!(unsure == (want < 0.6));
        assert_eq!(c.threshold(), 0.6);
    }

    #[test]
    fn sigmoid_is_stable_at_the_extremes() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert!((sigmoid(2.0) + sigmoid(-2.0) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn bad_sections_name_the_field() {
        let names = ["top_concept_score"];
        let p = problem(Calibration::from_spec(&spec(&[], &[], 0.0, 0.5)));
        assert!(p.contains("`confidence.features` is empty"), "{p}");
        let p = problem(Calibration::from_spec(&spec(
            &["colourfulness"],
            &[1.0],
            0.0,
            0.5,
        )));
        assert!(
            p.contains("`confidence.features[0]`") && p.contains("colourfulness"),
            "{p}"
        );
        let p = problem(Calibration::from_spec(&spec(
            &["top_concept_score", "top_concept_score"],
            &[1.0, 1.0],
            0.0,
            0.5,
        )));
        assert!(
            p.contains("`confidence.features[1]`") && p.contains("repeated"),
            "{p}"
        );
        let p = problem(Calibration::from_spec(&spec(&names, &[1.0, 2.0], 0.0, 0.5)));
        assert!(
            p.contains("`confidence.weights` has 2 values for 1 features"),
            "{p}"
        );
        let p = problem(Calibration::from_spec(&spec(&names, &[f32::NAN], 0.0, 0.5)));
        assert!(p.contains("`confidence.weights[0]` is NaN"), "{p}");
        let p = problem(Calibration::from_spec(&spec(
            &names,
            &[1.0],
            f32::INFINITY,
            0.5,
        )));
        assert!(p.contains("`confidence.bias` is inf"), "{p}");
        for threshold in [-0.1, 1.5, f32::NAN] {
            let p = problem(Calibration::from_spec(&spec(
                &names,
                &[1.0],
                0.0,
                threshold,
            )));
            assert!(p.contains("`confidence.threshold`"), "{p}");
        }
    }
}
