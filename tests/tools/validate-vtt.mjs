// Validates WebVTT files with the W3C validator's parser (npm webvtt-parser): every
// file must parse with no error at all, cue text included ('metadata' mode would skip
// the cue text). Prints one line per problem and exits 1 when any file has one.
// Usage: node validate-vtt.mjs FILE.vtt...
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(new URL('../browser/package.json', import.meta.url));
const { WebVTTParser } = require('webvtt-parser');

let failed = false;
for (const file of process.argv.slice(2)) {
  const tree = new WebVTTParser().parse(readFileSync(file, 'utf8'));
  for (const e of tree.errors) {
    console.log(`${file}:${e.line}:${e.col ?? 0}: ${e.message}`);
    failed = true;
  }
  if (tree.cues.length === 0) {
    console.log(`${file}: no cues`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
