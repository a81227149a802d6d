//! Greedy and beam search over a cached decoder step.
//!
//! The rules are those of the Python reference (`scripts/lightcap/decoding.py`),
//! written out there in full; both sides must pick the same tokens for the same
//! log-probabilities, so any change here is a change there too.

use crate::error::Result;
use crate::grounding::{self, Grounding, Rule};

/// One decoder step for a batch of beams.
pub(crate) trait Stepper {
    /// Feed one token per live beam; returns log-probs, `tokens.len()` rows of `vocab_size()`.
    fn step(&mut self, tokens: &[u32]) -> Result<Vec<f32>>;
    /// Keep the caches of these beams, in this order (a beam may appear twice).
    fn reorder(&mut self, parents: &[usize]) -> Result<()>;
    fn vocab_size(&self) -> usize;
}

#[derive(Debug, Clone)]
pub(crate) struct Search {
    pub cls: u32,
    pub sep: u32,
    pub never_generate: Vec<u32>,
    pub max_length: usize,
    pub min_length: usize,
    pub beam_size: usize,
    pub length_penalty: f32,
    pub no_repeat_ngram_size: usize,
    /// The image's grounding, for a pack that has it (`grounding`).
    pub grounding: Option<Grounding>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hypothesis {
    /// Generated ids, [SEP] included when the caption finished.
    pub tokens: Vec<u32>,
    pub log_prob: f32,
    /// Each chosen token's log-probability (after the search's constraints), one per
    /// entry of `tokens`: what the confidence features are computed from.
    pub token_log_probs: Vec<f32>,
}

/// A beam: its tokens, their summed log-prob, and each token's log-prob.
type Beam = (Vec<u32>, f32, Vec<f32>);

/// Tokens that would complete an n-gram already present in `tokens`.
pub(crate) fn repeated_ngram_bans(tokens: &[u32], n: usize) -> Vec<u32> {
    if n == 0 || tokens.len() + 1 < n {
        return Vec::new();
    }
    let context = &tokens[tokens.len() + 1 - n..];
    tokens
        .windows(n)
        .filter(|w| &w[..n - 1] == context)
        .map(|w| w[n - 1])
        .collect()
}

impl Search {
    fn constrain(&self, row: &mut [f32], tokens: &[u32], step: usize) {
        let grounded = (self.grounding.as_ref()).map(|g| (g, g.rule(tokens, self.max_length, row)));
        if let Some((_, Rule::Force(token))) = grounded {
            // The forced token keeps the model's own log-prob: no other constraint applies.
            grounding::force(row, token);
            return;
        }
        for &id in &self.never_generate {
            row[id as usize] = f32::NEG_INFINITY;
        }
        if step < self.min_length {
            row[self.sep as usize] = f32::NEG_INFINITY;
        }
        for id in repeated_ngram_bans(tokens, self.no_repeat_ngram_size) {
            row[id as usize] = f32::NEG_INFINITY;
        }
        // A NaN would poison every comparison below: treat it as impossible.
        for v in row.iter_mut().filter(|v| v.is_nan()) {
            *v = f32::NEG_INFINITY;
        }
        if let Some((grounding, rule)) = grounded {
            grounding.mask(rule, row, tokens);
        }
    }

    /// Run the search. `on_step` sees the best partial caption after every step
    /// and may stop the search by returning an error (cancellation).
    pub fn run(
        &self,
        stepper: &mut dyn Stepper,
        on_step: &mut dyn FnMut(&[u32]) -> Result<()>,
    ) -> Result<Hypothesis> {
        if self.beam_size <= 1 {
            self.greedy(stepper, on_step)
        } else {
            self.beam(stepper, on_step)
        }
    }

    fn greedy(
        &self,
        stepper: &mut dyn Stepper,
        on_step: &mut dyn FnMut(&[u32]) -> Result<()>,
    ) -> Result<Hypothesis> {
        let mut tokens = Vec::with_capacity(self.max_length);
        let mut token_log_probs = Vec::with_capacity(self.max_length);
        let mut score = 0f32;
        let mut last = self.cls;
        for t in 0..self.max_length {
            let mut row = stepper.step(&[last])?;
            self.constrain(&mut row, &tokens, t);
            let mut best = 0;
            for (i, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = i;
                }
            }
            score += row[best];
            token_log_probs.push(row[best]);
            last = best as u32;
            tokens.push(last);
            on_step(&tokens)?;
            if last == self.sep {
                break;
            }
        }
        Ok(Hypothesis {
            tokens,
            log_prob: score,
            token_log_probs,
        })
    }

