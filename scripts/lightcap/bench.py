"""The same pack's graphs in onnxruntime and (where its PyTorch model is at hand) PyTorch,
one thread each, against `lightcap bench` (the Rust core through tract), in one run.

    python -m lightcap.bench --pack models/default --lightcap target/debug/lightcap \\
        --images tests/images/*.png --json build/bench/default.json
    python -m lightcap.bench --pack build/packs/lightcap-rn50 --torch-config lightcap-rn50 ...

Times the vision graph and whole captions (greedy and beam 5, median and p90 over
images x runs) with the reference search (lightcap.decoding) driving each engine, and
prints ours / theirs ratios (below 1: the SDK is faster) and the vision graph's achieved
GFLOP/s. These machines are shared: every engine is timed in the same run, medians are
reported with their ranges, and nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from .decoding import DecodeOptions, TorchStepper, decode
from .preprocess import preprocess_file
from .prune import search_ids


class OrtStepper:
    """onnxruntime running a pack's decoder graph as a StepFn / ReorderFn."""

    def __init__(self, session, prefix_keys: np.ndarray, prefix_values: np.ndarray, cache_shape):
        self.session, self.keys, self.values = session, prefix_keys, prefix_values
        self.cache_shape = cache_shape  # (layers, heads, head_dim)

    def initial_cache(self):
        layers, heads, dim = self.cache_shape
        empty = np.zeros((layers, 1, heads, 0, dim), np.float32)
        return (empty, empty)

    def step(self, input_ids: np.ndarray, cache):
        log_probs, keys, values = self.session.run(None, {
            "input_ids": input_ids.astype(np.int64), "prefix_keys": self.keys, "prefix_values": self.values,
            "past_keys": cache[0], "past_values": cache[1]})
        return log_probs, (keys, values)

    @staticmethod
    def reorder(cache, parents: list[int]):
        return (cache[0][:, parents], cache[1][:, parents])


def summary(ms: list[float]) -> dict:
    ordered = sorted(ms)
    return {"median": statistics.median(ordered), "p90": ordered[round((len(ordered) - 1) * 0.9)],
            "min": ordered[0], "max": ordered[-1], "n": len(ordered)}


def time_engine(vision, step_for, pixels: list[np.ndarray], manifest: dict, beams: list[int], runs: int,
                pack_graphs: bool = True) -> dict:
    """vision(pixels) -> prefix; step_for(prefix) -> stepper. Times per image and beam.
    pack_graphs: the stepper runs the pack's decoder, whose ids may be pruned (lightcap.prune);
    False for the PyTorch model, which scores the whole tokenizer vocabulary."""
    cls, sep, never_generate = search_ids(manifest, pruned=pack_graphs)
    out = {"vision_ms": [], "beams": {}}
    for beam in beams:
        options = DecodeOptions(max_length=manifest["decoding"]["max_length"], beam_size=beam)
        totals, steps = [], []
        for run in range(runs + 1):  # run 0 warms up
            for image in pixels:
                start = time.perf_counter()
                prefix = vision(image)
                seen = time.perf_counter()
                stepper = step_for(prefix)
                hyp = decode(stepper.step, stepper.reorder, stepper.initial_cache(), cls, sep,
                             never_generate, options)
                end = time.perf_counter()
                if run:
                    totals.append((end - start) * 1e3)
                    steps.append((end - seen) * 1e3 / len(hyp.tokens))
                    if beam == beams[0]:
                        out["vision_ms"].append((seen - start) * 1e3)
        out["beams"][str(beam)] = {"total_ms": summary(totals), "decoder_step_ms": summary(steps)}
    out["vision_ms"] = summary(out["vision_ms"])
    return out


def onnxruntime_engine(pack: Path, manifest: dict):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    start = time.perf_counter()
    vision = ort.InferenceSession(str(pack / manifest["graphs"]["vision"]["file"]), options,
                                  providers=["CPUExecutionProvider"])
    decoder = ort.InferenceSession(str(pack / manifest["graphs"]["decoder"]["file"]), options,
                                   providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - start) * 1e3
    cache = manifest["cache"]

    # By name: a pack's vision graph may have outputs beyond the prefix (image_evidence).
    wanted = ["prefix_keys", "prefix_values"]

    def run_vision(image):
        keys, values = vision.run(wanted, {"image": image[None]})
        return keys, values

    def stepper(prefix):
        return OrtStepper(decoder, prefix[0], prefix[1], (cache["layers"], cache["heads"], cache["head_dim"]))

    return load_ms, run_vision, stepper


def torch_engine(model):
    model = model.eval()

    @torch.no_grad()
    def run_vision(image):
        prefix = model.encode_prefix(model.backbone_grid(torch.from_numpy(image)[None]))
        return prefix.keys, prefix.values

    def stepper(prefix):
        return TorchStepper(model, prefix[0], prefix[1])

    return run_vision, stepper


