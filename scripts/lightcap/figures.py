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
lies between with the entry's text (a table is quoted the same way, the markers on lines
of their own). scripts/tests/test_figures.py fails when a quoted figure differs from the
file, names a key the file lacks, or an entry lacks its source, and when an entry
measured a pack other than the bundled one; and when a document states a figure outside
a quote (a number with a unit of measurement: 12.5 ms, 18.6 MB, 58%, 1.53x) that
NOT_MEASURED does not list as a limit, target, setting, sum or someone else's result.
Entries copied from the history rather than written by a command name the commit that
first stated them (`transcribed_from`).
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
# The whitespace around a quoted text is kept as written: a table's markers sit on lines of
# their own, with a blank line before the closing one so that the table ends there.
QUOTED = re.compile(r"<!--fig:([\w.-]+)-->(\s*)(.*?)(\s*)<!--/fig-->", re.S)
SOURCE_FIELDS = ("text", "command", "machine", "date")

# A number (1,234.5) and a unit of measurement, possibly across a line break. A ratio's x
# sits on its number (1.53x): "7 x 7 x 1280" and "4032 x 3024" are shapes. A bare s
# (seconds) needs a space before it, so that "the 1990s" is no figure.
FIGURE = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:(?P<ratio>[x×])(?![\w×])"
    r"|(?P<gap>[ \t\u00a0]*(?:\n[ \t]*)?|&nbsp;)"
    r"(?P<unit>GFLOP/s|TFLOP/s|GFLOPs|GFLOP|GB/s|MB/s|KiB|MiB|GiB|kB|KB|MB|GB|TB|ms|µs|μs|ns|"
    r"seconds?|minutes?|min|hours?|days?|s|%|CIDEr-D|CIDEr|BLEU-4|fps|FPS)(?![\w/]))")
NEEDS_GAP = {"s"}
FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
# A code span may wrap onto the next line, never past a paragraph.
CODE_SPAN = re.compile(r"(`+)(?!`)(?:(?!\n[ \t]*\n).)+?(?<!`)\1(?!`)", re.S)
LINK_TARGET = re.compile(r"\]\([^)]*\)|<https?://[^>]*>|https?://\S+|\b(?:src|href)=\"[^\"]*\"")
COMMENT = re.compile(r"<!--.*?-->", re.S)
# History: the changelog records what was measured when, by version and date; its figures
# describe packs and code that have since changed, so only its quotes are checked.
HISTORY = ("CHANGELOG.md",)

# Figures the documents state that no command here measures, and why: limits and targets,
# settings, arithmetic, assumptions and the results of others. Each lists the phrases as the
# documents print them (line breaks as spaces); a figure inside one is not asked for a
# source. A measured figure belongs in docs/figures.json, quoted, not here.
NOT_MEASURED = {
    "a target or limit the project sets itself, not a result": [
        "at most 20 MB for the int8 pack as shipped",
        "CI must finish in 90 minutes",
        "A 10 MB library.",
        "10 MB needs an NNEF reader",
        "captions naming the object for 60% of photos and for at least as many as the head's top-1, "
        "top-5 concepts for 75% and at least the head's top-5, at most 10% invented, at most 25% of "
        "photos and at least 90% of non-photos unsure",
        "the lowest at which the leading sure concept names 75%",
        "the lowest at which the leading sure concept names the photo's label 75% of the time",
    ],
    "a limit in code (the core's file-size limit, tract's constant folding)": [
        "or a file over 256 MiB",
        "tract folds constants only up to 4 MiB",
    ],
    "a training or calibration setting": [
        "AdamW, 5% warm-up",
        "flags the 15% of photos it is least sure of",
    ],
    "pixels times bytes per pixel, not a measurement": [
        "never becomes 190 MB of pixels",
        "a 48 MP photo: 190 MB of RGBA",
        "a 12-megapixel PNG is 36 MB of RGB",
        "a 1280 x 720 frame is 3.7 MB",
    ],
    "an assumption of the phone estimate (figures.PHONE)": [
        "76.8 GFLOP/s peak",
        "float16 weights a step would take at 15 GB/s",
    ],
    "what a damaged file asked for, found by fuzzing": ["asked tract for a 74 TB tensor"],
    "the LightCap paper's result, not this project's": ["paper reports 188 ms for its larger model"],
}


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


