#!/usr/bin/env bash
# Everything about the iOS side this machine can check without Xcode (run by
# scripts/test-all.sh): the device static library builds and exports the header's
# functions, the XCFramework slice is staged, every Swift file parses, and the package,
# module map, sample spec and sources agree on names and paths.
set -euo pipefail
cd "$(dirname "$0")/../.."
ios/scripts/build-xcframework.sh --check
node scripts/check-syntax.js \
    ios/LightCap/Package.swift ios/LightCap/Sources/LightCap/*.swift \
    ios/LightCap/Sources/LightCap/Generated/*.swift ios/LightCap/Tests/LightCapTests/*.swift \
    ios/Sample/LightCapSample/*.swift
python3 ios/scripts/check_package.py
