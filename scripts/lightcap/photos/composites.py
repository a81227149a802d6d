"""Composites: one to three photo cut-outs (RGBA) pasted onto a background photo, with the
captions that say what was pasted where ("a girl dancing on a beach", "a dog next to a
car in a field", "two horses by a lake").

Each composite is drawn from its own seeded stream (seed, index), so the same seed gives
the same images whatever the number of workers. Per composite: a random square crop of
the background, 1-3 subjects (mostly 1-2; a repeated subject becomes "two dogs"), each
scaled, flipped, placed with its foot in the lower part of the frame (later, nearer ones
may hide earlier ones, and the frame edge may cut them), and lit to match the background
(brightness pulled toward the background's, contrast, saturation and a colour cast);
then slight blur and JPEG-like degradation of the whole picture.

Reads the cut-out and background image files; writes PNGs to the folder it is given.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from .general import with_general_captions
from .phrasing import counted, plural, with_article
from .places import Subject

SIZE = 224
COUNT_WEIGHTS = (0.55, 0.33, 0.12)  # one, two, three subjects
REPEAT_SHARE = 0.35  # of multi-subject composites, how many repeat one cut-out ("two horses")
# The long side of a subject, as a share of the frame, by how many subjects there are.
SCALE_RANGE = {1: (0.45, 0.85), 2: (0.33, 0.62), 3: (0.26, 0.5)}
CUTOUT_SIDE = 320  # cut-outs are kept at most this size in memory
BACKGROUND_SIDE = 384  # backgrounds are kept with this short side in memory


@dataclass(frozen=True)
class Cutout:
    subject: Subject
    image: Image.Image  # RGBA, cropped to its opaque part
    group: str


@dataclass(frozen=True)
class Background:
    place: str  # noun phrase: "a beach"
    phrases: tuple[str, ...]  # "on a beach", ...
    image: Image.Image  # RGB
    group: str


def load_cutout(path: str, subject: Subject, group: str) -> Cutout | None:
    with Image.open(path) as opened:
        image = opened.convert("RGBA")
    box = image.getchannel("A").point(lambda a: 255 if a > 16 else 0).getbbox()
    if box is None:
        return None
    image = image.crop(box)
    image.thumbnail((CUTOUT_SIDE, CUTOUT_SIDE), Image.Resampling.LANCZOS)
    return Cutout(subject, image, group)


def load_background(path: str, place: str, phrases: tuple[str, ...], group: str) -> Background:
    with Image.open(path) as opened:
        opened.draft("RGB", (BACKGROUND_SIDE * 2, BACKGROUND_SIDE * 2))  # JPEGs decode small: fast
        image = opened.convert("RGB")
    scale = BACKGROUND_SIDE / min(image.size)
    if scale < 1:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    return Background(place, phrases, image, group)


# ----------------------------------------------------------------------------- pictures


def _crop_background(background: Image.Image, rng: np.random.Generator) -> Image.Image:
    side = int(min(background.size) * rng.uniform(0.65, 1.0))
    x = int(rng.integers(0, background.width - side + 1))
    y = int(rng.integers(0, background.height - side + 1))
    crop = background.crop((x, y, x + side, y + side)).resize((SIZE, SIZE), Image.Resampling.BILINEAR)
    return crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else crop


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _relight(cutout: Image.Image, scene: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Brightness partly matched to the scene's, then contrast, saturation and a cast toward
    the scene's mean colour: a studio cut-out looks less lit by another sun."""
    rgb, alpha = cutout.convert("RGB"), cutout.getchannel("A")
    pixels = np.asarray(rgb, dtype=np.float32)
    weight = np.asarray(alpha, dtype=np.float32) / 255
    mean_cutout = max(float((_luminance(pixels) * weight).sum() / max(weight.sum(), 1)), 8.0)
    scene_pixels = np.asarray(scene, dtype=np.float32)
    mean_scene = max(float(_luminance(scene_pixels).mean()), 8.0)
    brightness = (mean_scene / mean_cutout) ** 0.35 * rng.uniform(0.88, 1.12)
    rgb = ImageEnhance.Brightness(rgb).enhance(float(np.clip(brightness, 0.6, 1.5)))
    rgb = ImageEnhance.Contrast(rgb).enhance(float(rng.uniform(0.8, 1.15)))
    rgb = ImageEnhance.Color(rgb).enhance(float(rng.uniform(0.75, 1.2)))
    cast = scene_pixels.reshape(-1, 3).mean(0)
    tinted = np.asarray(rgb, dtype=np.float32) * (1 - 0.12) + cast * 0.12
    out = Image.fromarray(np.clip(tinted, 0, 255).astype(np.uint8), "RGB")
    # A slightly soft edge hides the cut line.
    out.putalpha(alpha.filter(ImageFilter.GaussianBlur(0.7)))
    return out