def record(entries: dict[str, dict], command: str, pack: Path | None, path: Path = FIGURES,
           replacing: str | None = None) -> None:
    """Merges `entries` (key -> {text, value, unit}) into the file with their source; with
    `replacing`, the file's figures directly under that prefix go first (a profile's
    operator kinds change as kernels do: one not measured again must not stay)."""
    figures = load(path)
    if replacing is not None:
        figures = {key: entry for key, entry in figures.items()
                   if not (key.startswith(replacing + ".") and "." not in key[len(replacing) + 1:])}
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
    pre-optimised ones, the folder with both, and each graph in each form; bytes, shown
    in MB (10^6)."""
    files = {f.name: f.stat().st_size for f in Path(pack).iterdir() if f.is_file()}
    sizes = {
        "pack.shipped": megabytes(sum(n for name, n in files.items() if not name.endswith(".onnx"))),
        "pack.onnx": megabytes(sum(n for name, n in files.items() if not name.endswith(".nnef.tar"))),
        "pack.folder": megabytes(sum(files.values())),
    }
    for graph in ("vision", "decoder"):
        for form, suffix in (("onnx", ".onnx"), ("nnef", ".nnef.tar")):
            if graph + suffix in files:
                sizes[f"pack.{graph}_{form}"] = megabytes(files[graph + suffix])
    return sizes


def heap(mb: float) -> dict:
    """Heap as `lightcap bench` reports it: MB of 2^20 bytes (pack sizes are 10^6)."""
    return {"text": f"{mb:.1f} MB", "value": mb, "unit": "MB"}


def median(timing: dict) -> float:
    return timing["median"]


def percent(share: float) -> dict:
    return {"text": f"{round(share * 100)}%", "value": share, "unit": "share"}


def photo_eval_figures(out_dir: Path) -> dict[str, dict]:
    """The outside photos' totals of scripts/evaluate-photos.sh (OUT_DIR/scores.json), and
    its whole table per source (OUT_DIR/table.md, without its title)."""
    all_scores = json.loads((Path(out_dir) / "scores.json").read_text())
    scores = all_scores["outside: all"]
    entries = {"photos.outside.count": {"text": str(scores["images"]), "value": scores["images"], "unit": "photos"}}
    for name in ("names", "concepts", "invented", "unsure", "precise", "head_top1", "head_top5"):
        entries[f"photos.outside.{name}"] = percent(scores[name])
    table = [line for line in (Path(out_dir) / "table.md").read_text().splitlines() if line.startswith("|")]
    entries["photos.table"] = {"text": "\n".join(table), "value": all_scores, "unit": "table"}
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
        engines = (("onnxruntime", "ort"), ("onnxruntime f32", "ort_f32"), ("pytorch", "pytorch"),
                   ("tract's kernels", "tract_kernels"))
        for engine, short in engines:
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
            if beam == "1" and other.get("load_ms"):
                # The other engines report one load (a float), lightcap the median of several.
                entries[f"bench.load_ratio_{short}"] = ratio(median(ours["load_ms"]) / other["load_ms"])
    # Where loading goes (the last load's steps, both graphs together).
    stages = ours.get("load_stages_ms", {})
    # A pack folder's graphs are hashed as they are read ("sha256"); files in memory are
    # hashed once read ("read, sha256").
    for steps, key in ((("sha256", "read, sha256"), "sha256"), (("read NNEF",), "read_nnef"),
                       (("dequantize int8",), "dequantize"), (("our kernels",), "own_kernels"),
                       (("optimise",), "optimise")):
        times = [ms for name, ms in stages.items() if name.split(": ", 1)[-1].startswith(steps)]
        if times:
            entries[f"bench.load_{key}_ms"] = milliseconds(sum(times))
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
    measured FLOPs at the share of peak tract's own operators reach here (a phone computing
    in float16 runs LightCap's FP16 kernels for most of them, which took about a third of
    tract's instructions under qemu: the estimate stays on the side of tract's measured
    share rather than assume ours reach theirs on a phone); the decoder's measured time
    scaled by the ratio of peaks (its steps are small and overhead-bound), checked against
    the bytes of weights (float16) it reads each step at the assumed bandwidth."""
    report = json.loads(Path(report_path).read_text())
    ours = report["lightcap"]["beams"]["1"]
    here_peak = report["cpu_peak"]["gflops"]
    achieved = report["vision_gflops_achieved"]
    efficiency = achieved.get("tract's kernels", achieved["lightcap"]) / here_peak
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
    # LightCap's own kernels (`core/src/kernels`) run the depthwise convolutions, the matrix
    # products of 1x1 convolutions and layers, attention's batched products (`batched`),
    # the other convolutions and the softmax, unless the profile was taken with
    # --tract-kernels; tract's matrix kernels (`matmul`) run what is left.
    names = {"DepthWiseConv": "depthwise", "DepthwiseConv(lightcap)": "depthwise", "OptMatMul": "matmul",
             "MatMul(lightcap)": "product", "BatchedMatMul(lightcap)": "batched", "Conv(lightcap)": "conv",
             "Softmax": "softmax", "Softmax(lightcap)": "softmax", "OptMatMulPack": "pack",
             "OptBinChain(Max+Min)": "clamp"}
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
    return [(m.group(1), m.group(3)) for m in QUOTED.finditer(text)]


