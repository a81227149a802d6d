"""The documentation's figures, in one machine-readable file written by the commands that
measure them (`docs/figures.json`), and the documents rendered from it.

    python -m lightcap.figures sizes [--pack models/default]       measure and record the pack's sizes
    python -m lightcap.figures photo-eval OUT_DIR [--pack PACK]    record scripts/evaluate-photos.sh's scores
    python -m lightcap.figures bench build/bench/default.json     record scripts/bench.sh's row of the bundled pack
    python -m lightcap.figures phone build/bench/default.json     a phone core's caption, estimated from it
    python -m lightcap.figures profile REPORT [--prefix P]        record a vision-graph profile's shares
    python -m lightcap.figures library FILE --key K --command C   record a built library's size
    python -m lightcap.figures render                              rewrite every quoted figure in the docs
    python -m lightcap.figures check                               what the test asserts, as a command

Each entry: `text` (as the docs print it), `value` and `unit`, the `command` that measured
it, the `machine` and `date`, and `pack` (the sha256 of the measured pack's manifest,
which lists every file's checksum). A document quotes a figure as
`<!--fig:KEY-->18.6 MB<!--/fig-->`: invisible when rendered, and `render` replaces what
lies between with the entry's text. scripts/tests/test_figures.py fails when a quoted
figure differs from the file, names a key the file lacks, or an entry lacks its source,
and when an entry measured a pack other than the bundled one.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIGURES = REPO / "docs" / "figures.json"
BUNDLED = REPO / "models" / "default"
QUOTED = re.compile(r"<!--fig:([\w.-]+)-->(.*?)<!--/fig-->", re.S)
SOURCE_FIELDS = ("text", "command", "machine", "date")


def documents(root: Path = REPO) -> list[Path]:
    """The files whose figures are quoted from the file."""
    files = [root / "README.md", root / "models" / "README.md", root / "CHANGELOG.md"]
    return [f for f in files + sorted((root / "docs").glob("*.md")) if f.is_file()]


def pack_digest(pack: Path) -> str:
    return hashlib.sha256((Path(pack) / "manifest.json").read_bytes()).hexdigest()


def machine() -> str:
    """'2-core Intel(R) Xeon(R) ...' from /proc/cpuinfo, else the platform's processor."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()}-core {model}"


