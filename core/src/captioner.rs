//! `Captioner`: a loaded pack, and `caption()` from image to text.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tract_nnef::prelude::*;

use crate::confidence::{Calibration, ConfidenceFeatures};
use crate::decode::{Search, Stepper};
use crate::error::{Error, Result};
use crate::grounding::GroundingTables;
use crate::manifest::{MANIFEST_FILE, Manifest};
use crate::options::CaptionOptions;
use crate::pack::{LoadedPack, PackFiles, Plan};
use crate::panic_guard::catch_panic;
use crate::phrasing::agree_articles;
use crate::preprocess::{self, ImageInput};
use crate::profile::{self, GraphProfile};
use crate::vocabulary::DecoderVocabulary;

/// A model pack loaded and ready to caption.
///
/// Built once (loading validates the pack and optimises both graphs), then
/// shared: `Captioner` is `Send + Sync`, and every `caption` call keeps its own
/// state, so many threads may caption with one instance at once. Each call
/// runs on the calling thread only.
pub struct Captioner {
    pack: LoadedPack,
    calibration: Calibration,
    vocabulary: DecoderVocabulary,
    /// The pack's grounding tables in decoder ids, when it has them.
    grounding: Option<GroundingTables>,
}

/// One concept the vision graph saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Concept {
    pub name: String,
    /// Sigmoid score in [0, 1].
    pub score: f32,
    /// Index in the pack's concept list.
    pub index: u32,
}

/// Wall time spent in each stage of one caption.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Decoding the encoded image (zero for raw frames).
    pub decode: Duration,
    /// Crop, resize and layout.
    pub preprocess: Duration,
    /// The vision graph: backbone, concepts, prefix cache.
    pub vision: Duration,
    /// All decoder steps and detokenisation.
    pub text: Duration,
    pub total: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Caption {
    pub text: String,
    /// Generated WordPiece ids, without [SEP].
    pub token_ids: Vec<u32>,
    /// The same as WordPiece strings ("##" marks a continuation).
    pub tokens: Vec<String>,
    /// Sum of the chosen tokens' log-probabilities ([SEP] included when generated).
    pub log_prob: f32,
    /// Each generated token's log-probability, [SEP] included when generated (so one
    /// more entry than `token_ids` when `finished`).
    pub token_log_probs: Vec<f32>,
    /// What `confidence` was computed from.
    pub features: ConfidenceFeatures,
    /// How likely the caption is to describe a real scene, in [0, 1]: calibrated when
    /// the pack has a `confidence` section, else exp(mean token log-prob)
    /// (`confidence` module docs).
    pub confidence: f32,
    /// `confidence` is below the pack's threshold: the app should hedge or say it
    /// cannot describe the image.
    pub unsure: bool,
    /// False when the caption hit max_length before the model ended it.
    pub finished: bool,
    /// The top-K concepts, best first.
    pub concepts: Vec<Concept>,
    pub timings: Timings,
    /// Decoder steps run.
    pub steps: usize,
}

/// Cancels a caption in progress from another thread; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
    fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}