def _degrade(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    if rng.random() < 0.4:
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.0))))
    if rng.random() < 0.6:
        buffer = BytesIO()
        image.save(buffer, "JPEG", quality=int(rng.integers(30, 90)))
        image = Image.open(BytesIO(buffer.getvalue())).convert("RGB")
    return image


@dataclass(frozen=True)
class Placed:
    subject: Subject
    box: tuple[int, int, int, int]  # left, top, right, bottom in the frame


def compose(cutouts: list[Cutout], background: Background, rng: np.random.Generator) -> tuple[Image.Image, list[Placed]]:
    """The picture, and where each subject went (left to right)."""
    scene = _crop_background(background.image, rng)
    count = len(cutouts)
    low, high = SCALE_RANGE[min(count, 3)]
    # Horizontal slots keep subjects mostly apart; jitter lets them overlap now and then.
    slots = rng.permutation(count)
    layers = []
    for cutout, slot in zip(cutouts, slots):
        image = cutout.image
        if rng.random() < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        scale = rng.uniform(low, high) * SIZE / max(image.size)
        image = image.resize((max(8, round(image.width * scale)), max(8, round(image.height * scale))),
                             Image.Resampling.LANCZOS)
        centre = (slot + 0.5 + rng.uniform(-0.3, 0.3)) * SIZE / count
        left = int(np.clip(centre - image.width / 2, -0.15 * image.width, SIZE - 0.85 * image.width))
        # The foot sits in the lower part; up to 12% may fall below the frame.
        bottom = int(rng.uniform(0.62, 1.0) * SIZE + rng.uniform(0, 0.12) * image.height)
        bottom = max(bottom, image.height)
        top = bottom - image.height
        layers.append((bottom, left, top, image, cutout.subject))
    return scene, _paste_all(scene, layers, rng)


def _paste_all(scene: Image.Image, layers, rng: np.random.Generator) -> list[Placed]:
    """Nearer (lower) subjects are pasted last, so they hide the ones behind."""
    placed = []
    for bottom, left, top, image, subject in sorted(layers, key=lambda layer: layer[0]):
        lit = _relight(image, scene, rng)
        scene.paste(lit, (left, top), lit)
        placed.append(Placed(subject, (left, top, left + image.width, bottom)))
    return sorted(placed, key=lambda p: (p.box[0] + p.box[2]) / 2)


# ----------------------------------------------------------------------------- captions


