//! Loading a model pack: files, checksums, tokenizer, concepts and graphs.
//!
//! A pack is checked completely before anything runs: every file's size and sha256
//! against the manifest (each as loading reaches it, so that a pack folder's large
//! graphs are read one at a time; a folder's pre-optimised graphs are hashed as they are
//! read into their tensors, and no graph is built from those before the file has
//! passed), every graph's inputs and outputs against both the manifest and what this
//! crate expects (`contract`).

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tract_nnef::prelude::*;

use crate::checksum::{self, ChecksumReader};
use crate::error::{Error, Result};
use crate::footprint::LoadStages;
use crate::manifest::{
    DType, Dim, FileEntry, GraphSpec, MANIFEST_FILE, Manifest, TensorSpec, format_shape,
};
use crate::panic_guard::catch_panic;
use crate::precision::Precision;
use crate::wordpiece::WordPieceText;

pub(crate) type Plan = Arc<TypedSimplePlan>;

/// Which file a graph is loaded from.
enum GraphForm<'a> {
    Onnx(&'a str),
    /// The pre-optimised form (`nnef`).
    Nnef(&'a str),
}

/// The files of a pack: in memory, keyed by their name inside the pack, or in a folder,
/// read one at a time as loading needs them.
#[derive(Debug, Default, Clone)]
pub struct PackFiles {
    files: HashMap<String, Vec<u8>>,
    /// Where files not in `files` are read from.
    dir: Option<PathBuf>,
    /// Load the ONNX graphs even where the pack has the pre-optimised form.
    onnx_graphs: bool,
    /// The float precision the graphs are made to compute in.
    precision: Precision,
    /// Keep tract's operators where `kernels` has faster ones (to compare the two).
    tract_kernels: bool,
}

impl PackFiles {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one file (for packs that an app holds in memory or unpacked itself).
    pub fn insert(&mut self, name: impl Into<String>, bytes: Vec<u8>) -> &mut Self {
        self.files.insert(name.into(), bytes);
        self
    }

    /// The pack in folder `dir`: `manifest.json` is read now, the files it lists when
    /// loading reaches them, so a large graph is not held in memory while another loads.
    pub fn read_dir(dir: &Path) -> Result<Self> {
        let mut files = PackFiles {
            dir: Some(dir.to_owned()),
            ..Self::default()
        };
        let manifest = files.take(MANIFEST_FILE)?;
        files.insert(MANIFEST_FILE, manifest);
        Ok(files)
    }

    /// Load the graphs from their ONNX files even where the pack has the pre-optimised
    /// form (to compare the two, or to measure what the pre-optimised form saves).
    pub fn use_onnx_graphs(mut self) -> Self {
        self.onnx_graphs = true;
        self
    }

    /// Run tract's own operators everywhere, not ours (`kernels`) where tract's are slow:
    /// to measure what ours save, or to rule them out when something looks wrong.
    pub fn use_tract_kernels(mut self) -> Self {
        self.tract_kernels = true;
        self
    }

    /// Compute in this precision ([`Precision::Auto`] unless set: float16 where the CPU
    /// has it natively).
    pub fn with_precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    /// The form each graph is loaded from: the pre-optimised one where the pack has it.
    fn graph_form<'a>(&self, spec: &'a GraphSpec) -> GraphForm<'a> {
        match &spec.nnef {
            Some(file) if !self.onnx_graphs => GraphForm::Nnef(file),
            _ => GraphForm::Onnx(&spec.file),
        }
    }

    /// Hand over a file's bytes, reading it from the folder if it is not in memory.
    fn take(&mut self, name: &str) -> Result<Vec<u8>> {
        if let Some(bytes) = self.files.remove(name) {
            return Ok(bytes);
        }
        let Some(dir) = &self.dir else {
            return Err(Error::pack(name, "missing from the pack"));
        };
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| Error::Io { path, source })
    }

    /// Hand over a file listed in the manifest once its size and sha256 match the listing.
    fn take_checked(&mut self, manifest: &Manifest, name: &str) -> Result<Vec<u8>> {
        let entry = listing(manifest, name)?;
        let bytes = self.take(name)?;
        checksum::check_bytes(entry, &bytes)?;
        Ok(bytes)
    }

    /// A listed file of the pack folder, opened to be read through a [`ChecksumReader`]
    /// (its size already checked); `None` for a file held in memory or a pack without a
    /// folder.
    fn open_checked(
        &self,
        manifest: &Manifest,
        name: &str,
    ) -> Result<Option<(ChecksumReader<BufReader<File>>, PathBuf)>> {
        let entry = listing(manifest, name)?;
        let Some(dir) = self.dir.as_ref().filter(|_| !self.files.contains_key(name)) else {
            return Ok(None);
        };
        let path = dir.join(name);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(io)?;
        checksum::check_size(entry, file.metadata().map_err(io)?.len())?;
        Ok(Some((ChecksumReader::new(BufReader::new(file)), path)))
    }
}