impl Captioner {
    /// Load a pack folder (`manifest.json` and the files it lists).
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        Self::from_files(PackFiles::read_dir(dir.as_ref())?)
    }

    /// Load a pack whose files are already in memory. They are consumed: each graph's
    /// bytes are freed once parsed, which lowers the peak memory of loading.
    pub fn from_files(files: PackFiles) -> Result<Self> {
        let started = Instant::now();
        let pack = LoadedPack::load(files)?;
        let calibration = Calibration::for_manifest(pack.manifest.confidence.as_ref())?;
        let has_evidence = (pack.manifest.graphs.vision.outputs.iter())
            .any(|o| o.name == crate::pack::contract::IMAGE_EVIDENCE_OUTPUT);
        if calibration.uses_image_evidence() && !has_evidence {
            return Err(Error::pack(
                MANIFEST_FILE,
                "`confidence.features` uses image_evidence, which the vision graph does not output",
            ));
        }
        log::info!(
            "loaded pack {} {} in {:.0?}",
            pack.manifest.model.name,
            pack.manifest.model.version,
            started.elapsed()
        );
        let vocabulary = DecoderVocabulary::for_tokenizer(&pack.manifest.tokenizer)?;
        let grounding = (pack.manifest.concepts.grounding.as_ref()).map(|spec| {
            let never: Vec<u32> = (pack.manifest.tokenizer.never_generate.iter())
                .filter_map(|&t| vocabulary.to_decoder(t))
                .collect();
            GroundingTables::new(spec, &vocabulary, &never)
        });
        Ok(Captioner {
            pack,
            calibration,
            vocabulary,
            grounding,
        })
    }

    /// How this pack turns features into a confidence, and its `unsure` threshold.
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    pub fn manifest(&self) -> &Manifest {
        &self.pack.manifest
    }

    /// Every constant tensor the loaded graphs hold (weights, as tract keeps them to
    /// run), largest first: where the loaded pack's memory goes (`lightcap bench`).
    pub fn constant_tensors(&self) -> Vec<crate::ConstantTensor> {
        let mut all = crate::footprint::constants("vision", &self.pack.vision);
        all.extend(crate::footprint::constants("decoder", &self.pack.decoder));
        all.sort_by_key(|c| std::cmp::Reverse(c.bytes));
        all
    }

    /// How long each step of loading this pack took (`lightcap bench` prints them).
    pub fn load_stages(&self) -> &crate::LoadStages {
        &self.pack.stages
    }

    /// Whether the graphs compute in float16 (see [`crate::Precision`]), else float32.
    pub fn computes_in_float16(&self) -> bool {
        self.pack.float16
    }

    /// The pack's concept vocabulary.
    pub fn concept_names(&self) -> &[String] {
        &self.pack.concepts
    }

    pub fn caption(&self, image: ImageInput<'_>, options: &CaptionOptions) -> Result<Caption> {
        self.caption_with(image, options, &mut |_| {}, &CancelToken::new())
    }

    /// Caption with a callback that sees the caption as it forms (the best
    /// partial text after every decoder step) and a token that cancels it.
    pub fn caption_with(
        &self,
        image: ImageInput<'_>,
        options: &CaptionOptions,
        on_partial: &mut dyn FnMut(&str),
        cancel: &CancelToken,
    ) -> Result<Caption> {
        let started = Instant::now();
        let manifest = &self.pack.manifest;
        let max_length = options.validate(manifest)?;
        let mut timings = Timings::default();

        let size = manifest.image.size;
        let decoded = preprocess::decode(image, options.max_image_pixels, size)?;
        timings.decode = started.elapsed();
        cancel.check()?;

        let mark = Instant::now();
        let pixels = preprocess::to_model_input(&decoded, size);
        drop(decoded);
        timings.preprocess = mark.elapsed();
        cancel.check()?;

        let mark = Instant::now();
        let vision = self.run_vision(pixels)?;
        timings.vision = mark.elapsed();
        cancel.check()?;

        let mark = Instant::now();
        // The search runs in the decoder's ids; a banned token the decoder lacks needs
        // no ban.
        let vocabulary = &self.vocabulary;
        let sep = vocabulary.sep;
        let grounding = self.grounding.as_ref().map(|tables| {
            let ids: Vec<u32> = vision.concepts.iter().map(|c| c.index).collect();
            let scores: Vec<f32> = vision.concepts.iter().map(|c| c.score).collect();
            tables.for_image(&ids, &scores)
        });
        let search = Search {
            cls: vocabulary.cls,
            sep,
            never_generate: (manifest.tokenizer.never_generate.iter())
                .filter_map(|&t| vocabulary.to_decoder(t))
                .collect(),
            max_length,
            min_length: options.min_length,
            beam_size: options.beam_size,
            length_penalty: options.length_penalty,
            no_repeat_ngram_size: options.no_repeat_ngram_size,
            grounding,
        };
        // Generated decoder ids as tokenizer ids, [SEP] left out.
        let caption_tokens = |ids: &[u32]| -> Vec<u32> {
            ids.iter()
                .filter(|&&id| id != sep)
                .map(|&id| vocabulary.to_token(id))
                .collect()
        };
        let mut stepper = self.stepper(&vision)?;
        let mut on_step = |tokens: &[u32]| {
            cancel.check()?;
            on_partial(&agree_articles(
                &self.pack.text.decode(&caption_tokens(tokens)),
            ));
            Ok(())
        };
        let best = search.run(&mut stepper, &mut on_step)?;
        let finished = best.tokens.last() == Some(&sep);
        let token_ids = caption_tokens(&best.tokens);
        let text = agree_articles(&self.pack.text.decode(&token_ids));
        let tokens = token_ids
            .iter()
            .map(|&id| self.pack.text.token(id).unwrap_or("[UNK]").to_owned())
            .collect();
        let features =
            ConfidenceFeatures::compute(&best.token_log_probs, &vision.concepts, vision.evidence);
        let (confidence, unsure) = self.calibration.judge(&features);
        timings.text = mark.elapsed();
        timings.total = started.elapsed();
        Ok(Caption {
            text,
            token_ids,
            tokens,
            log_prob: best.log_prob,
            token_log_probs: best.token_log_probs,
            features,
            confidence,
            unsure,
            finished,
            concepts: vision.concepts,
            timings,
            steps: stepper.steps,
        })
    }

    /// Log-probabilities of the first token ([CLS] fed) for an image, one per tokenizer
    /// id (-inf for a token the decoder does not have): what the parity tests compare
    /// with the PyTorch reference. Not needed by apps.
    #[doc(hidden)]
    pub fn first_step_log_probs(&self, image: ImageInput<'_>) -> Result<Vec<f32>> {
        let size = self.pack.manifest.image.size;
        let decoded = preprocess::decode(image, crate::DEFAULT_MAX_IMAGE_PIXELS, size)?;
        let vision = self.run_vision(preprocess::to_model_input(&decoded, size))?;
        let row = self.stepper(&vision)?.step(&[self.vocabulary.cls])?;
        Ok(self.vocabulary.to_tokenizer_row(row))
    }

    /// The vision graph on `image`, every node of its optimised plan timed over `runs`
    /// evaluations (after one untimed), with the operations tract's cost model gives it:
    /// where the graph's time goes on this CPU (`lightcap bench --profile`).
    pub fn profile_vision(&self, image: ImageInput<'_>, runs: usize) -> Result<GraphProfile> {
        let size = self.pack.manifest.image.size;
        let decoded = preprocess::decode(image, crate::DEFAULT_MAX_IMAGE_PIXELS, size)?;
        let image = self.vision_input(preprocess::to_model_input(&decoded, size))?;
        profile::profile_plan(&self.pack.vision, tvec![image], runs.max(1), "vision")
    }

    /// A decoder stepper over this image's prefix cache (shared, not copied).
    fn stepper(&self, vision: &VisionOutput) -> Result<TractStepper<'_>> {
        TractStepper::new(
            &self.pack.decoder,
            &self.pack.manifest,
            vision.prefix_keys.clone(),
            vision.prefix_values.clone(),
        )
    }

    /// The vision graph's input: the preprocessed pixels as a [1, 3, size, size] tensor.
    fn vision_input(&self, pixels: Vec<f32>) -> Result<TValue> {
        let size = self.pack.manifest.image.size;
        let image = Tensor::from_shape(&[1, 3, size, size], &pixels).map_err(vision_error)?;
        Ok(image.into_tvalue())
    }

    fn run_vision(&self, pixels: Vec<f32>) -> Result<VisionOutput> {
        let fail = vision_error;
        let mut outputs = run_plan(
            &self.pack.vision,
            tvec![self.vision_input(pixels)?],
            "vision",
        )?;
        let prefix_values = outputs
            .pop()
            .expect("the contract has 4 or 5 vision outputs");
        let prefix_keys = outputs
            .pop()
            .expect("the contract has 4 or 5 vision outputs");
        // The optional image evidence sits after the concepts (`pack::contract`).
        let evidence = match outputs.get(2) {
            Some(value) => Some(
                *(value
                    .to_plain_array_view::<f32>()
                    .map_err(fail)?
                    .iter()
                    .next())
                .expect("the contract's evidence is [1, 1]"),
            ),
            None => None,
        };
        let scores = outputs[1].to_plain_array_view::<f32>().map_err(fail)?;
        let ids = outputs[0].to_plain_array_view::<i64>().map_err(fail)?;
        let names = &self.pack.concepts;
        let concepts = ids
            .iter()
            .zip(scores.iter())
            .map(|(&id, &score)| {
                let name = usize::try_from(id)
                    .ok()
                    .and_then(|i| names.get(i))
                    .ok_or_else(|| Error::Inference {
                        graph: "vision",
                        message: format!("concept id {id} is outside the {} concepts", names.len()),
                    })?;
                Ok(Concept {
                    name: name.clone(),
                    score,
                    index: id as u32,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(VisionOutput {
            concepts,
            evidence,
            prefix_keys,
            prefix_values,
        })
    }
}

struct VisionOutput {
    concepts: Vec<Concept>,
    /// The vision graph's image evidence, where the pack has that output.
    evidence: Option<f32>,
    prefix_keys: TValue,
    prefix_values: TValue,
}

/// Runs the decoder-step graph, holding the caption cache between steps.
struct TractStepper<'a> {
    plan: &'a Plan,
    prefix_keys: TValue,
    prefix_values: TValue,
    past_keys: TValue,
    past_values: TValue,
    vocab: usize,
    steps: usize,
}

/// Runs one graph. A panic inside tract becomes `Error::Inference`; the plan is shared
/// and immutable, and the state the run built is dropped with the panic, so the
/// captioner stays usable (tested below).
fn run_plan(plan: &Plan, inputs: TVec<TValue>, graph: &'static str) -> Result<TVec<TValue>> {
    let inference = |message: String| Error::Inference { graph, message };
    catch_panic(|| plan.run(inputs))
        .map_err(inference)?
        .map_err(|e| inference(format!("{e:#}")))
}

fn vision_error(e: TractError) -> Error {
    Error::Inference {
        graph: "vision",
        message: format!("{e:#}"),
    }
}

fn decoder_error(e: TractError) -> Error {
    Error::Inference {
        graph: "decoder",
        message: format!("{e:#}"),
    }
}

impl<'a> TractStepper<'a> {
    fn new(
        plan: &'a Plan,
        manifest: &Manifest,
        prefix_keys: TValue,
        prefix_values: TValue,
    ) -> Result<Self> {
        let c = &manifest.cache;
        let empty = Tensor::zero::<f32>(&[c.layers, 1, c.heads, 0, c.head_dim])
            .map_err(decoder_error)?
            .into_tvalue();
        Ok(TractStepper {
            plan,
            prefix_keys,
            prefix_values,
            past_keys: empty.clone(),
            past_values: empty,
            vocab: manifest.tokenizer.decoder_vocab_size(),
            steps: 0,
        })
    }
}

impl Stepper for TractStepper<'_> {
    fn step(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        let ids: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
        let ids = Tensor::from_shape(&[ids.len(), 1], &ids).map_err(decoder_error)?;
        let inputs = tvec![
            ids.into_tvalue(),
            self.prefix_keys.clone(),
            self.prefix_values.clone(),
            self.past_keys.clone(),
            self.past_values.clone(),
        ];
        let mut outputs = run_plan(self.plan, inputs, "decoder")?;
        self.past_values = outputs.pop().expect("the contract has 3 decoder outputs");
        self.past_keys = outputs.pop().expect("the contract has 3 decoder outputs");
        self.steps += 1;
        let log_probs = outputs[0]
            .to_plain_array_view::<f32>()
            .map_err(decoder_error)?;
        Ok(log_probs.iter().copied().collect())
    }

    fn reorder(&mut self, parents: &[usize]) -> Result<()> {
        let gather = |cache: &TValue| -> Result<TValue> {
            let view = cache.to_plain_array_view::<f32>().map_err(decoder_error)?;
            Ok(view
                .select(tract_ndarray::Axis(1), parents)
                .into_tensor()
                .into_tvalue())
        };
        self.past_keys = gather(&self.past_keys)?;
        self.past_values = gather(&self.past_values)?;
        Ok(())
    }

    fn vocab_size(&self) -> usize {
        self.vocab
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_nnef::tract_core::internal::*;

    /// Doubles its input and panics on a negative value: a stand-in for a tract kernel
    /// that panics on a value it was not built for.
    #[derive(Debug, Clone, Hash, PartialEq, Eq)]
    struct DoubleOrPanic;

    impl Op for DoubleOrPanic {
        fn name(&self) -> StaticName {
            "DoubleOrPanic".into()
        }

        op_as_typed_op!();
    }

    impl EvalOp for DoubleOrPanic {
        not_out_of_plan!();

        fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
            let input = inputs[0].to_plain_array_view::<f32>()?;
            assert!(input.iter().all(|&x| x >= 0.0), "negative input");
            Ok(tvec!(input.mapv(|x| 2.0 * x).into_tensor().into_tvalue()))
        }
    }

    impl TypedOp for DoubleOrPanic {
        fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
            Ok(tvec!(inputs[0].clone()))
        }

        as_op!();
    }

    fn doubling_plan() -> Plan {
        let mut model = TypedModel::default();
        let input = model.add_source("x", f32::fact([3])).unwrap();
        let output = model.wire_node("double", DoubleOrPanic, &[input]).unwrap();
        model.select_output_outlets(&output).unwrap();
        model.into_runnable().unwrap()
    }

    fn run(plan: &Plan, values: [f32; 3]) -> Result<Vec<f32>> {
        let input = tensor1(&values).into_tvalue();
        let outputs = run_plan(plan, tvec![input], "vision")?;
        Ok(outputs[0]
            .to_plain_array_view::<f32>()
            .unwrap()
            .iter()
            .copied()
            .collect())
    }

    #[test]
    fn a_panic_in_a_graph_is_an_error_and_the_plan_still_runs() {
        let plan = doubling_plan();
        assert_eq!(run(&plan, [1.0, 2.0, 3.0]).unwrap(), [2.0, 4.0, 6.0]);
        match run(&plan, [1.0, -1.0, 3.0]) {
            Err(Error::Inference { graph, message }) => {
                assert_eq!(graph, "vision");
                assert!(message.contains("negative input"), "{message}");
            }
            other => panic!("expected Error::Inference, got {other:?}"),
        }
        // The same shared plan, after the panic, on this thread and on another.
        assert_eq!(run(&plan, [0.5, 1.0, 4.0]).unwrap(), [1.0, 2.0, 8.0]);
        let elsewhere = std::thread::scope(|s| s.spawn(|| run(&plan, [3.0, 0.0, 1.0])).join());
        assert_eq!(elsewhere.unwrap().unwrap(), [6.0, 0.0, 2.0]);
    }
}
