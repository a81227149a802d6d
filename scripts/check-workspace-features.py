#!/usr/bin/env python3
"""Checks that CI's cargo commands share their compiled dependencies.

Cargo resolves a dependency's features from the packages a command selects, so
`cargo test -p lightcap --no-default-features` (the mobile build's tests) and
`cargo build --workspace` (the bindings' generator) can each compile tract and the
crates under it again, with other features, though `cargo test --workspace` built
them moments before: minutes of CI per command. `tests/workspace-features` pins the
features that would differ. This script asks cargo for each command's unit graph
and fails, naming the crates and features to pin there, when a dependency would be
compiled a second time.

The unit graph is an unstable cargo output: RUSTC_BOOTSTRAP=1 lets the stable cargo
print it. Nothing is built.

    scripts/check-workspace-features.py
"""

import hashlib
import json
import os
import subprocess
import sys

# What scripts/test-all.sh and scripts/generate-bindings.sh run after `cargo test --workspace`.
BASE = ["test", "--workspace", "--no-run"]
FOLLOWERS = {
    "mobile tests": ["test", "-p", "lightcap", "--no-default-features", "--lib", "--test", "nnef_form", "--no-run"],
    "bindings generator": ["build", "--workspace"],
}


def unit_graph(args):
    env = dict(os.environ, RUSTC_BOOTSTRAP="1")
    out = subprocess.run(
        ["cargo", *args, "-Z", "unstable-options", "--unit-graph"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)["units"]


def unit_keys(units):
    """One key per unit that is equal where cargo would reuse the compiled unit: the
    package, target, mode, features, profile settings (not the profile's name) and,
    recursively, the keys of its dependencies."""
    keys = {}

    def key(i):
        if i not in keys:
            unit = units[i]
            profile = {k: v for k, v in unit["profile"].items() if k != "name"}
            deps = tuple(sorted(key(d["index"]) for d in unit["dependencies"]))
            keys[i] = hashlib.sha256(json.dumps([
                unit["pkg_id"], unit["target"]["name"], unit["mode"], unit["platform"],
                unit["features"], profile, deps,
            ], sort_keys=True).encode()).hexdigest()
        return keys[i]

    for i in range(len(units)):
        key(i)
    return keys


def is_workspace_member(unit):
    return unit["pkg_id"].startswith("path+")


def main():
    base_units = unit_graph(BASE)
    built = set(unit_keys(base_units).values())
    features_built = {}
    for unit in base_units:
        name = unit["pkg_id"].rsplit("#", 1)[-1]
        features_built.setdefault(name, set()).add(",".join(unit["features"]) or "(none)")

    failed = False
    for what, args in FOLLOWERS.items():
        units = unit_graph(args)
        keys = unit_keys(units)
        again = [
            unit for i, unit in enumerate(units)
            if keys[i] not in built and not is_workspace_member(unit)
        ]
        # A dependency compiled again whose own dependencies are all reused: the
        # features (or profile) that differ are its own.
        first = [
            unit for unit in again
            if all(keys[d["index"]] in built for d in unit["dependencies"])
        ]
        if not again:
            print(f"{what} (cargo {' '.join(args)}): reuses every dependency")
            continue
        failed = True
        print(f"{what} (cargo {' '.join(args)}): {len(again)} dependency units would be compiled again, starting with:")
        for unit in first:
            name = unit["pkg_id"].rsplit("#", 1)[-1]
            print(f"  {name} ({unit['target']['name']}, {unit['mode']}) with features "
                  f"[{','.join(unit['features'])}]; cargo test --workspace builds it with "
                  f"{sorted(features_built.get(name, ['nothing']))}")
    if failed:
        print("Pin the features `cargo test --workspace` gives those crates in tests/workspace-features/Cargo.toml "
              "([dependencies] for the target, [build-dependencies] for build scripts and macros).")
        sys.exit(1)


if __name__ == "__main__":
    main()