def _listing(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _grouped(placed: list[Placed]) -> list[tuple[Subject, int]]:
    """Subjects with how many times each appears, in left-to-right order of first sight."""
    counts: dict[tuple[str, str], list] = {}
    for p in placed:
        key = (p.subject.noun, p.subject.tail)
        counts.setdefault(key, [p.subject, 0])[1] += 1
    return [(subject, n) for subject, n in counts.values()]


def _phrase(subject: Subject, n: int, with_tail: bool) -> str:
    tail = subject.tail if with_tail else ""
    head = with_article(subject.noun) if n == 1 else counted(subject.noun, n)
    return " ".join(p for p in (head, tail) if p)


def captions_for(placed: list[Placed], background: Background, rng: np.random.Generator) -> list[str]:
    """3-5 different captions; every one names every pasted subject (or its plural), every
    second one by its general word where it has one ("a bird" for "a blackbird")."""
    groups = _grouped(placed)
    full = _listing([_phrase(s, n, True) for s, n in groups])
    short = _listing([_phrase(s, n, False) for s, n in groups])
    phrases = background.phrases

    def where() -> str:
        return phrases[int(rng.integers(len(phrases)))]

    first = f"{full} {phrases[0]}"
    others = [f"a photo of {short} {where()}", f"{background.place} with {short}", full,
              f"a picture of {full} {where()}", f"{short} {where()}"]
    if len(groups) == 2 and all(n == 1 for _, n in groups):
        (a, _), (b, _) = groups
        left, right = placed[0].box, placed[-1].box
        apart = left[2] <= right[0]
        relation = rng.choice(["to the left of", "next to"] if apart else ["next to", "beside"])
        others.append(f"{a.phrase()} {relation} {b.phrase(False)} {where()}")
        others.append(f"{b.phrase(False)} and {a.phrase(False)} {where()}")
    if any(n > 1 for _, n in groups) or len(placed) > 1:
        others.append(f"{_listing([_phrase(s, n, False) for s, n in groups])} together {where()}")
    unique = list(dict.fromkeys(o for o in others if o != first))
    count = int(rng.choice([3, 4, 4, 5]))
    picked = rng.choice(len(unique), size=min(count - 1, len(unique)), replace=False)
    return with_general_captions([first, *(unique[i] for i in sorted(picked))], [s.noun for s, _ in groups])


# ----------------------------------------------------------------------------- batches

SPLIT_SHARES = (("train", 0.8), ("val", 0.1), ("test", 0.1))


def draw(index: int, seed: int, cutouts: list[Cutout], backgrounds: list[Background]
         ) -> tuple[Image.Image, list[str]]:
    """Composite number `index`: its own random stream, so workers do not change it."""
    rng = np.random.default_rng([seed, 1771, index])
    background = backgrounds[int(rng.integers(len(backgrounds)))]
    count = int(rng.choice([1, 2, 3], p=COUNT_WEIGHTS))
    repeatable = [c for c in cutouts if not c.subject.counted]
    if count > 1 and repeatable and rng.random() < REPEAT_SHARE:
        chosen = [repeatable[int(rng.integers(len(repeatable)))]] * count
    else:
        chosen = [cutouts[i] for i in rng.choice(len(cutouts), size=min(count, len(cutouts)), replace=False)]
    image, placed = compose(chosen, background, rng)
    return _degrade(image, rng), captions_for(placed, background, rng)


def split_counts(total: int) -> dict[str, int]:
    counts = {name: int(round(total * share)) for name, share in SPLIT_SHARES}
    counts["train"] = total - counts["val"] - counts["test"]
    return counts


def build(out_dir: Path, total: int, seed: int, cutouts: dict[str, list[Cutout]],
          backgrounds: dict[str, list[Background]], workers: int = 1, report=None) -> list[dict]:
    """`total` composites split 80/10/10; a split's composites use only that split's
    cut-outs and backgrounds. Writes out_dir/composite_NNNNN.png, returns dataset items."""
    jobs = []
    for split, n in split_counts(total).items():
        if n and not (cutouts.get(split) and backgrounds.get(split)):
            if report is not None:
                report[f"composites: {split} skipped, no cut-outs or backgrounds in it"] += n
            continue
        jobs += [(split, len(jobs) + i) for i in range(n)]

    def make(job: tuple[str, int]) -> dict:
        split, index = job
        image, captions = draw(index, seed, cutouts[split], backgrounds[split])
        name = f"composite_{index:05d}.png"
        image.save(out_dir / name)
        return {"source": "composites", "name": name, "group": name, "split": split, "captions": captions}

    with ThreadPoolExecutor(max(1, workers)) as pool:
        return list(pool.map(make, jobs))
