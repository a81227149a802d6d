"""What composites may use: the place each background photo shows, as the phrases a
caption puts after its subject ("on a beach", "by a lake"), and the noun phrase each
photo cut-out is called by ("man", "green apple") with what the source adds ("dancing").

Backgrounds are listed by hand, one by one after looking at each photo: close-ups
(moss, tree bark, a clock face, a flower) and photos whose own subject would make a
caption wrong (two dogs in a door, a bird under lamps) have no place and are used as
full-frame photos only. Reads nothing; works on `lightcap.sources.items.Item`s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..sources.items import Item, label_of_sentence

# Background key (the last part of its group) -> (the place as a noun phrase, phrases that
# put a subject there; the first is the plainest).
PLACES: dict[str, tuple[str, tuple[str, ...]]] = {
    # Scratch backgrounds
    "chalkboard": ("a classroom", ("in front of a chalkboard", "in a classroom")),
    "clothing store": ("a clothing store", ("in a clothing store", "in a shop")),
    "hall": ("a hall", ("in a hall", "indoors")),
    "kitchen": ("a kitchen", ("in a kitchen", "indoors in a kitchen")),
    "cinema": ("a cinema", ("at a cinema", "in front of a cinema")),
    "beach": ("a beach", ("on a beach", "on the sand by the sea", "at the beach")),
    "canyon": ("a canyon", ("in a canyon", "among red rocks")),
    "flower bed": ("a garden", ("by a flower bed", "in a garden")),
    "flowers": ("a field of flowers", ("among flowers", "in a field of flowers")),
    "forest": ("a forest", ("in a forest", "in the woods")),
    "rock": ("a garden", ("in a garden", "by a rock in a garden")),
    "grand canyon": ("the grand canyon", ("at the grand canyon", "in a canyon")),
    "gravel desert": ("a desert", ("in a desert", "on gravel in a desert")),
    "hill": ("a hill", ("on a hill", "on a grassy hill")),
    "lake": ("a lake", ("by a lake", "on a lake shore")),
    "moon": ("the moon", ("on the moon", "on the surface of the moon")),
    "pathway": ("a path", ("on a path", "on a pathway")),
    "tree": ("a tree", ("by a tree", "under a tree")),
    "rocks": ("a rocky shore", ("on rocks by the water", "on a rocky shore")),
    "wave": ("the sea", ("by the sea", "in front of a wave")),
    "mural": ("a mural", ("in front of a mural", "by a painted wall")),
    "playground": ("a playground", ("in a playground", "at a playground")),
    "bench": ("a park", ("by a bench", "in a park")),
    "brick wall": ("a brick wall", ("in front of a brick wall", "by a brick wall")),
    "building": ("a building", ("in front of a building", "outside a building")),
    "castle": ("a castle", ("in front of a castle", "outside a castle")),
    "city": ("a city", ("in a city by the water", "in a city")),
    "driveway": ("a driveway", ("on a driveway", "outside a house")),
    "graffiti": ("a graffiti wall", ("in front of a graffiti wall", "by a wall with graffiti")),
    "hallway": ("an outdoor hallway", ("in an outdoor hallway", "in a corridor")),
    "hay field": ("a hay field", ("in a hay field", "in a field")),
    "houses": ("a street", ("in front of houses", "on a street")),
    "mansion": ("a mansion", ("in front of a mansion", "outside a big house")),
    "parking ramp": ("a car park", ("in a car park", "in a parking garage")),
    "pool": ("a swimming pool", ("by a swimming pool", "by a pool")),
    "road": ("a road", ("on a road", "by a road in the desert")),
    "silos": ("a farm", ("on a farm", "by some silos")),
    "train tracks": ("train tracks", ("by train tracks", "on a railway")),
    "village": ("a village", ("in a village", "in a small town")),
    "wooden house": ("a wooden house", ("in front of a wooden house", "outside a house")),
    "baseball field": ("a baseball field", ("on a baseball field", "on a sports field")),
    "basketball court": ("a basketball court", ("on a basketball court", "on a court")),
    "football field": ("a football field", ("on a football field", "on a sports field")),
    "playing field": ("a playing field", ("on a playing field", "on the grass")),
    "tennis backboard": ("a tennis court", ("on a tennis court", "by a wall")),
    # Wallpapers
    "BytheWater": ("a lake", ("by a lake", "on a wooden deck by a lake")),
    "ColdRipple": ("a misty lake", ("on a pier by a misty lake", "by a lake")),
    "DarkestHour": ("a lake", ("by a lake in the fog", "by a lake at dusk")),
    "EveningGlow": ("a lake shore", ("on a lake shore at sunset", "by a lake")),
    "Grey": ("a building", ("in front of a metal building", "in front of a building")),
    "Path": ("a pine forest", ("on a forest path", "in a pine forest")),
    "Volna": ("a beach", ("on a sandy beach", "on a beach")),
    "summer_1am": ("a lake", ("by a lake at dusk", "by a calm lake")),
    "Dune": ("the seaside", ("among dune grass by the sea", "by the sea")),
    "GreenMeadow": ("the grass", ("on the grass", "on a lawn")),
    "Storm": ("a road", ("on a road under storm clouds", "under a stormy sky")),
    "Wood": ("a wooden floor", ("on wooden planks", "on a wooden floor")),
    "Dragonfly_by_Bolly": ("a blue sky", ("against a blue sky", "under a tree")),
    "Wine_by_Jakkub_Mede": ("a room", ("in a room", "indoors")),
    "aitzgorri_by_Aitzol_Berasategi": ("a meadow", ("in a meadow below mountains", "in a meadow")),
    "life_by_Aitzol_Berasategi": ("a forest stream", ("by a stream in a forest", "in a forest")),
    "picosdeeuropa_by_Aitzol_Berasategi": ("the mountains", ("in the mountains", "in a meadow below mountains")),
    "seeding_by_Clements_Engelhardt": ("a field", ("in a field at sunset", "in a field")),
    "sunset_by_Aitzol_Berasategi": ("the hills", ("on the hills at sunset", "at sunset")),
    "cliff": ("a cliff", ("by a cliff", "in front of a cliff")),
    "corn_maze": ("a corn field", ("in a corn field", "in a field")),
    "lighthouse": ("a lighthouse", ("by a lighthouse", "on the coast by a lighthouse")),
    "mossy_log": ("the woods", ("by a mossy log", "in the woods")),
    "ocean_waves": ("the ocean", ("by the ocean", "by the sea")),
    "sheep": ("a field", ("in a field with sheep", "in a green field")),
    "sun_behind_clouds": ("a cloudy sky", ("under a cloudy sky", "against the sky")),
    "trees_at_dusk": ("the woods", ("among bare trees at dusk", "in the woods")),
}


def background_key(item: Item) -> str:
    return re.split(r"[:/]", item.group)[-1]


def place_of(item: Item) -> tuple[str, tuple[str, ...]] | None:
    """(place noun phrase, placing phrases) of a background, or None where composites
    should not use it."""
    if item.kind != "background":
        return None
    return PLACES.get(background_key(item))


# ----------------------------------------------------------------------------- cut-outs

# Tux Paint folders whose cut-outs make no sense pasted into a scene at a person's scale.
SKIP_CUTOUT_FOLDERS = ("space", "symbols/money", "military", "naturalforces")
# Names the sources give that read badly in a caption, and what to call the thing.
CUTOUT_NAMES = {
    "eat your broccoli": "broccoli", "george the blue groper": "blue groper", "very poisonous lionfish": "lionfish",
    "apple fuji": "red apple", "apple granny smith": "green apple", "apple sierra beauty": "apple",
    "anemone red": "red anemone", "orange seville": "orange", "adeenia": "desert rose", "appooppanthady": "seed pod",
    "xanthia": "moth", "ginger 'root'": "ginger root", "baby of a gnu": "baby gnu", "mountaingoat": "mountain goat",
    "edward bear": "teddy bear", "another tombstone": "tombstone", "alien tree": "tree", "pili nut tree": "tree",
    "grandma's old rag doll": "rag doll", "red headed cep": "mushroom", "cep": "mushroom",
    "german christmas toy": "christmas ornament", "uk post box": "post box", "home compost bin": "compost bin",
    "very small pitcher": "small pitcher", "very small pumpkin": "small pumpkin", "vw beetle": "beetle car",
    "walnut sailboat": "toy sailboat", "avocado fruit": "avocado", "cherimoya fruit": "cherimoya",
    "helmeted guinea fowl": "guinea fowl", "albino peahen": "white peahen", "little penguin": "penguin",
    "magellanic penguin": "penguin", "colorful rooster": "rooster", "indian blackbuck": "antelope",
    "blue gnu": "gnu", "european bear": "bear", "big eared rabbit": "rabbit", "tamworth pig": "pig",
    "stripey fish": "striped fish", "moon wrasse": "fish", "dolphinfish": "fish", "bolted lettuce": "lettuce plant",
    "plant of common lavender": "lavender plant", "eggplant with fruit": "eggplant plant", "xanthia moth": "moth",
    "kiwifruit": "kiwi fruit", "sedan car": "car", "monument stone": "gravestone", "cemetery marker": "gravestone",
    "grave marker": "gravestone", "australian rules football": "football", "lit candle": "candle",
    "purple pigface flower": "purple flower", "red gazania": "red flower", "anthurium": "red anthurium",
    "balsam": "balsam flower", "inukshuk": "stone figure", "modern clothespin": "clothespin",
    "old-fashioned clothespin": "clothespin", "string of garlic": "string of garlic", "garlic bulb": "garlic bulb",
    "sweet yellow corn": "ear of corn", "brown potato": "potato", "plumber's wrench": "wrench",
    "adjustable wrench": "wrench", "large metal mallet": "mallet", "large paintbrush": "paintbrush",
    "dry erase marker": "marker pen", "highlighting pen": "highlighter pen", "wheelie bin": "wheelie bin",
    "silver garbage can": "garbage can", "gas cylinder": "gas cylinder", "crash cymbal": "cymbal",
    "floor tom drum": "drum", "electric bass guitar": "bass guitar", "classical guitar": "guitar",
    "old chinese sailing ship": "sailing ship", "tractor wheel": "tractor tyre", "dumper": "dumper truck",
    "mercury thermometer": "thermometer", "adhesive bandage": "plaster", "insect": "insect",
}


@dataclass(frozen=True)
class Subject:
    """A cut-out as captions name it: `noun` takes articles and plurals ("man"), `tail`
    follows it unchanged ("dancing")."""

    noun: str
    tail: str = ""
    counted: bool = False  # the noun already says how many ("two flowers"): never paste it twice

    def phrase(self, with_tail: bool = True) -> str:
        from .phrasing import with_article

        return " ".join(p for p in (with_article(self.noun), self.tail if with_tail else "") if p)


_ARTICLE = re.compile(r"^(a|an|the|some)\s+")


def subject_of(item: Item) -> Subject | None:
    """The subject of a cut-out, or None where composites should not use it."""
    if item.kind != "cutout":
        return None
    if item.source == "tuxpaint":
        folder = item.group.split(":", 1)[1].rsplit("/", 1)[0]
        if folder.startswith(SKIP_CUTOUT_FOLDERS):
            return None
        noun = (label_of_sentence(item.text) or item.label).replace("’", "'").lower()
        noun = CUTOUT_NAMES.get(noun, noun)
        noun = _ARTICLE.sub("", noun)
        return Subject(noun, counted=bool(re.match(r"^(two|three|four|five)\b", noun)))
    # Scratch: "a woman dancing" with label "woman" -> noun "woman", tail "dancing".
    core = _ARTICLE.sub("", item.text.lower())
    label = item.label.lower()
    if core.startswith(label + " "):
        return Subject(CUTOUT_NAMES.get(label, label), core[len(label) + 1:])
    return Subject(CUTOUT_NAMES.get(core, core))