    fn beam(
        &self,
        stepper: &mut dyn Stepper,
        on_step: &mut dyn FnMut(&[u32]) -> Result<()>,
    ) -> Result<Hypothesis> {
        let beam = self.beam_size;
        let vocab = stepper.vocab_size();
        // A live beam: its tokens, summed log-prob and each token's log-prob.
        let mut live: Vec<Beam> = vec![(Vec::new(), 0.0, Vec::new())];
        // (normalised score, beam), in the order they finished.
        let mut finished: Vec<(f64, Beam)> = Vec::new();
        let mut last: Vec<u32> = vec![self.cls];
        for t in 0..self.max_length {
            let mut rows = stepper.step(&last)?;
            for (i, (tokens, score, _)) in live.iter().enumerate() {
                let row = &mut rows[i * vocab..(i + 1) * vocab];
                self.constrain(row, tokens, t);
                for v in row.iter_mut() {
                    *v += *score;
                }
            }
            let mut next: Vec<Beam> = Vec::with_capacity(beam);
            let mut parents = Vec::with_capacity(beam);
            for (rank, (total, index)) in top_candidates(&rows, 2 * beam).into_iter().enumerate() {
                if total == f32::NEG_INFINITY {
                    break;
                }
                let (parent, token) = (index / vocab, (index % vocab) as u32);
                let (parent_tokens, parent_score, parent_log_probs) = &live[parent];
                let mut tokens = parent_tokens.clone();
                tokens.push(token);
                let mut log_probs = parent_log_probs.clone();
                // The row had the parent's score added; take it back off for this token's own.
                log_probs.push(total - parent_score);
                if token == self.sep {
                    if rank < beam {
                        let normalised = self.normalise(total, tokens.len());
                        finished.push((normalised, (tokens, total, log_probs)));
                    }
                } else {
                    next.push((tokens, total, log_probs));
                    parents.push(parent);
                    if next.len() == beam {
                        break;
                    }
                }
            }
            if finished.len() >= beam || next.is_empty() {
                live.clear();
                break;
            }
            stepper.reorder(&parents)?;
            live = next;
            last = live
                .iter()
                .map(|(tokens, _, _)| *tokens.last().expect("live beams are never empty"))
                .collect();
            on_step(&live[0].0)?;
        }
        for beam in live {
            finished.push((self.normalise(beam.1, beam.0.len()), beam));
        }
        let mut best = 0;
        for (i, candidate) in finished.iter().enumerate() {
            if candidate.0 > finished[best].0 {
                best = i;
            }
        }
        let (_, (tokens, log_prob, token_log_probs)) = finished.swap_remove(best);
        Ok(Hypothesis {
            tokens,
            log_prob,
            token_log_probs,
        })
    }

    fn normalise(&self, score: f32, length: usize) -> f64 {
        f64::from(score) / (length as f64).powf(f64::from(self.length_penalty))
    }
}

