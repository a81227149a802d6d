"""The documentation's links and its Kotlin and Swift examples.

- Every relative link and image of README.md, CONTRIBUTING.md, CHANGELOG.md, docs/*.md
  and models/README.md must point at a file or folder of the repository, and a
  `#anchor` into a Markdown file must be one of its headings (GitHub's slugs).
- Every ```kotlin block of README.md and docs/*.md must be, word for word, one of the
  `// doc-example: NAME` ... `// end doc-example` regions of the Kotlin files that the
  JVM and Android checks compile (indentation aside), and every region must be shown.
  The same holds for ```swift blocks and the regions of the Swift files the package's
  tests compile on a Mac (parsed here by ios/scripts/check.sh).

The Rust examples are doc tests of the core and the `$ lightcap` lines are run by
cli/tests/docs.rs; this file covers what those cannot.
"""

from __future__ import annotations

import difflib
import re
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINKED_DOCS = ["README.md", "CONTRIBUTING.md", "CHANGELOG.md", "models/README.md"]
EXAMPLE_FILES = {
    "kotlin": [
        "bindings/kotlin/src/test/kotlin/dev/lightcap/DocExamples.kt",
        "android/lightcap/src/test/kotlin/dev/lightcap/android/DocExamples.kt",
    ],
    "swift": ["ios/LightCap/Tests/LightCapTests/DocExamples.swift"],
}

FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})\s*([\w+-]*)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
INLINE_TARGET = re.compile(r"\]\(\s*<?([^()\s<>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_TARGET = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?")
HTML_TARGET = re.compile(r"<(?:img|a)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
REGION_START = re.compile(r"^\s*// doc-example: (\S+)\s*$")
REGION_END = re.compile(r"^\s*// end doc-example\s*$")


def documents(root: Path = REPO) -> list[Path]:
    """The Markdown files whose links are checked, those that exist."""
    files = [root / name for name in LINKED_DOCS]
    files += sorted((root / "docs").glob("*.md"))
    return [f for f in files if f.is_file()]


def prose_lines(text: str, code_spans: bool = False) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks; code spans blanked out unless
    `code_spans`."""
    lines, fence = [], None
    for number, line in enumerate(text.splitlines(), start=1):
        opened = FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)[0] * len(opened.group(1))
            continue
        if fence is not None:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = None
            continue
        lines.append((number, line if code_spans else CODE_SPAN.sub("", line)))
    return lines


def code_blocks(text: str, language: str) -> list[tuple[int, str]]:
    """(line number of the opening fence, body) of each fenced block in `language`."""
    blocks, body, start, fence = [], [], 0, None
    for number, line in enumerate(text.splitlines(), start=1):
        opened = FENCE.match(line)
        if fence is None:
            if opened:
                fence = opened.group(1)
                start, body = number, []
                keep = opened.group(2) == language
            continue
        if line.strip() == fence:
            if keep:
                blocks.append((start, "\n".join(body) + "\n"))
            fence = None
            continue
        body.append(line)
    return blocks


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text, lower case, punctuation dropped,
    spaces as hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, with GitHub's -1, -2 for repeats."""
    seen: dict[str, int] = {}
    found = set()
    for _, line in prose_lines(path.read_text(encoding="utf-8"), code_spans=True):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def targets(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every link, image and reference definition."""
    found = []
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        for pattern in (INLINE_TARGET, REFERENCE_TARGET, HTML_TARGET):
            found += [(number, m.group(1)) for m in pattern.finditer(line)]
    return found


def broken_links(doc: Path, root: Path = REPO) -> list[str]:
    """One message per relative link of `doc` whose file or anchor does not exist."""
    problems = []
    for number, target in targets(doc):
        if SCHEME.match(target) or target.startswith("//"):
            continue  # a web address: not checked here (no network on CI)
        place = f"{doc.relative_to(root)}:{number}: {target}"
        file_part, _, anchor = target.partition("#")
        resolved = (doc.parent / file_part).resolve() if file_part else doc
        if root.resolve() not in [resolved, *resolved.parents]:
            problems.append(f"{place}: points outside the repository")
            continue
        if not resolved.exists():
            problems.append(f"{place}: no such file or folder")
            continue
        if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{place}: {resolved.relative_to(root.resolve())} has no heading #{anchor}")
    return problems


def example_regions(language: str, root: Path = REPO) -> dict[str, tuple[str, str]]:
    """Region name -> (file, dedented text) of the compiled examples in `language`."""
    regions = {}
    for name in EXAMPLE_FILES[language]:
        current, body = None, []
        for line in (root / name).read_text(encoding="utf-8").splitlines():
            if current is None:
                start = REGION_START.match(line)
                if start:
                    current, body = start.group(1), []
            elif REGION_END.match(line):
                assert current not in regions, f"{name}: region {current} is defined twice"
                regions[current] = (name, textwrap.dedent("\n".join(body) + "\n"))
                current = None
            else:
                body.append(line)
        assert current is None, f"{name}: region {current} has no `// end doc-example`"
    return regions


@pytest.mark.parametrize("doc", documents(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_and_anchors_resolve(doc):
    problems = broken_links(doc)
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_the_link_checker_finds_missing_files_and_anchors(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# A guide\n\n## Threads, and `Send`\n\n## Threads, and `Send`\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Title\n\n"
        "[ok](docs/guide.md#threads-and-send) [ok too](docs/guide.md#threads-and-send-1) [here](#title)\n"
        "![gone](images/none.png) and [bad anchor](docs/guide.md#processes)\n"
        "[web](https://example.org/missing) `[in code](nowhere.md)`\n"
        "```sh\n[in a fence](nowhere.md)\n```\n"
        "[ref]: docs/absent.md\n"
    )
    problems = broken_links(readme, root=tmp_path)
    assert [p.split(": ", 2)[1] for p in problems] == [
        "images/none.png",
        "docs/guide.md#processes",
        "docs/absent.md",
    ], problems
    assert problems[0].startswith("README.md:4: ")


def test_slugs_follow_github():
    assert slug("On a phone, and on ARM here") == "on-a-phone-and-on-arm-here"
    assert slug("Tests: what runs where") == "tests-what-runs-where"
    assert slug("Confidence: when to hedge or stay silent") == "confidence-when-to-hedge-or-stay-silent"
    assert slug("`models/default`: the pack") == "modelsdefault-the-pack"


@pytest.mark.parametrize("language", sorted(EXAMPLE_FILES))
def test_code_blocks_are_the_compiled_examples(language):
    regions = example_regions(language)
    assert regions, f"no {language} doc-example regions found"
    by_text = {text: name for name, (_, text) in regions.items()}
    shown = set()
    problems = []
    docs = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    for doc in docs:
        for line, block in code_blocks(doc.read_text(encoding="utf-8"), language):
            if block in by_text:
                shown.add(by_text[block])
                continue
            nearest = max(regions.items(), key=lambda r: difflib.SequenceMatcher(None, r[1][1], block).ratio())
            name, (file, text) = nearest
            diff = "".join(
                difflib.unified_diff(
                    text.splitlines(keepends=True),
                    block.splitlines(keepends=True),
                    f"{file} (region {name})",
                    f"{doc.relative_to(REPO)}:{line}",
                )
            )
            problems.append(f"{doc.relative_to(REPO)}:{line}: this ```{language} block is no compiled example:\n{diff}")
    assert not problems, "\n".join(problems)
    assert any(
        block in by_text for _, block in code_blocks((REPO / "README.md").read_text(encoding="utf-8"), language)
    ), f"README.md shows no {language} example"
    unshown = sorted(set(regions) - shown)
    assert not unshown, f"doc-example regions no document shows: {unshown}"


def test_code_blocks_are_read_by_language():
    text = "x\n```kotlin\nval a = 1\n\nval b = 2\n```\n```swift\nlet c = 3\n```\n"
    assert code_blocks(text, "kotlin") == [(2, "val a = 1\n\nval b = 2\n")]
    assert code_blocks(text, "swift") == [(7, "let c = 3\n")]


def commands(text: str) -> list[str]:
    """Shell commands of a script or a ```sh block: continuation lines joined, comments and
    `$py` (the test script's interpreter) normalised to `python`."""
    joined = re.sub(r"\\\n\s*", "", text)
    lines = [line.strip().replace('"$py"', "python") for line in joined.splitlines()]
    return [re.sub(r"\s+", " ", line) for line in lines if line and not line.startswith("#")]


def test_the_coco_guide_runs_what_ci_runs():
    guide = (REPO / "docs/model-builders.md").read_text(encoding="utf-8")
    section = guide[guide.index("## Training on COCO"):guide.index("## Export and parity")]
    blocks = [block for _, block in code_blocks(section, "sh") if "lightcap.coco_fixture" in block]
    assert blocks, "the COCO section shows no command CI runs"
    ci = set(commands((REPO / "scripts/test-all.sh").read_text(encoding="utf-8")))
    for command in commands(blocks[0]):
        assert command in ci, f"docs/model-builders.md shows a COCO command CI does not run:\n{command}"
