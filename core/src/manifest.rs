//! The model pack manifest: the contract between the Python exporter
//! (`scripts/lightcap/export.py`) and this crate.
//!
//! Parsing is strict (unknown fields are errors) so that a pack written for a
//! different contract fails loudly at load time, not with odd captions later.

use serde::Deserialize;

use crate::error::{Error, Result};

/// The only manifest format version this crate reads.
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST_FILE: &str = "manifest.json";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub model: ModelInfo,
    pub image: ImageSpec,
    pub grid_size: usize,
    pub concepts: ConceptsSpec,
    pub tokenizer: TokenizerSpec,
    pub decoding: DecodingSpec,
    pub cache: CacheSpec,
    pub graphs: Graphs,
    pub files: Vec<FileEntry>,
    /// How to turn a caption's features into a calibrated confidence. Optional: a
    /// pack without it gets the uncalibrated default (`confidence` module docs).
    #[serde(default)]
    pub confidence: Option<ConfidenceSpec>,
}

/// `confidence = sigmoid(weights . features + bias)`, `unsure = confidence < threshold`,
/// fitted by `python -m lightcap.calibrate`. Not covered by `files` checksums: a pack
/// can be recalibrated without touching its graphs.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfidenceSpec {
    /// Feature names, each one of `confidence::FEATURE_NAMES`, no repeats.
    pub features: Vec<String>,
    /// One weight per feature, in the same order.
    pub weights: Vec<f32>,
    pub bias: f32,
    /// Captions whose confidence is below this are `unsure`; in [0, 1].
    pub threshold: f32,
    /// What it was calibrated on, and the rates measured there (free text).
    #[serde(default)]
    pub calibrated_on: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelInfo {
    pub name: String,
    pub version: String,
    pub license: String,
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    pub size: usize,
    pub layout: String,
    pub range: [f32; 2],
    pub crop: String,
    pub resize: String,
    pub alpha: String,
    pub normalized_in_graph: bool,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConceptsSpec {
    pub file: String,
    pub count: usize,
    pub top_k: usize,
    /// What makes the caption say what the concepts say. Optional: a pack without it
    /// decodes unconstrained (`grounding` module docs).
    #[serde(default)]
    pub grounding: Option<GroundingSpec>,
}

/// The tables grounded decoding needs, in tokenizer ids (`grounding` module docs).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroundingSpec {
    /// The first concept becomes the caption's subject when its score is at least this;
    /// in [0, 1].
    pub subject_score: f32,
    /// The first this many concepts support words; in 1..=top_k.
    pub supported_top: usize,
    /// Each concept's name as tokenizer ids, one non-empty entry per concept.
    pub names: Vec<Vec<u32>>,
    /// `[token, concept, concept...]`: a caption word (one tokenizer id) and the concepts
    /// (at least one) whose presence lets a caption use it.
    pub words: Vec<Vec<u32>>,
    /// Words (tokenizer ids) a caption says at most once: its content words.
    pub once: Vec<u32>,
    /// Content words (tokenizer ids) that may come before the subject ("a photo of").
    pub lead_in: Vec<u32>,
}