/// The `n` best (value, flat index) pairs: value descending, then index ascending.
fn top_candidates(values: &[f32], n: usize) -> Vec<(f32, usize)> {
    let mut best: Vec<(f32, usize)> = Vec::with_capacity(n + 1);
    for (index, &v) in values.iter().enumerate() {
        // Indices arrive in ascending order, so an equal value never displaces an earlier one.
        if best.len() == n && v <= best[n - 1].0 {
            continue;
        }
        let at = best.partition_point(|&(b, _)| b >= v);
        best.insert(at, (v, index));
        best.truncate(n);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Log-probs that depend on the whole history: a deterministic hash, normalised.
    struct HashedModel {
        vocab: usize,
        histories: Vec<Vec<u32>>,
    }

    impl HashedModel {
        fn log_probs(&self, history: &[u32]) -> Vec<f32> {
            let mut h: u64 = 1469598103934665603;
            for &t in history {
                h = (h ^ u64::from(t)).wrapping_mul(1099511628211);
            }
            let logits: Vec<f32> = (0..self.vocab)
                .map(|i| {
                    let x = (h ^ (i as u64 + 1)).wrapping_mul(0x9E3779B97F4A7C15);
                    ((x >> 40) as f32 / (1u64 << 24) as f32) * 4.0
                })
                .collect();
            let log_sum = logits.iter().map(|l| l.exp()).sum::<f32>().ln();
            logits.iter().map(|l| l - log_sum).collect()
        }
    }

    impl Stepper for HashedModel {
        fn step(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
            if self.histories.len() != tokens.len() {
                self.histories = vec![Vec::new(); tokens.len()];
            }
            let mut out = Vec::new();
            for (i, &t) in tokens.iter().enumerate() {
                self.histories[i].push(t);
                out.extend(self.log_probs(&self.histories[i]));
            }
            Ok(out)
        }
        fn reorder(&mut self, parents: &[usize]) -> Result<()> {
            self.histories = parents.iter().map(|&p| self.histories[p].clone()).collect();
            Ok(())
        }
        fn vocab_size(&self) -> usize {
            self.vocab
        }
    }

    /// Best normalised score over every sequence the rules allow.
    fn exhaustive(
        model: &HashedModel,
        search: &Search,
        history: &mut Vec<u32>,
        tokens: &mut Vec<u32>,
        score: f32,
        best: &mut (f64, Vec<u32>),
    ) {
        let step = tokens.len();
        if step == search.max_length {
            let s = search.normalise(score, tokens.len());
            if s > best.0 {
                *best = (s, tokens.clone());
            }
            return;
        }
        let mut row = model.log_probs(history);
        search.constrain(&mut row, tokens, step);
        for (id, &lp) in row.iter().enumerate() {
            if lp == f32::NEG_INFINITY {
                continue;
            }
            tokens.push(id as u32);
            if id as u32 == search.sep {
                let s = search.normalise(score + lp, tokens.len());
                if s > best.0 {
                    *best = (s, tokens.clone());
                }
            } else {
                history.push(id as u32);
                exhaustive(model, search, history, tokens, score + lp, best);
                history.pop();
            }
            tokens.pop();
        }
    }

    #[test]
    fn wide_beam_search_finds_the_exhaustive_optimum() {
        for (seed_token, length_penalty, min_length, no_repeat) in
            [(7, 1.0, 0, 0), (3, 0.0, 2, 0), (5, 2.0, 1, 2)]
        {
            let search = Search {
                cls: seed_token,
                sep: 0,
                never_generate: vec![1],
                max_length: 4,
                min_length,
                beam_size: 16,
                length_penalty,
                no_repeat_ngram_size: no_repeat,
                grounding: None,
            };
            let mut model = HashedModel {
                vocab: 5,
                histories: Vec::new(),
            };
            let mut best = (f64::NEG_INFINITY, Vec::new());
            exhaustive(
                &model,
                &search,
                &mut vec![seed_token],
                &mut Vec::new(),
                0.0,
                &mut best,
            );
            let found = search.run(&mut model, &mut |_| Ok(())).unwrap();
            assert_eq!(
                found.tokens, best.1,
                "penalty {length_penalty}, min {min_length}"
            );
            assert_log_probs_add_up(&found);
        }
    }

    /// One log-prob per token, summing to the hypothesis' score.
    fn assert_log_probs_add_up(found: &Hypothesis) {
        assert_eq!(found.token_log_probs.len(), found.tokens.len());
        let sum: f32 = found.token_log_probs.iter().sum();
        assert!(
            (sum - found.log_prob).abs() < 1e-4,
            "{sum} vs {}",
            found.log_prob
        );
        assert!(found.token_log_probs.iter().all(|&lp| lp <= 1e-6));
    }

    #[test]
    fn greedy_follows_the_argmax_and_respects_min_length() {
        let search = Search {
            cls: 2,
            sep: 0,
            never_generate: vec![],
            max_length: 6,
            min_length: 3,
            beam_size: 1,
            length_penalty: 1.0,
            no_repeat_ngram_size: 0,
            grounding: None,
        };
        let mut model = HashedModel {
            vocab: 4,
            histories: Vec::new(),
        };
        let found = search.run(&mut model, &mut |_| Ok(())).unwrap();
        let reference = HashedModel {
            vocab: 4,
            histories: Vec::new(),
        };
        let mut history = vec![2];
        for (step, &token) in found.tokens.iter().enumerate() {
            let mut row = reference.log_probs(&history);
            search.constrain(&mut row, &found.tokens[..step], step);
            let best = (0..4).fold(0, |b, i| if row[i] > row[b] { i } else { b });
            assert_eq!(token as usize, best);
            history.push(token);
        }
        assert!(found.tokens.iter().take(3).all(|&t| t != 0));
        assert_log_probs_add_up(&found);
    }

    /// Ten tokens ([CLS] 2, [SEP] 3); concept 0 is named [5, 6], 1 [7], 2 [8]; the words
    /// are 5 and 9 (concept 0), 7 (concept 1) and 8 (concept 2). The image shows concept 0
    /// surely, then 2 and 1; only the first concept supports words.
    fn grounded_search(cls_seed: usize, beam_size: usize, max_length: usize) -> Search {
        use crate::manifest::{GroundingSpec, TokenizerSpec};
        let spec = GroundingSpec {
            subject_score: 0.5,
            supported_top: 1,
            names: vec![vec![5, 6], vec![7], vec![8]],
            words: vec![vec![5, 0], vec![7, 1], vec![8, 2], vec![9, 0]],
            once: vec![],
            lead_in: vec![],
        };
        let tokenizer = TokenizerSpec::small_for_tests(10, None);
        let vocabulary = crate::vocabulary::DecoderVocabulary::for_tokenizer(&tokenizer).unwrap();
        let tables = grounding::GroundingTables::new(&spec, &vocabulary, &[0, 1, 2, 4]);
        Search {
            // The hashed model's history starts with [CLS]; varying it varies the model.
            cls: 2 + 10 * cls_seed as u32,
            sep: 3,
            never_generate: vec![0, 1, 2, 4],
            max_length,
            min_length: 0,
            beam_size,
            length_penalty: 1.0,
            no_repeat_ngram_size: 0,
            grounding: Some(tables.for_image(&[0, 2, 1], &[0.9, 0.3, 0.2])),
        }
    }

    #[test]
    fn grounded_captions_name_the_subject_and_no_unsupported_object() {
        let mut ungrounded_without_subject = 0;
        for seed in 0..8 {
            for beam_size in [1, 3] {
                for max_length in [3, 6] {
                    let search = grounded_search(seed, beam_size, max_length);
                    let mut model = HashedModel {
                        vocab: 10,
                        histories: Vec::new(),
                    };
                    let found = search.run(&mut model, &mut |_| Ok(())).unwrap();
                    let tokens = &found.tokens;
                    let what =
                        format!("seed {seed}, beam {beam_size}, max {max_length}: {tokens:?}");
                    let at = (tokens.windows(2).position(|w| w == [5, 6]))
                        .unwrap_or_else(|| panic!("no subject, {what}"));
                    assert!(!tokens.contains(&7) && !tokens.contains(&8), "{what}");
                    // Nothing but the subject's start may open it, and it ends nothing.
                    assert!(
                        !tokens[..at].contains(&9) && !tokens[..at].contains(&3),
                        "{what}"
                    );
                    assert!(tokens.iter().filter(|&&t| t == 9).count() <= 1, "{what}");
                    assert!(tokens.iter().filter(|&&t| t == 5).count() == 1, "{what}");
                    assert_log_probs_add_up(&found);

                    let free = Search {
                        grounding: None,
                        ..search
                    };
                    let mut model = HashedModel {
                        vocab: 10,
                        histories: Vec::new(),
                    };
                    let found = free.run(&mut model, &mut |_| Ok(())).unwrap();
                    if !found.tokens.windows(2).any(|w| w == [5, 6]) {
                        ungrounded_without_subject += 1;
                    }
                }
            }
        }
        // Left alone the model rarely says the subject: grounding is what made it.
        assert!(
            ungrounded_without_subject > 16,
            "{ungrounded_without_subject} of 32"
        );
    }

    #[test]
    fn grounded_beam_search_finds_the_exhaustive_optimum() {
        for seed in 0..4 {
            let search = grounded_search(seed, 16, 4);
            let mut model = HashedModel {
                vocab: 10,
                histories: Vec::new(),
            };
            let mut best = (f64::NEG_INFINITY, Vec::new());
            exhaustive(
                &model,
                &search,
                &mut vec![search.cls],
                &mut Vec::new(),
                0.0,
                &mut best,
            );
            assert!(best.1.windows(2).any(|w| w == [5, 6]), "{:?}", best.1);
            let found = search.run(&mut model, &mut |_| Ok(())).unwrap();
            assert_eq!(found.tokens, best.1, "seed {seed}");
        }
    }

    #[test]
    fn a_forced_token_keeps_its_log_prob_past_the_other_constraints() {
        let mut search = grounded_search(0, 1, 6);
        // 6 is banned outright and would repeat a token, yet the subject's continuation
        // is forced at the model's log-prob.
        search.never_generate.push(6);
        search.no_repeat_ngram_size = 1;
        let raw: Vec<f32> = (0..10).map(|i| -1.0 - i as f32 / 10.0).collect();
        let mut row = raw.clone();
        search.constrain(&mut row, &[6, 5], 2);
        assert_eq!(row[6], raw[6]);
        assert!(
            (0..10)
                .filter(|&i| i != 6)
                .all(|i| row[i] == f32::NEG_INFINITY)
        );
    }

    #[test]
    fn top_candidates_breaks_ties_by_index() {
        let v = [1.0, 3.0, 3.0, -1.0, 2.0, 3.0];
        assert_eq!(
            top_candidates(&v, 4),
            vec![(3.0, 1), (3.0, 2), (3.0, 5), (2.0, 4)]
        );
        assert_eq!(top_candidates(&v, 10).len(), 6);
    }

    #[test]
    fn repeated_ngrams_are_found() {
        assert_eq!(repeated_ngram_bans(&[1, 2, 3, 1], 2), vec![2]);
        assert_eq!(repeated_ngram_bans(&[1, 2, 3], 2), Vec::<u32>::new());
        let mut unigram = repeated_ngram_bans(&[4, 5, 4], 1);
        unigram.sort();
        assert_eq!(unigram, vec![4, 4, 5]);
        assert_eq!(repeated_ngram_bans(&[1, 2, 1, 2], 3), vec![1]);
        assert!(repeated_ngram_bans(&[], 2).is_empty());
    }
}