/// The manifest's listing of file `name`.
fn listing<'a>(manifest: &'a Manifest, name: &str) -> Result<&'a FileEntry> {
    manifest
        .files
        .iter()
        .find(|entry| entry.path == name)
        .ok_or_else(|| Error::pack(name, "is not listed in the manifest's files"))
}

/// Everything loaded from a pack, ready to run.
pub(crate) struct LoadedPack {
    pub manifest: Manifest,
    /// The tokens captions are made of, and how they join into text.
    pub text: WordPieceText,
    pub concepts: Vec<String>,
    pub vision: Plan,
    pub decoder: Plan,
    /// Whether the graphs compute in float16 (`Precision`).
    pub float16: bool,
    /// How long each step of loading took.
    pub stages: LoadStages,
}

impl LoadedPack {
    /// Checks and loads a pack, consuming its files: each one is checked against the
    /// manifest when loading reaches it and freed once parsed, so no graph's bytes are
    /// held while a graph is optimised. Nothing runs until every file has passed.
    pub fn load(mut files: PackFiles) -> Result<Self> {
        let mut stages = LoadStages::default();
        let manifest = Manifest::parse(&files.take(MANIFEST_FILE)?)?;
        let specs = [&manifest.graphs.vision, &manifest.graphs.decoder];
        // The graph form that is not loaded is not read at all.
        let graphs: Vec<&String> = specs
            .iter()
            .flat_map(|spec| [Some(&spec.file), spec.nnef.as_ref()])
            .flatten()
            .collect();
        // Files the loader does not otherwise read are still checked, first, with the small ones.
        for entry in &manifest.files {
            let read_later = graphs.contains(&&entry.path)
                || entry.path == manifest.tokenizer.file
                || entry.path == manifest.concepts.file;
            if !read_later {
                files.take_checked(&manifest, &entry.path)?;
            }
        }
        stages.lap("manifest, small files");
        let text = load_tokenizer(
            &manifest,
            &files.take_checked(&manifest, &manifest.tokenizer.file)?,
        )?;
        stages.lap("tokenizer: read, check, parse");
        let concepts = load_concepts(
            &manifest,
            &files.take_checked(&manifest, &manifest.concepts.file)?,
        )?;
        let contract = contract::expected(&manifest);
        let float16 = files.precision.uses_float16();
        // Built for the first graph in the pre-optimised form, used for the second.
        let mut nnef = None;
        let vision = load_graph(
            &manifest,
            &manifest.graphs.vision,
            &contract.vision,
            &mut files,
            &mut nnef,
            float16,
            &mut stages,
        )?;
        let decoder = load_graph(
            &manifest,
            &manifest.graphs.decoder,
            &contract.decoder,
            &mut files,
            &mut nnef,
            float16,
            &mut stages,
        )?;
        Ok(LoadedPack {
            manifest,
            text,
            concepts,
            vision,
            decoder,
            float16,
            stages,
        })
    }
}

