'use strict';
// Writes dist/index.mjs: named ES module exports over the CommonJS build, so that both
// `import { Sequential } from 'keras-torch'` and `require('keras-torch')` work from one build.
const fs = require('fs');
const path = require('path');

const dist = path.resolve(__dirname, '..', 'dist');
const source = fs.readFileSync(path.join(dist, 'index.js'), 'utf8');
// The names tsc's CommonJS output defines: `exports.X = ...` and `Object.defineProperty(exports, "X", ...)`.
const names = new Set();
for (const match of source.matchAll(/exports\.([A-Za-z_$][\w$]*)\s*=/g)) names.add(match[1]);
for (const match of source.matchAll(/Object\.defineProperty\(exports,\s*"([A-Za-z_$][\w$]*)"/g)) names.add(match[1]);
for (const match of source.matchAll(/__exportStar\(require\("([^"]+)"\)/g)) {
  // Re-exported modules: load them to list their names.
  for (const name of Object.keys(require(path.join(dist, match[1])))) names.add(name);
}
names.delete('__esModule');
const sorted = [...names].sort();
const lines = [
  "import cjs from './index.js';",
  `export const { ${sorted.join(', ')} } = cjs;`,
  'export default cjs;',
  '',
];
fs.writeFileSync(path.join(dist, 'index.mjs'), lines.join('\n'));
console.log(`keras-torch: wrote dist/index.mjs with ${sorted.length} named exports`);
