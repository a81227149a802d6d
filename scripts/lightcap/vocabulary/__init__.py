"""Photo concept vocabulary: WordNet reader, ImageNet-1k classes, everyday concepts.

Submodules: `wordnet` (reads the WordNet 3.0 noun database), `imagenet` (the
backbone classifier's 1,000 classes as WordNet synsets), `everyday` (the
curated concepts, the class -> concept map and names_object) and `build`
(writes concept_map.json).
"""