/// The tokenizer's vocabulary, as far as captions need it: the tokens the decoder has
/// (all of them for a pack without `decoder_token_ids`).
fn load_tokenizer(manifest: &Manifest, bytes: &[u8]) -> Result<WordPieceText> {
    let file = &manifest.tokenizer.file;
    let decoder_tokens = manifest.tokenizer.decoder_token_ids.as_deref();
    let text = WordPieceText::parse(file, bytes, &manifest.tokenizer, |id| {
        decoder_tokens.is_none_or(|ids| ids.binary_search(&id).is_ok())
    })?;
    if let Some(missing) = decoder_tokens
        .into_iter()
        .flatten()
        .find(|&&id| !text.has(id))
    {
        return Err(Error::pack(
            file,
            format!("has no token {missing}, which the manifest's decoder_token_ids lists"),
        ));
    }
    Ok(text)
}

fn load_concepts(manifest: &Manifest, bytes: &[u8]) -> Result<Vec<String>> {
    let file = &manifest.concepts.file;
    let text = std::str::from_utf8(bytes).map_err(|_| Error::pack(file, "is not UTF-8 text"))?;
    let concepts: Vec<String> = text.lines().map(str::to_owned).collect();
    if concepts.len() != manifest.concepts.count {
        return Err(Error::pack(
            file,
            format!(
                "has {} lines, the manifest says {} concepts",
                concepts.len(),
                manifest.concepts.count
            ),
        ));
    }
    if let Some(line) = concepts.iter().position(|c| c.trim().is_empty()) {
        return Err(Error::pack(file, format!("line {} is empty", line + 1)));
    }
    Ok(concepts)
}

fn load_graph(
    manifest: &Manifest,
    spec: &GraphSpec,
    contract: &[Vec<TensorSpec>; 2],
    files: &mut PackFiles,
    nnef: &mut Option<tract_nnef::internal::Nnef>,
    float16: bool,
    stages: &mut LoadStages,
) -> Result<Plan> {
    let form = files.graph_form(spec);
    let file = match form {
        GraphForm::Onnx(file) | GraphForm::Nnef(file) => file,
    };
    stages.lap("");
    // The manifest must describe the graph this crate knows how to drive...
    for (declared, expected, side) in [
        (&spec.inputs, &contract[0], "input"),
        (&spec.outputs, &contract[1], "output"),
    ] {
        check_declared(file, side, declared, expected)?;
    }
    let (model, decluttered) = match form {
        GraphForm::Onnx(file) => (typed_from_onnx(manifest, file, files, stages)?, false),
        // Decluttered when it was written (`nnef::export_graph`).
        GraphForm::Nnef(file) => {
            let nnef = nnef.get_or_insert_with(crate::nnef::reader);
            (typed_from_nnef(manifest, file, files, nnef, stages)?, true)
        }
    };
    // ...and the graph must be what the manifest says.
    check_graph(file, &model, spec)?;
    // Everything tract does with the graph runs behind the panic guard.
    let panicked =
        |message: String| Error::pack(file, format!("tract cannot optimise it: {message}"));
    let cannot_optimise =
        |e: TractError| Error::pack(file, format!("tract cannot optimise it: {e:#}"));
    let model = if decluttered {
        model
    } else {
        let model = catch_panic(|| model.into_decluttered())
            .map_err(panicked)?
            .map_err(cannot_optimise)?;
        stages.lap(format!("{file}: declutter"));
        model
    };
    // A float16 graph's weights made float16 at once (int8 ones too).
    let bad_weights =
        |e: TractError| Error::pack(file, format!("not a graph tract can load: {e:#}"));
    let mut model = if float16 {
        let half = catch_panic(|| crate::precision::to_float16(&model))
            .map_err(panicked)?
            .map_err(bad_weights)?;
        drop(model);
        stages.lap(format!("{file}: weights to float16"));
        half
    } else {
        model
    };
    // A float16 graph gets ours (all but softmax, in FP16 arithmetic) where the CPU
    // computes in float16; emulated float16 keeps tract's operators. Ours read the int8
    // weights they take straight from their int8 values as they pack them.
    if !files.tract_kernels && (!float16 || crate::precision::cpu_has_native_float16()) {
        let replaced = catch_panic(|| crate::kernels::use_own_kernels(&mut model))
            .map_err(panicked)?
            .map_err(cannot_optimise)?;
        stages.lap(format!("{file}: our kernels ({replaced} operators)"));
    }
    // The other int8 weights (the pre-optimised form keeps them int8 until here) made
    // float32 for tract's operators.
    if decluttered && !float16 {
        catch_panic(|| crate::nnef::fold_int8_weights(&mut model))
            .map_err(panicked)?
            .map_err(bad_weights)?;
        stages.lap(format!("{file}: dequantize int8"));
    }
    catch_panic(|| model.optimize())
        .map_err(panicked)?
        .map_err(cannot_optimise)?;
    stages.lap(format!("{file}: optimise"));
    catch_panic(|| crate::prepack::fold_constant_packing(&mut model))
        .map_err(panicked)?
        .map_err(cannot_optimise)?;
    stages.lap(format!("{file}: prepack"));
    let plan = catch_panic(|| model.into_compact()?.into_runnable())
        .map_err(panicked)?
        .map_err(cannot_optimise)?;
    stages.lap(format!("{file}: plan"));
    Ok(plan)
}

