/** Debian's Python with torch, used as a reference peer; tests that need it skip with a message where it is absent. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';

export const DEBIAN_PYTHON = '/usr/bin/python3';

export function pythonHas(module: string): boolean {
  if (!fs.existsSync(DEBIAN_PYTHON)) return false;
  return spawnSync(DEBIAN_PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

/** Runs a Python script, returning its stdout; throws with stderr when it fails. */
export function runPython(script: string, args: string[] = []): string {
  const result = spawnSync(DEBIAN_PYTHON, ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`python failed (${result.status}):\n${result.stderr}`);
  return result.stdout;
}