def load(path: Path = FIGURES) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def record(entries: dict[str, dict], command: str, pack: Path | None, path: Path = FIGURES) -> None:
    """Merges `entries` (key -> {text, value, unit}) into the file with their source."""
    figures = load(path)
    stamp = {"command": command, "machine": machine(), "date": datetime.date.today().isoformat()}
    if pack is not None:
        stamp["pack"] = pack_digest(pack)
    for key, entry in entries.items():
        figures[key] = {**entry, **stamp}
    path.write_text(json.dumps(dict(sorted(figures.items())), indent=2) + "\n", encoding="utf-8")
    print(f"recorded {len(entries)} figures in {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


def megabytes(size: int) -> dict:
    return {"text": f"{size / 1e6:.1f} MB", "value": size, "unit": "bytes"}


def measure_sizes(pack: Path) -> dict[str, dict]:
    """The pack as apps ship it (no ONNX graphs), with the ONNX graphs instead of the
    pre-optimised ones, and the folder with both; bytes, shown in MB (10^6)."""
    files = {f.name: f.stat().st_size for f in Path(pack).iterdir() if f.is_file()}
    return {
        "pack.shipped": megabytes(sum(n for name, n in files.items() if not name.endswith(".onnx"))),
        "pack.onnx": megabytes(sum(n for name, n in files.items() if not name.endswith(".nnef.tar"))),
        "pack.folder": megabytes(sum(files.values())),
    }


def heap(mb: float) -> dict:
    """Heap as `lightcap bench` reports it: MB of 2^20 bytes (pack sizes are 10^6)."""
    return {"text": f"{mb:.1f} MB", "value": mb, "unit": "MB"}


def median(timing: dict) -> float:
    return timing["median"]


def percent(share: float) -> dict:
    return {"text": f"{round(share * 100)}%", "value": share, "unit": "share"}


def photo_eval_figures(out_dir: Path) -> dict[str, dict]:
    """The outside photos' totals of scripts/evaluate-photos.sh (OUT_DIR/scores.json)."""
    scores = json.loads((Path(out_dir) / "scores.json").read_text())["outside: all"]
    entries = {"photos.outside.count": {"text": str(scores["images"]), "value": scores["images"], "unit": "photos"}}
    for name in ("names", "concepts", "invented", "unsure", "precise", "head_top1", "head_top5"):
        entries[f"photos.outside.{name}"] = percent(scores[name])
    return entries


def milliseconds(ms: float) -> dict:
    return {"text": f"{ms:.1f} ms", "value": ms, "unit": "ms"}


def ratio(x: float) -> dict:
    return {"text": f"{x:.2f}", "value": x, "unit": "ratio"}


def bench_figures(report_path: Path, prefix: str = "bench") -> dict[str, dict]:
    """The bundled pack's row of scripts/bench.sh (build/bench/default.json): lightcap's
    medians, one thread, and their ratios to the other engines on the same images."""
    report = json.loads(Path(report_path).read_text())
    ours = report["lightcap"]
    entries = {
        "bench.machine": {"text": (here := machine()), "value": here, "unit": "machine"},
        "bench.vision_gflop": {"text": f"{report['vision_gflop']:.2f} GFLOP", "value": report["vision_gflop"],
                               "unit": "GFLOP"},
        "bench.load_ms": milliseconds(median(ours["load_ms"])),
        "bench.heap_loaded_mb": heap(ours["beams"]["1"]["heap_with_pack_mb"]),
        "bench.caption_heap_mb": heap(ours["beams"]["1"]["caption_heap_peak_mb"]),
        "bench.vision_ms": milliseconds(median(ours["beams"]["1"]["vision_ms"])),
    }
    for beam in ("1", "5"):
        ms = median(ours["beams"][beam]["total_ms"])
        entries[f"bench.caption_beam{beam}_ms"] = milliseconds(ms)
        for engine, short in (("onnxruntime", "ort"), ("onnxruntime f32", "ort_f32"), ("pytorch", "pytorch")):
            other = report["engines"].get(engine, {})
            steps = other.get("beams", {}).get(beam)
            if steps:
                # Whole captions may differ in length between engines (grounding is the core's);
                # a decoder step and the vision graph compare like with like.
                entries[f"bench.ratio_{short}_beam{beam}"] = ratio(ms / median(steps["total_ms"]))
                entries[f"bench.step_ratio_{short}_beam{beam}"] = ratio(
                    median(ours["beams"][beam]["decoder_step_ms"]) / median(steps["decoder_step_ms"]))
            if beam == "1" and "vision_ms" in other:
                entries[f"bench.vision_ratio_{short}"] = ratio(median(ours["beams"]["1"]["vision_ms"]) /
                                                               median(other["vision_ms"]))
    return {prefix + key.removeprefix("bench"): entry for key, entry in entries.items()}


def cli_bench_figures(report_path: Path, prefix: str) -> dict[str, dict]:
    """A `lightcap bench --beams 1 --json` report: heap, a beam-1 caption and its parts."""
    report = json.loads(Path(report_path).read_text())
    beam = report["beams"]["1"]
    return {
        f"{prefix}.heap_loaded_mb": heap(beam["heap_with_pack_mb"]),
        f"{prefix}.caption_heap_mb": heap(beam["caption_heap_peak_mb"]),
        f"{prefix}.heap_peak_loading_mb": heap(report["heap_peak_while_loading_mb"]),
        f"{prefix}.caption_beam1_ms": milliseconds(median(beam["total_ms"])),
        f"{prefix}.decode_ms": milliseconds(median(beam["decode_ms"])),
    }


# The phone the estimate is for, and what it assumes (docs/performance.md, "On a phone").
PHONE = {
    "core": "Cortex-A78-class big core at 2.4 GHz",
    # ARMv8.2 FP16: two 128-bit FMA pipes, 8 half-precision lanes each, 2 FLOP per FMA.
    "peak_gflops_f16": 2.4 * 2 * 8 * 2,
    # What one core streams from memory, for the decoder's weights each step.
    "bandwidth_gb_s": 15.0,
}


def phone_figures(report_path: Path) -> dict[str, dict]:
    """A beam-1 caption on a phone core, from the pack as it is: the vision graph's
    measured FLOPs at the share of peak tract reaches here; the decoder's measured time
    scaled by the ratio of peaks (its steps are small and overhead-bound), checked against
    the bytes of weights (float16) it reads each step at the assumed bandwidth."""
    report = json.loads(Path(report_path).read_text())
    ours = report["lightcap"]["beams"]["1"]
    here_peak = report["cpu_peak"]["gflops"]
    efficiency = report["vision_gflops_achieved"]["lightcap"] / here_peak
    vision_ms = report["vision_gflop"] / (PHONE["peak_gflops_f16"] * efficiency) * 1e3
    decoder_bytes = sum(t["bytes"] for t in report["lightcap"]["constants"]["tensors"] if t["graph"] == "decoder") / 2
    steps = median(ours["text_ms"]) / median(ours["decoder_step_ms"])
    step_ms = max(median(ours["decoder_step_ms"]) * here_peak / PHONE["peak_gflops_f16"],
                  decoder_bytes / (PHONE["bandwidth_gb_s"] * 1e9) * 1e3)
    caption_ms = vision_ms + steps * step_ms + median(ours["preprocess_ms"]) + median(ours["decode_ms"])
    return {
        "phone.vision_ms": milliseconds(vision_ms),
        "phone.step_ms": milliseconds(step_ms),
        "phone.caption_beam1_ms": {"text": f"{round(caption_ms, -1):.0f} ms", "value": caption_ms, "unit": "ms"},
        "phone.efficiency": percent(efficiency),
        "phone.decoder_mb_per_step": {"text": f"{decoder_bytes / 1e6:.1f} MB", "value": decoder_bytes, "unit": "bytes"},
    }


def profile_figures(report_path: Path, prefix: str) -> dict[str, dict]:
    """`lightcap bench --profile --json`: each operator kind's share of the vision graph's
    time and its GFLOP/s, for the kinds that take the most time."""
    profile = json.loads(Path(report_path).read_text())["vision_profile"]
    total = profile["total_ms"]
    entries = {f"{prefix}.vision_nodes_ms": milliseconds(total)}
    names = {"DepthWiseConv": "depthwise", "OptMatMul": "matmul", "Softmax": "softmax", "OptMatMulPack": "pack"}
    for kind in profile["kinds"]:
        short = names.get(kind["kind"])
        if short is None:
            continue
        entries[f"{prefix}.{short}_share"] = percent(kind["ms"] / total)
        if kind["flops"] > 0:
            rate = kind["flops"] / kind["ms"] / 1e6
            entries[f"{prefix}.{short}_gflops"] = {"text": f"{rate:.1f} GFLOP/s", "value": rate, "unit": "GFLOP/s"}
    return entries


def quoted(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in QUOTED.finditer(text)]


def render_text(text: str, figures: dict) -> str:
    def replace(match: re.Match) -> str:
        key = match.group(1)
        if key not in figures:
            raise KeyError(f"no figure {key} in {FIGURES.name}")
        return f"<!--fig:{key}-->{figures[key]['text']}<!--/fig-->"

    return QUOTED.sub(replace, text)


def problems(root: Path = REPO, path: Path = FIGURES) -> list[str]:
    """Everything `check` and the test find wrong."""
    figures = load(path)
    found = []
    if not figures:
        return [f"{path} is missing or empty"]
    digest = pack_digest(BUNDLED)
    for key, entry in figures.items():
        missing = [f for f in SOURCE_FIELDS if not entry.get(f)]
        if missing:
            found.append(f"figure {key} lacks its {', '.join(missing)}")
        if "pack" in entry and entry["pack"] != digest:
            found.append(f"figure {key} was measured on another pack than models/default: measure it again")
    for doc in documents(root):
        for key, shown in quoted(doc.read_text(encoding="utf-8")):
            where = doc.relative_to(root)
            if key not in figures:
                found.append(f"{where} quotes {key}, which {path.name} lacks")
            elif shown != figures[key]["text"]:
                found.append(f"{where} shows {key} as {shown!r}; measured: {figures[key]['text']!r} "
                             "(python -m lightcap.figures render)")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    sizes = commands.add_parser("sizes", help="measure the pack's sizes and record them")
    sizes.add_argument("--pack", type=Path, default=BUNDLED)
    photos = commands.add_parser("photo-eval", help="record the outside photos' scores of an evaluation")
    photos.add_argument("out_dir", type=Path)
    photos.add_argument("--pack", type=Path, default=BUNDLED)
    bench = commands.add_parser("bench", help="record the bundled pack's benchmark (build/bench/default.json)")
    bench.add_argument("report", type=Path)
    bench.add_argument("--pack", type=Path, default=BUNDLED)
    bench.add_argument("--prefix", default="bench", help="key prefix (another pack than the bundled one: "
                       "bench.rn50 with --no-pack)")
    bench.add_argument("--no-pack", action="store_true", help="the report is of a pack other than models/default")
    cli = commands.add_parser("cli-bench", help="record a `lightcap bench --json` report of the bundled pack")
    cli.add_argument("report", type=Path)
    cli.add_argument("--prefix", required=True, help="e.g. bench.f16, bench.photo12mp")
    cli.add_argument("--command", dest="command_line", required=True, help="the command that wrote the report")
    phone = commands.add_parser("phone", help="estimate a phone core's caption from the bundled pack's bench")
    phone.add_argument("report", type=Path)
    library = commands.add_parser("library", help="record a built library's size (KiB, stripped)")
    library.add_argument("file", type=Path)
    library.add_argument("--key", required=True, help="e.g. library.aarch64")
    library.add_argument("--command", dest="command_line", required=True, help="the command that built it")
    prof = commands.add_parser("profile", help="record a `lightcap bench --profile --json` report")
    prof.add_argument("report", type=Path)
    prof.add_argument("--prefix", default="profile")
    prof.add_argument("--no-pack", action="store_true", help="the report is of a pack other than models/default")
    commands.add_parser("render", help="rewrite the quoted figures of every document")
    commands.add_parser("check", help="list quoted figures that differ from the file")
    args = parser.parse_args(argv)
    if args.command == "sizes":
        record(measure_sizes(args.pack), "python -m lightcap.figures sizes", args.pack)
    elif args.command == "photo-eval":
        record(photo_eval_figures(args.out_dir), "scripts/evaluate-photos.sh", args.pack)
    elif args.command == "bench":
        record(bench_figures(args.report, args.prefix), "scripts/bench.sh", None if args.no_pack else args.pack)
    elif args.command == "cli-bench":
        record(cli_bench_figures(args.report, args.prefix), args.command_line, BUNDLED)
    elif args.command == "phone":
        record(phone_figures(args.report), f"python -m lightcap.figures phone (from scripts/bench.sh; {PHONE['core']})",
               BUNDLED)
    elif args.command == "library":
        kib = args.file.stat().st_size / 1024
        record({args.key: {"text": f"{kib:,.0f} KiB", "value": args.file.stat().st_size, "unit": "bytes"}},
               args.command_line, None)
    elif args.command == "profile":
        record(profile_figures(args.report, args.prefix), "lightcap bench --profile (scripts/bench.sh)",
               None if args.no_pack else BUNDLED)
    elif args.command == "render":
        figures = load()
        for doc in documents():
            text = doc.read_text(encoding="utf-8")
            rendered = render_text(text, figures)
            if rendered != text:
                doc.write_text(rendered, encoding="utf-8")
                print(f"rendered {doc.relative_to(REPO)}")
    else:
        found = problems()
        for problem in found:
            print(problem)
        return 1 if found else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