/// The graph read from its ONNX file, typed.
#[cfg(feature = "onnx")]
fn typed_from_onnx(
    manifest: &Manifest,
    file: &str,
    files: &mut PackFiles,
    stages: &mut LoadStages,
) -> Result<TypedModel> {
    use prost::Message;
    use tract_onnx::pb::ModelProto;
    use tract_onnx::prelude::InferenceModelExt;

    let fail = |e: TractError| Error::pack(file, format!("not a graph tract can load: {e:#}"));
    let onnx = tract_onnx::onnx();
    // The file's bytes, the parsed protobuf and tract's model each hold every weight:
    // each is freed as soon as the next exists, to keep the loading peak low.
    let bytes = files.take_checked(manifest, file)?;
    stages.lap(format!("{file}: read, sha256"));
    let mut proto = ModelProto::decode(bytes.as_slice())
        .map_err(|e| Error::pack(file, format!("not a graph tract can load: not ONNX: {e}")))?;
    drop(bytes);
    stages.lap(format!("{file}: decode protobuf"));
    if let Some(graph) = proto.graph.as_mut() {
        crate::dequantize::fold_dequantize_linear(graph).map_err(|e| Error::pack(file, e))?;
    }
    stages.lap(format!("{file}: dequantize int8"));
    // Everything tract does with the graph runs behind the panic guard.
    let panicked =
        |message: String| Error::pack(file, format!("not a graph tract can load: {message}"));
    let model = catch_panic(|| onnx.model_for_proto_model(&proto))
        .map_err(panicked)?
        .map_err(fail)?;
    drop(proto);
    stages.lap(format!("{file}: ONNX to tract"));
    let model = catch_panic(|| model.into_typed())
        .map_err(panicked)?
        .map_err(fail)?;
    stages.lap(format!("{file}: type"));
    Ok(model)
}

/// A library built without ONNX support reads only the pre-optimised form.
#[cfg(not(feature = "onnx"))]
fn typed_from_onnx(
    _manifest: &Manifest,
    file: &str,
    _files: &mut PackFiles,
    _stages: &mut LoadStages,
) -> Result<TypedModel> {
    Err(Error::pack(
        file,
        "this build of the library reads no ONNX (it was built without the `onnx` feature), \
         and the pack has no pre-optimised form (`nnef`) of this graph",
    ))
}

