/**
 * Finds and loads the compiled addon: a local build first (development, or a build from source at install
 * time), then the prebuilt binaries shipped in prebuilds/. When nothing loads, one error lists every
 * candidate and why it failed, with the ways to fix it.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { NativeBinding } from './binding';

const packageRoot = path.resolve(__dirname, '..', '..');

function candidates(): string[] {
  const list: string[] = [];
  if (process.env.KERAS_TORCH_BINARY) list.push(path.resolve(process.env.KERAS_TORCH_BINARY));
  list.push(path.join(packageRoot, 'build', 'Release', 'keras_torch.node'));
  list.push(path.join(packageRoot, 'build', 'Debug', 'keras_torch.node'));
  const prebuilds = path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`);
  if (fs.existsSync(prebuilds)) {
    for (const entry of fs.readdirSync(prebuilds).sort()) {
      if (entry.endsWith('.node')) list.push(path.join(prebuilds, entry));
    }
  }
  return list;
}

let binding: NativeBinding | undefined;

export function loadBinding(): NativeBinding {
  if (binding) return binding;
  const failures: string[] = [];
  for (const file of candidates()) {
    if (!fs.existsSync(file)) {
      failures.push(`${file}: not there`);
      continue;
    }
    try {
      binding = require(file) as NativeBinding;
      return binding;
    } catch (error) {
      failures.push(`${file}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(
    [
      'keras-torch: could not load its native addon. Tried:',
      ...failures.map((line) => `  - ${line}`),
      'Build it against your libtorch with `npm run build:native` (libtorch from LIBTORCH, Torch_DIR,',
      'a Python torch install, or Debian\'s libtorch-dev), or run scripts/setup.sh.',
    ].join('\n'),
  );
}