impl GroundingSpec {
    fn validate(&self, concepts: &ConceptsSpec, vocab_size: usize) -> Result<()> {
        let bad = |problem: String| Err(Error::pack(MANIFEST_FILE, problem));
        // NaN and infinities are outside too.
        if !(0.0..=1.0).contains(&self.subject_score) {
            return bad(format!(
                "`concepts.grounding.subject_score` {} is outside [0, 1]",
                self.subject_score
            ));
        }
        if !(1..=concepts.top_k).contains(&self.supported_top) {
            return bad(format!(
                "`concepts.grounding.supported_top` {} must be in 1..={} (top_k)",
                self.supported_top, concepts.top_k
            ));
        }
        if self.names.len() != concepts.count {
            return bad(format!(
                "`concepts.grounding.names` has {} entries for {} concepts",
                self.names.len(),
                concepts.count
            ));
        }
        for (i, name) in self.names.iter().enumerate() {
            if name.is_empty() {
                return bad(format!("`concepts.grounding.names[{i}]` is empty"));
            }
            if let Some(id) = name.iter().find(|&&id| id as usize >= vocab_size) {
                return bad(format!(
                    "`concepts.grounding.names[{i}]` holds {id}, outside the vocabulary of {vocab_size}"
                ));
            }
        }
        for (field, ids) in [("once", &self.once), ("lead_in", &self.lead_in)] {
            let outside = ids
                .iter()
                .enumerate()
                .find(|&(_, &id)| id as usize >= vocab_size);
            if let Some((i, id)) = outside {
                return bad(format!(
                    "`concepts.grounding.{field}[{i}]` is {id}, outside the vocabulary of {vocab_size}"
                ));
            }
        }
        for (i, word) in self.words.iter().enumerate() {
            let [token, word_concepts @ ..] = word.as_slice() else {
                return bad(format!("`concepts.grounding.words[{i}]` is empty"));
            };
            if word_concepts.is_empty() {
                return bad(format!(
                    "`concepts.grounding.words[{i}]` has token {token} but no concept"
                ));
            }
            if *token as usize >= vocab_size {
                return bad(format!(
                    "`concepts.grounding.words[{i}]` has token {token}, outside the vocabulary of {vocab_size}"
                ));
            }
            if let Some(c) = word_concepts
                .iter()
                .find(|&&c| c as usize >= concepts.count)
            {
                return bad(format!(
                    "`concepts.grounding.words[{i}]` holds concept {c}, outside the {} concepts",
                    concepts.count
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizerSpec {
    pub file: String,
    pub vocab_size: usize,
    pub special_ids: SpecialIds,
    pub never_generate: Vec<u32>,
    /// The tokenizer ids the decoder graph has rows for, ascending, when it carries
    /// fewer than `vocab_size` (the decoder's ids are then positions in this list; see
    /// the `vocabulary` module). Absent: the decoder has every token.
    #[serde(default)]
    pub decoder_token_ids: Option<Vec<u32>>,
}

impl TokenizerSpec {
    /// Rows of the decoder's log-probs.
    pub fn decoder_vocab_size(&self) -> usize {
        self.decoder_token_ids
            .as_ref()
            .map_or(self.vocab_size, Vec::len)
    }

    /// A tokenizer of `vocab_size` tokens whose first five are [PAD], [UNK], [CLS],
    /// [SEP] and [MASK], for unit tests.
    #[cfg(test)]
    pub(crate) fn small_for_tests(vocab_size: usize, decoder_token_ids: Option<Vec<u32>>) -> Self {
        TokenizerSpec {
            file: "tokenizer.json".into(),
            vocab_size,
            special_ids: SpecialIds {
                pad: 0,
                unk: 1,
                cls: 2,
                sep: 3,
                mask: 4,
            },
            never_generate: vec![0, 1, 2, 4],
            decoder_token_ids,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecialIds {
    pub pad: u32,
    pub unk: u32,
    pub cls: u32,
    pub sep: u32,
    pub mask: u32,
}

impl SpecialIds {
    /// Each special token as the tokenizer spells it, with its id.
    pub fn by_token(&self) -> [(&'static str, u32); 5] {
        [
            ("[PAD]", self.pad),
            ("[UNK]", self.unk),
            ("[CLS]", self.cls),
            ("[SEP]", self.sep),
            ("[MASK]", self.mask),
        ]
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecodingSpec {
    /// Default maximum number of generated tokens ([SEP] included).
    pub max_length: usize,
    /// Caption positions the model has embeddings for ([CLS] takes one).
    pub max_positions: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSpec {
    pub layers: usize,
    pub heads: usize,
    pub head_dim: usize,
    pub prefix_len: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Graphs {
    pub vision: GraphSpec,
    pub decoder: GraphSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphSpec {
    /// The ONNX graph.
    pub file: String,
    /// The same graph in the pre-optimised form, tract's NNEF (`.nnef.tar`), which loads
    /// in about half the time (see `nnef`). Packs without it load from `file`.
    #[serde(default)]
    pub nnef: Option<String>,
    pub inputs: Vec<TensorSpec>,
    pub outputs: Vec<TensorSpec>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<Dim>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    F32,
    I64,
}

/// A dimension: fixed, or named and free (a batch of beams, a cache length).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Dim {
    Fixed(usize),
    Named(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Named(s) => write!(f, "{s}"),
        }
    }
}

pub(crate) fn format_shape(shape: &[Dim]) -> String {
    let dims: Vec<String> = shape.iter().map(Dim::to_string).collect();
    format!("[{}]", dims.join(", "))
}

impl Manifest {
    /// Parse and check everything that can be checked without the other files.
    pub fn parse(text: &[u8]) -> Result<Manifest> {
        // Look at the version first: a future format may not parse as this one.
        let loose: serde_json::Value = serde_json::from_slice(text)
            .map_err(|e| Error::pack(MANIFEST_FILE, format!("not valid JSON: {e}")))?;
        match loose.get("format_version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(FORMAT_VERSION) => {}
            Some(v) => {
                return Err(Error::UnsupportedPackVersion {
                    found: u32::try_from(v).unwrap_or(u32::MAX),
                    supported: FORMAT_VERSION,
                });
            }
            None => return Err(Error::pack(MANIFEST_FILE, "no integer `format_version`")),
        }
        let manifest: Manifest = serde_json::from_value(loose)
            .map_err(|e| Error::pack(MANIFEST_FILE, format!("does not match the schema: {e}")))?;
        manifest.validate()?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<()> {
        let bad = |problem: String| Err(Error::pack(MANIFEST_FILE, problem));
        if self.format != "lightcap-pack" {
            return bad(format!(
                "`format` is {:?}, expected \"lightcap-pack\"",
                self.format
            ));
        }
        let img = &self.image;
        if img.layout != "NCHW"
            || img.range != [0.0, 1.0]
            || img.crop != "center-square"
            || img.resize != "triangle-antialiased"
            || img.alpha != "over-white"
            || !img.normalized_in_graph
        {
            return bad("`image` asks for preprocessing this library does not implement".into());
        }
        if !(16..=1024).contains(&img.size) {
            return bad(format!("`image.size` {} is outside 16..=1024", img.size));
        }
        let c = &self.cache;
        if c.layers == 0 || c.heads == 0 || c.head_dim == 0 {
            return bad("`cache` sizes must be positive".into());
        }
        if c.prefix_len != self.concepts.top_k + self.grid_size * self.grid_size {
            return bad(format!(
                "`cache.prefix_len` {} is not top_k {} + grid {}x{}",
                c.prefix_len, self.concepts.top_k, self.grid_size, self.grid_size
            ));
        }
        if self.concepts.top_k == 0 || self.concepts.top_k > self.concepts.count {
            return bad(format!(
                "`concepts.top_k` {} must be in 1..={}",
                self.concepts.top_k, self.concepts.count
            ));
        }
        let t = &self.tokenizer;
        let s = t.special_ids;
        for (token, id) in s.by_token() {
            if id as usize >= t.vocab_size {
                return bad(format!(
                    "special id {token} = {id} is outside the vocabulary of {}",
                    t.vocab_size
                ));
            }
        }
        if let Some(id) = t
            .never_generate
            .iter()
            .find(|&&id| id as usize >= t.vocab_size || id == s.sep)
        {
            return bad(format!(
                "`never_generate` holds {id}, outside the vocabulary or [SEP]"
            ));
        }
        if let Some(ids) = &t.decoder_token_ids {
            if !ids.windows(2).all(|w| w[0] < w[1]) {
                return bad(
                    "`tokenizer.decoder_token_ids` must be ascending, without repeats".into(),
                );
            }
            if let Some(id) = ids.last().filter(|&&id| id as usize >= t.vocab_size) {
                return bad(format!(
                    "`tokenizer.decoder_token_ids` holds {id}, outside the vocabulary of {}",
                    t.vocab_size
                ));
            }
            for (token, id) in [("[CLS]", s.cls), ("[SEP]", s.sep)] {
                if ids.binary_search(&id).is_err() {
                    return bad(format!(
                        "`tokenizer.decoder_token_ids` lacks {token} ({id}), which every caption needs"
                    ));
                }
            }
        }
        let d = &self.decoding;
        if d.max_positions < 2 || d.max_length == 0 || d.max_length >= d.max_positions {
            return bad(format!(
                "`decoding.max_length` {} must be in 1..{} (max_positions)",
                d.max_length, d.max_positions
            ));
        }
        let graphs = [&self.graphs.vision, &self.graphs.decoder];
        let nnef = graphs.iter().filter_map(|g| g.nnef.as_ref());
        for needed in [
            &self.tokenizer.file,
            &self.concepts.file,
            &self.graphs.vision.file,
            &self.graphs.decoder.file,
        ]
        .into_iter()
        .chain(nnef)
        {
            if self.file_entry(needed).is_none() {
                return bad(format!("`files` has no entry (sha256) for {needed}"));
            }
        }
        for entry in &self.files {
            let p = &entry.path;
            if p.is_empty() || p.contains('/') || p.contains('\\') || p.starts_with('.') {
                return bad(format!(
                    "file name {p:?} must be a plain name inside the pack"
                ));
            }
            if entry.sha256.len() != 64 || !entry.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return bad(format!("sha256 of {p} is not 64 hex digits"));
            }
        }
        if let Some(spec) = &self.confidence {
            crate::confidence::Calibration::from_spec(spec)?;
        }
        if let Some(spec) = &self.concepts.grounding {
            spec.validate(&self.concepts, self.tokenizer.vocab_size)?;
        }
        Ok(())
    }

    pub(crate) fn file_entry(&self, path: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.path == path)
    }
}