/// The graph read from its pre-optimised form: typed and decluttered at export, its int8
/// weights still `Int8Dequantize` nodes (`load_graph` folds them).
fn typed_from_nnef(
    manifest: &Manifest,
    file: &str,
    files: &mut PackFiles,
    nnef: &tract_nnef::internal::Nnef,
    stages: &mut LoadStages,
) -> Result<TypedModel> {
    let fail = |e: TractError| Error::pack(file, format!("not a graph tract can load: {e:#}"));
    let panicked =
        |message: String| Error::pack(file, format!("not a graph tract can load: {message}"));
    // From a pack folder, the tensors are read from the file as it is hashed; nothing made
    // of them is used before the whole file has passed its checksum.
    if let Some((mut reader, path)) = files.open_checked(manifest, file)? {
        let proto = catch_panic(|| crate::nnef::read_proto_model(&mut reader));
        let hashing = reader.finish(listing(manifest, file)?, &path)?;
        stages.set_aside(format!("{file}: sha256"), hashing);
        if let Ok(Some(proto)) = proto {
            let model = catch_panic(|| nnef.model_for_proto_model(&proto))
                .map_err(panicked)?
                .map_err(fail)?;
            stages.lap(format!("{file}: read NNEF"));
            return Ok(model);
        }
        // Left to tract's reader below, which reads the file whole: an archive ours does
        // not read, or a damaged one (tract's says what is wrong with it).
    }
    let bytes = files.take_checked(manifest, file)?;
    stages.lap(format!("{file}: read, sha256"));
    let model = catch_panic(|| crate::nnef::read_graph(nnef, &bytes))
        .map_err(panicked)?
        .map_err(fail)?;
    drop(bytes);
    stages.lap(format!("{file}: read NNEF"));
    Ok(model)
}

fn check_declared(
    file: &str,
    side: &str,
    declared: &[TensorSpec],
    expected: &[TensorSpec],
) -> Result<()> {
    let names = |t: &[TensorSpec]| t.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    if names(declared) != names(expected) {
        return Err(Error::pack(
            file,
            format!(
                "manifest {side}s are {:?}, this library expects {:?}",
                names(declared),
                names(expected)
            ),
        ));
    }
    for (d, e) in declared.iter().zip(expected) {
        if d.dtype != e.dtype {
            return Err(Error::tensor(
                file,
                &d.name,
                format!("manifest says {:?}, expected {:?}", d.dtype, e.dtype),
            ));
        }
        let compatible = d.shape.len() == e.shape.len()
            && d.shape.iter().zip(&e.shape).all(|(d, e)| match (d, e) {
                (Dim::Fixed(a), Dim::Fixed(b)) => a == b,
                (Dim::Named(_), Dim::Named(_)) => true,
                _ => false,
            });
        if !compatible {
            return Err(Error::tensor(
                file,
                &d.name,
                format!(
                    "manifest shape {} disagrees with the pack's sizes, expected {}",
                    format_shape(&d.shape),
                    format_shape(&e.shape)
                ),
            ));
        }
    }
    Ok(())
}

fn check_graph(file: &str, model: &TypedModel, spec: &GraphSpec) -> Result<()> {
    let inputs = model
        .input_outlets()
        .map_err(|e| Error::pack(file, e.to_string()))?;
    let outputs = model
        .output_outlets()
        .map_err(|e| Error::pack(file, e.to_string()))?;
    for (outlets, declared, side) in [
        (inputs, &spec.inputs, "input"),
        (outputs, &spec.outputs, "output"),
    ] {
        let names: Vec<String> = outlets
            .iter()
            .map(|&o| {
                model
                    .outlet_label(o)
                    .map(str::to_owned)
                    .unwrap_or_else(|| model.node(o.node).name.clone())
            })
            .collect();
        let expected: Vec<&str> = declared.iter().map(|s| s.name.as_str()).collect();
        if names != expected {
            return Err(Error::pack(
                file,
                format!("graph {side}s are {names:?}, the manifest says {expected:?}"),
            ));
        }
        for (&outlet, spec) in outlets.iter().zip(declared.iter()) {
            let fact = model
                .outlet_fact(outlet)
                .map_err(|e| Error::pack(file, e.to_string()))?;
            check_fact(file, spec, fact)?;
        }
    }
    Ok(())
}

