"""Turn `lightcap caption --json` lines into the tab-separated rows the Kotlin tests read
(the JVM has no JSON parser of its own): image, beam, caption, log-prob, tokens (space-separated), concepts (name:score,
|-separated), confidence and unsure (true/false)."""

import json
import os
import sys

beam = sys.argv[1]
for line in sys.stdin:
    result = json.loads(line)
    concepts = "|".join(f"{c['name']}:{c['score']!r}" for c in result["concepts"])
    fields = [os.path.basename(result["image"]), beam, result["caption"], repr(result["log_prob"]),
              " ".join(result["tokens"]), concepts, repr(result["confidence"]),
              "true" if result["unsure"] else "false"]
    print("\t".join(fields))
