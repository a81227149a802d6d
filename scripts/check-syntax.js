// Parses Swift (.swift) and Kotlin (.kt, .kts) files with tree-sitter grammars and fails
// on any syntax error, printing where. For code this machine cannot compile (no Swift
// toolchain, no Android SDK), a parse is the check we can run.
//   node scripts/check-syntax.js FILE...
'use strict';
const fs = require('fs');
const path = require('path');
const modules = path.join(__dirname, 'toolchain', 'node_modules');
const Parser = require(path.join(modules, 'tree-sitter'));
const grammars = {
  '.swift': require(path.join(modules, 'tree-sitter-swift')),
  '.kt': require(path.join(modules, 'tree-sitter-kotlin')),
  '.kts': require(path.join(modules, 'tree-sitter-kotlin')),
};
const parser = new Parser();

function problems(node, found = []) {
  if (node.isError || node.isMissing) {
    const { row, column } = node.startPosition;
    found.push(`${row + 1}:${column + 1}: ${node.isMissing ? 'missing ' + node.type : 'cannot parse'}`);
  } else if (node.hasError) {
    for (const child of node.children) problems(child, found);
  }
  return found;
}

// The Swift grammar cannot parse `#if` blocks that wrap attributes in front of a declaration,
// which uniffi emits as `#if swift(>=5.8) @_documentation(...) #endif`. Swift-version
// conditions are resolved here as a Swift 5.9+ compiler would (their branch is kept,
// any #else branch dropped); directives become blank lines so positions stay true.
function resolveSwiftVersionConditions(source) {
  const stack = []; // per open #if: 'version' (resolving) or 'other' (left alone)
  let dropping = false;
  return source
    .split('\n')
    .map((line) => {
      const directive = line.trim();
      if (/^#if\s+swift\(>=\s*5\.[0-9]+\)$/.test(directive)) {
        stack.push('version');
        return '';
      }
      if (directive.startsWith('#if')) stack.push('other');
      if (stack[stack.length - 1] === 'version') {
        if (directive.startsWith('#else') || directive.startsWith('#elseif')) {
          dropping = true;
          return '';
        }
        if (directive === '#endif') {
          stack.pop();
          dropping = false;
          return '';
        }
      } else if (directive === '#endif') {
        stack.pop();
      }
      return dropping ? '' : line;
    })
    .join('\n');
}

// Valid Swift that tree-sitter-swift 0.7.1 cannot parse, each rewritten to an
// equivalent it can (same length, so positions stay true). Only these exact forms.
const GRAMMAR_GAPS = [
  // Swift 5.10's `nonisolated(unsafe)` modifier; plain `nonisolated` parses.
  [/\bnonisolated\(unsafe\)/g, 'nonisolated        '],
  // A closure whose body is the empty tuple `()`.
  [/\{ \(\) \}/g, '{    }'],
];

function closeGrammarGaps(source) {
  return GRAMMAR_GAPS.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), source);
}

let failed = 0;
for (const file of process.argv.slice(2)) {
  const language = grammars[path.extname(file)];
  if (!language) {
    console.error(`${file}: no grammar for this extension`);
    failed += 1;
    continue;
  }
  parser.setLanguage(language);
  let source = fs.readFileSync(file, 'utf8');
  if (file.endsWith('.swift')) source = closeGrammarGaps(resolveSwiftVersionConditions(source));
  // The parser reads large inputs through a callback in chunks.
  const tree = parser.parse((index) => source.slice(index, index + 4096));
  const found = problems(tree.rootNode);
  if (found.length > 0) {
    failed += 1;
    for (const problem of found.slice(0, 20)) console.error(`${file}:${problem}`);
  } else {
    console.log(`parsed: ${file} (${source.split('\n').length} lines)`);
  }
}
process.exit(failed === 0 ? 0 : 1);