fn check_fact(file: &str, spec: &TensorSpec, fact: &TypedFact) -> Result<()> {
    let dtype = match spec.dtype {
        DType::F32 => f32::datum_type(),
        DType::I64 => i64::datum_type(),
    };
    if fact.datum_type != dtype {
        return Err(Error::tensor(
            file,
            &spec.name,
            format!(
                "graph has type {:?}, the manifest says {:?}",
                fact.datum_type, spec.dtype
            ),
        ));
    }
    let dims: Vec<&TDim> = fact.shape.iter().collect();
    let matches = dims.len() == spec.shape.len()
        && dims.iter().zip(&spec.shape).all(|(g, d)| match d {
            Dim::Fixed(n) => g.to_i64().ok() == Some(*n as i64),
            // A free dimension must be free in the graph too, not baked in at export.
            Dim::Named(_) => g.to_i64().is_err(),
        });
    if !matches {
        let shown: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
        return Err(Error::tensor(
            file,
            &spec.name,
            format!(
                "graph shape is [{}], the manifest says {}",
                shown.join(", "),
                format_shape(&spec.shape)
            ),
        ));
    }
    Ok(())
}

/// The graph signatures this crate drives, derived from the manifest's sizes.
pub(crate) mod contract {
    use crate::manifest::{DType, Dim, Manifest, TensorSpec};

    /// The vision graph's optional output after the concepts: the standard deviation of
    /// the backbone's feature grid (`confidence::IMAGE_EVIDENCE`).
    pub const IMAGE_EVIDENCE_OUTPUT: &str = "image_evidence";

    pub struct Contract {
        /// [inputs, outputs]
        pub vision: [Vec<TensorSpec>; 2],
        pub decoder: [Vec<TensorSpec>; 2],
    }

    fn t(name: &str, dtype: DType, shape: Vec<Dim>) -> TensorSpec {
        TensorSpec {
            name: name.into(),
            dtype,
            shape,
        }
    }

    pub fn expected(m: &Manifest) -> Contract {
        use Dim::{Fixed as F, Named as N};
        let c = &m.cache;
        let size = m.image.size;
        let k = m.concepts.top_k;
        let prefix = || {
            vec![
                F(c.layers),
                F(1),
                F(c.heads),
                F(c.prefix_len),
                F(c.head_dim),
            ]
        };
        let cache = |len: &str| {
            vec![
                F(c.layers),
                N("batch".into()),
                F(c.heads),
                N(len.into()),
                F(c.head_dim),
            ]
        };
        let mut vision_outputs = vec![
            t("concept_ids", DType::I64, vec![F(1), F(k)]),
            t("concept_scores", DType::F32, vec![F(1), F(k)]),
        ];
        // Optional: how strongly the backbone responds to the image (a confidence feature).
        if (m.graphs.vision.outputs.iter()).any(|o| o.name == IMAGE_EVIDENCE_OUTPUT) {
            vision_outputs.push(t(IMAGE_EVIDENCE_OUTPUT, DType::F32, vec![F(1), F(1)]));
        }
        vision_outputs.push(t("prefix_keys", DType::F32, prefix()));
        vision_outputs.push(t("prefix_values", DType::F32, prefix()));
        Contract {
            vision: [
                vec![t("image", DType::F32, vec![F(1), F(3), F(size), F(size)])],
                vision_outputs,
            ],
            decoder: [
                vec![
                    t(
                        "input_ids",
                        DType::I64,
                        vec![N("batch".into()), N("new".into())],
                    ),
                    t("prefix_keys", DType::F32, prefix()),
                    t("prefix_values", DType::F32, prefix()),
                    t("past_keys", DType::F32, cache("past")),
                    t("past_values", DType::F32, cache("past")),
                ],
                vec![
                    t(
                        "log_probs",
                        DType::F32,
                        vec![N("batch".into()), F(m.tokenizer.decoder_vocab_size())],
                    ),
                    t("present_keys", DType::F32, cache("total")),
                    t("present_values", DType::F32, cache("total")),
                ],
            ],
        }
    }
}
