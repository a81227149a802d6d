"""Training examples made from the real photographs `lightcap.sources` lists:

- `frames`: every full-frame photo and background photo as a 224 x 224 image (centre
  crop, plus a few random crops for the train split), captioned by its text and label;
- `composites`: photo cut-outs pasted onto background photos, captioned from what was
  pasted where;
- `phrasing`: noun phrases, plurals and caption templates both use;
- `general`: the everyday word for a fine name ("a bird" for "a blackbird"), which every
  second caption of both uses;
- `places`: the place phrase of each background ("on a beach") and which cut-outs and
  backgrounds composites may use.

Splits follow the source objects: every inventory item gets the split of
`split_of(seed, "photos", item.group)`, its frames inherit it, and a composite of a
split only uses cut-outs and backgrounds of that split.
"""

SPLIT_KEY = "photos"  # the `source` argument of build_dataset.split_of for inventory items