def render_text(text: str, figures: dict) -> str:
    def replace(match: re.Match) -> str:
        key, before, _, after = match.groups()
        if key not in figures:
            raise KeyError(f"no figure {key} in {FIGURES.name}")
        return f"<!--fig:{key}-->{before}{figures[key]['text']}{after}<!--/fig-->"

    return QUOTED.sub(replace, text)


def _blank(match: re.Match) -> str:
    """Spaces for the match, its line breaks kept: offsets and line numbers stay put."""
    return re.sub(r"[^\n]", " ", match.group(0))


def prose(text: str) -> str:
    """`text` with what states no figure of its own blanked out: quotes (checked against
    the file instead), comments, fenced code blocks, code spans, link targets and URLs."""
    text = COMMENT.sub(_blank, QUOTED.sub(_blank, text))
    lines, fence = text.split("\n"), None
    for i, line in enumerate(lines):
        opened = FENCE.match(line)
        if fence is None and opened:
            fence, lines[i] = opened.group(1), " " * len(line)
        elif fence is not None:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = None
            lines[i] = " " * len(line)
    text = "\n".join(lines)
    return LINK_TARGET.sub(_blank, CODE_SPAN.sub(_blank, text))


def _phrase(words: str) -> re.Pattern:
    return re.compile(r"\s+".join(re.escape(word) for word in words.split()))


def unquoted_figures(text: str, not_measured: dict[str, list[str]] | None = None) -> list[tuple[int, str]]:
    """(line, figure) of each figure `text` states outside a quote, code and links, but
    for those inside a phrase of `not_measured` (by default NOT_MEASURED)."""
    not_measured = NOT_MEASURED if not_measured is None else not_measured
    excused = [m.span() for phrases in not_measured.values() for words in phrases
               for m in _phrase(words).finditer(text)]
    found = []
    for m in FIGURE.finditer(prose(text)):
        if m.group("unit") in NEEDS_GAP and not m.group("gap"):
            continue
        if any(start <= m.start() and m.end() <= end for start, end in excused):
            continue
        found.append((text.count("\n", 0, m.start()) + 1, " ".join(m.group(0).split())))
    return found


def unused_phrases(texts: list[str], not_measured: dict[str, list[str]]) -> list[str]:
    """The phrases of `not_measured` that no document prints any more."""
    return [words for phrases in not_measured.values() for words in phrases
            if not any(_phrase(words).search(text) for text in texts)]


def problems(root: Path = REPO, path: Path = FIGURES,
             not_measured: dict[str, list[str]] | None = None) -> list[str]:
    """Everything `check` and the test find wrong."""
    not_measured = NOT_MEASURED if not_measured is None else not_measured
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
    record_name = path.relative_to(root) if path.is_relative_to(root) else path.name
    texts = []
    for doc in documents(root):
        text = doc.read_text(encoding="utf-8")
        where = doc.relative_to(root)
        for key, shown in quoted(text):
            if key not in figures:
                found.append(f"{where} quotes {key}, which {path.name} lacks")
            elif shown != figures[key]["text"]:
                found.append(f"{where} shows {key} as {shown!r}; measured: {figures[key]['text']!r} "
                             "(python -m lightcap.figures render)")
        if doc.name in HISTORY and doc.parent == root:
            continue
        texts.append(text)
        for line, figure in unquoted_figures(text, not_measured):
            found.append(f'{where}:{line}: "{figure}" is a figure with no source: quote it from '
                         f"{record_name} or, if nothing measures it, list it in figures.NOT_MEASURED")
    for words in unused_phrases(texts, not_measured):
        found.append(f"figures.NOT_MEASURED lists {words!r}, which no document prints: remove it")
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
               None if args.no_pack else BUNDLED, replacing=args.prefix)
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
