"""The confidence calibration on synthetic features: the fit separates two classes, the
threshold makes the asked share of negatives unsure, and the section is what the core
reads (core/src/confidence.rs)."""

import json

import numpy as np
from PIL import Image

from lightcap import calibrate


def synthetic_records(rng, n, positive):
    """JSON-line-like records whose features differ by class, with overlap."""
    shift = 1.0 if positive else 0.0
    records = []
    for i in range(n):
        records.append({
            "image": f"{'photo' if positive else 'noise'}_{i}.png",
            "features": {
                "mean_token_log_prob": float(rng.normal(-1.0 + shift, 0.5)),
                "min_token_log_prob": float(rng.normal(-4.0 + shift, 1.5)),
                "top_concept_score": float(np.clip(rng.normal(0.2 + 0.5 * shift, 0.15), 0, 1)),
                "mean_top5_concept_score": float(np.clip(rng.normal(0.1 + 0.3 * shift, 0.1), 0, 1)),
                "image_evidence": float(rng.normal(0.5 + 0.3 * shift, 0.1)),
            },
        })
    return records


def test_fit_separates_the_classes_and_folds_the_scaling():
    rng = np.random.default_rng(0)
    pos, neg = synthetic_records(rng, 200, True), synthetic_records(rng, 200, False)
    x = calibrate.feature_matrix(pos + neg)
    y = np.array([1.0] * 200 + [0.0] * 200)
    weights, bias = calibrate.fit_logistic(x, y)
    conf = calibrate.confidence(x, weights, bias)
    assert conf[:200].mean() > 0.8 and conf[200:].mean() < 0.2
    # Every feature is higher for positives here, so every weight is positive.
    assert (weights > 0).all()
    # A constant feature does not break the standardisation.
    x[:, 3] = 0.5
    weights, bias = calibrate.fit_logistic(x, y)
    assert np.isfinite(weights).all() and np.isfinite(bias)


def test_threshold_makes_the_asked_share_of_negatives_unsure_and_no_more():
    rng = np.random.default_rng(1)
    negatives = rng.uniform(0, 1, 101)
    for target in (0.5, 0.9, 1.0):
        t = calibrate.choose_threshold(negatives, target)
        share = (negatives < t).mean()
        assert share >= target
        # The next-lower negative would not be enough: t is the lowest such threshold.
        assert (negatives < np.sort(negatives)[int(np.ceil(target * 101)) - 1]).mean() < target
        assert 0.0 <= t <= 1.0


def split_records(seed, photos, negatives):
    """Synthetic photos and non-photos, alternately in the fit and held-out halves."""
    rng = np.random.default_rng(seed)
    photos, negatives = synthetic_records(rng, photos, True), synthetic_records(rng, negatives, False)
    for i, r in enumerate(photos + negatives):
        r["split"] = "held_out" if i % 2 else "fit"
    for i, r in enumerate(negatives):
        r["kind"] = calibrate.NEGATIVE_KINDS[i % len(calibrate.NEGATIVE_KINDS)]
    return photos, negatives


def test_calibrate_reports_held_out_rates_and_writes_a_valid_section():
    photos, negatives = split_records(2, 80, 70)
    report = calibrate.calibrate(photos, negatives, 0.9, calibrate.FEATURE_NAMES)
    unsure, total = report["rates"]["fit"]["negatives"]
    assert total == 35 and unsure / total >= 0.9
    photos_unsure, photos_total = report["rates"]["held_out"]["photos"]
    assert photos_total == 40 and photos_unsure / photos_total < 0.5
    section = calibrate.manifest_section(report, "synthetic")
    assert section["features"] == calibrate.FEATURE_NAMES
    assert len(section["weights"]) == len(section["features"])
    assert 0.0 <= section["threshold"] <= 1.0
    assert "held-out unsure rates" in section["calibrated_on"]
    json.dumps(section, allow_nan=False)


def test_image_evidence_is_used_only_where_the_vision_graph_outputs_it(tmp_path):
    outputs = [{"name": n} for n in ("concept_ids", "concept_scores", "prefix_keys", "prefix_values")]
    manifest = {"graphs": {"vision": {"outputs": outputs}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert calibrate.features_of(tmp_path) == calibrate.FEATURE_NAMES[:4]
    outputs.insert(2, {"name": "image_evidence"})
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert calibrate.features_of(tmp_path) == calibrate.FEATURE_NAMES


def test_every_negative_kind_draws_an_rgb_image():
    rng = np.random.default_rng(3)
    for kind in calibrate.NEGATIVE_KINDS:
        image = calibrate.negative_image(kind, rng, size=64)
        assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (64, 64)
    flat = np.asarray(calibrate.negative_image("flat_colour", rng, size=32))
    assert (flat == flat[0, 0]).all()
    page = np.asarray(calibrate.negative_image("text_page", rng, size=128))
    assert page.min() < 100 < page.max(), "a text page has dark glyphs on a light page"


def test_dataset_photos_come_from_the_held_out_split_full_frames_first(tmp_path):
    def entry(i, split, source):
        return {"imgid": i, "filepath": f"images/{source}", "filename": f"{i}.jpg", "split": split,
                "source": source, "sentences": [{"raw": f"caption {i}"}]}
    images = [entry(0, "train", "photos"), entry(1, "val", "composites"), entry(2, "val", "photos"),
              entry(3, "val", "clipart"), entry(4, "test", "photos"), entry(5, "val", "composites")]
    dataset = tmp_path / "dataset.json"
    dataset.write_text(json.dumps({"dataset": 1, "seed": 0, "images": images}))

    chosen = calibrate.held_out_dataset_photos(dataset, limit=2)
    assert [p["path"] for p in chosen] == [str(tmp_path / "images/photos/2.jpg"),
                                            str(tmp_path / "images/composites/1.jpg")]
    assert chosen[0]["label"] == "caption 2"
    assert len(calibrate.held_out_dataset_photos(dataset)) == 3


def test_judged_photos_and_a_photo_share_raise_the_confident_precision():
    photos, negatives = split_records(4, 120, 60)
    # A third of the photos are described wrongly, and their concepts say so.
    for r in photos[::3]:
        r["right"] = False
        r["features"]["top_concept_score"] -= 0.4
    for r in photos[1::3] + photos[2::3]:
        r["right"] = True
    plain = calibrate.calibrate(photos, negatives, 0.9, calibrate.FEATURE_NAMES)
    judged = calibrate.calibrate(photos, negatives, 0.9, calibrate.FEATURE_NAMES, photo_unsure=0.3)
    assert judged["threshold"] >= plain["threshold"]
    right_sure, sure, right, total = judged["precision"]["held_out"]
    assert right_sure / sure > right / total
    unsure, n = judged["rates"]["fit"]["photos"]
    assert 0.25 <= unsure / n <= 0.35