@torch.no_grad()
def vision_flops(model, size: int) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        model.encode_prefix(model.backbone_grid(torch.rand(1, 3, size, size)))
    return float(counter.get_total_flops())


def peak_gflops_per_core() -> dict:
    """A core's float32 peak from its vector width (AVX-512 / AVX2 FMA, or NEON) and the
    nominal clock /proc/cpuinfo reports (boost clocks are higher)."""
    flags, mhz = "", None
    try:
        info = Path("/proc/cpuinfo").read_text()
        flags = next((line for line in info.splitlines() if line.startswith(("flags", "Features"))), "")
        mhz_lines = [float(line.split(":")[1]) for line in info.splitlines() if line.startswith("cpu MHz")]
        mhz = max(mhz_lines) if mhz_lines else None
    except OSError:
        pass
    if " avx512f" in flags:
        per_cycle, isa = 64, "AVX-512, 2 FMA"
    elif " fma" in flags and " avx2" in flags:
        per_cycle, isa = 32, "AVX2, 2 FMA"
    elif "asimd" in flags:
        per_cycle, isa = 16, "NEON, 2 FMA"
    else:
        per_cycle, isa = 8, "unknown"
    return {"isa": isa, "flops_per_cycle": per_cycle, "mhz": mhz,
            "gflops": per_cycle * mhz / 1e3 if mhz else None}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pack", type=Path, required=True)
    parser.add_argument("--lightcap", type=Path, required=True, help="the lightcap CLI binary")
    parser.add_argument("--images", type=Path, nargs="+", required=True)
    parser.add_argument("--beams", default="1,5")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--torch-config", help="random-weight PyTorch model of this config (seed 0), as exported")
    parser.add_argument("--checkpoint", type=Path, help="the PyTorch checkpoint the pack was exported from")
    parser.add_argument("--onnxruntime-f32", type=Path,
                        help="the float32 twin of an int8 pack: onnxruntime runs it too, as a user of "
                             "onnxruntime would ship it (its int8 graphs dequantize on every run)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    beams = [int(b) for b in args.beams.split(",")]
    manifest = json.loads((args.pack / "manifest.json").read_text())
    size = manifest["image"]["size"]
    pixels = [preprocess_file(p, size) for p in args.images]

    with tempfile.TemporaryDirectory() as tmp:
        ours_json = Path(tmp) / "ours.json"
        subprocess.run([str(args.lightcap), "bench", "--pack", str(args.pack), "--beams", args.beams,
                        "--runs", str(args.runs), "--json", str(ours_json), *map(str, args.images)],
                       check=True, stdout=subprocess.DEVNULL)
        ours = json.loads(ours_json.read_text())
        has_nnef = any("nnef" in spec for spec in manifest["graphs"].values())
        if has_nnef:
            # The same pack loaded from its ONNX graphs: what the pre-optimised form saves.
            subprocess.run([str(args.lightcap), "bench", "--pack", str(args.pack), "--onnx-graphs", "--beams", "1",
                            "--runs", "1", "--json", str(ours_json), str(args.images[0])],
                           check=True, stdout=subprocess.DEVNULL)
            from_onnx = json.loads(ours_json.read_text())
            ours["from_onnx"] = {key: from_onnx[key] for key in
                                 ("load_ms", "peak_rss_while_loading_mb", "heap_peak_while_loading_mb")}

        # The same pack on tract's operators alone: what LightCap's own kernels save.
        subprocess.run([str(args.lightcap), "bench", "--pack", str(args.pack), "--tract-kernels", "--beams",
                        args.beams, "--runs", str(args.runs), "--json", str(ours_json), *map(str, args.images)],
                       check=True, stdout=subprocess.DEVNULL)
        tract_only = json.loads(ours_json.read_text())

    report = {"pack": str(args.pack), "model": manifest["model"]["name"], "machine": platform.processor()
              or platform.machine(), "cpu_peak": peak_gflops_per_core(), "lightcap": ours, "engines": {}}
    report["engines"][TRACT_KERNELS] = {
        "load_ms": tract_only["load_ms"]["median"],
        "vision_ms": tract_only["beams"][str(beams[0])]["vision_ms"],
        "beams": {b: {key: tract_only["beams"][b][key] for key in ("total_ms", "decoder_step_ms")}
                  for b in map(str, beams)},
    }
    load_ms, vision, stepper = onnxruntime_engine(args.pack, manifest)
    report["engines"]["onnxruntime"] = {"load_ms": load_ms, **time_engine(vision, stepper, pixels, manifest, beams,
                                                                          args.runs)}
    if args.onnxruntime_f32:
        twin = json.loads((args.onnxruntime_f32 / "manifest.json").read_text())
        load_ms, vision, stepper = onnxruntime_engine(args.onnxruntime_f32, twin)
        report["engines"]["onnxruntime f32"] = {"load_ms": load_ms, **time_engine(vision, stepper, pixels, twin,
                                                                                  beams, args.runs)}
    model = None
    if args.checkpoint:
        from .checkpoint import load_checkpoint

        model = load_checkpoint(args.checkpoint)[0]
    elif args.torch_config:
        from .checkpoint import random_model
        from .text import CaptionTokenizer

        model = random_model(args.torch_config, CaptionTokenizer(), seed=0)[0]
    if model is not None:
        vision_fn, stepper_fn = torch_engine(model)
        report["engines"]["pytorch"] = time_engine(vision_fn, stepper_fn, pixels, manifest, beams, args.runs,
                                                   pack_graphs=False)
        report["vision_gflop"] = vision_flops(model, size) / 1e9

    print_table(report, beams)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


# The column of lightcap itself with tract's operators everywhere (`--tract-kernels`).
TRACT_KERNELS = "tract's kernels"


def print_table(report: dict, beams: list[int]) -> None:
    ours = report["lightcap"]
    rows = [("vision graph", ours["beams"][str(beams[0])]["vision_ms"]["median"],
             {name: e["vision_ms"]["median"] for name, e in report["engines"].items()})]
    for beam in beams:
        b = str(beam)
        rows.append((f"caption, beam {beam}", ours["beams"][b]["total_ms"]["median"],
                     {name: e["beams"][b]["total_ms"]["median"] for name, e in report["engines"].items()}))
        rows.append((f"decoder step, beam {beam}", ours["beams"][b]["decoder_step_ms"]["median"],
                     {name: e["beams"][b]["decoder_step_ms"]["median"] for name, e in report["engines"].items()}))
    names = list(report["engines"])
    print(f"{report['model']}: medians in ms, one thread; ratio = lightcap / other (< 1: lightcap faster)")
    print(f"{'':26}{'lightcap':>10}" + "".join(f"{n:>17}{'ratio':>7}" for n in names))
    for label, mine, theirs in rows:
        print(f"{label:26}{mine:10.1f}" + "".join(f"{theirs[n]:17.1f}{mine / theirs[n]:7.2f}" for n in names))
    if "from_onnx" in ours:
        o = ours["from_onnx"]
        print(f"load from the ONNX graphs instead of the pre-optimised form: {o['load_ms']['median']:.0f} ms, "
              f"{o['peak_rss_while_loading_mb']:.0f} MB resident and {o['heap_peak_while_loading_mb']:.0f} MB "
              "of heap at the peak of loading")
    form = "pre-optimised form" if "from_onnx" in ours else "ONNX graphs"
    print(f"load: lightcap {ours['load_ms']['median']:.0f} ms (optimised plan, from the {form}), "
          + ", ".join(f"{name} {e['load_ms']:.0f} ms" for name, e in report["engines"].items() if "load_ms" in e)
          + "; "
          f"peak resident memory {ours['peak_rss_mb']:.0f} MB "
          f"({ours['peak_rss_while_loading_mb']:.0f} MB reached while loading; "
          f"heap peak while loading {ours['heap_peak_while_loading_mb']:.0f} MB)")
    for beam in beams:
        b = ours["beams"][str(beam)]
        print(f"memory, beam {beam}: a caption's heap peaks {b['caption_heap_peak_mb']:.1f} MB above "
              f"the {b['heap_with_pack_mb']:.1f} MB the loaded pack holds")
    if "vision_gflop" in report:
        gflop = report["vision_gflop"]
        rates = {"lightcap": gflop / (ours["beams"][str(beams[0])]["vision_ms"]["median"] / 1e3)}
        for name, engine in report["engines"].items():
            rates[name] = gflop / (engine["vision_ms"]["median"] / 1e3)
        report["vision_gflops_achieved"] = rates
        peak = report["cpu_peak"]
        print(f"vision graph: {gflop:.2f} GFLOP; GFLOP/s " + ", ".join(f"{n} {r:.0f}" for n, r in rates.items()))
        if peak["gflops"]:
            # /proc/cpuinfo gives the nominal clock; under boost a core runs faster, which is
            # why another engine can exceed this figure.
            print(f"  one core's peak at the nominal clock: {peak['gflops']:.0f} GFLOP/s ({peak['isa']} at "
                  f"{peak['mhz']:.0f} MHz); lightcap at {100 * rates['lightcap'] / peak['gflops']:.0f}% of it")


if __name__ == "__main__":
    main()
