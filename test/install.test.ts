/**
 * The package as npm users get it: `npm pack` (whose prepack builds dist/ and the prebuilt binary when they
 * are missing or stale), then an offline install of the tarball from the npm cache into a fresh project with
 * no compiler on PATH, then a training step through require('keras-torch') there.
 *
 * Slow (it packs and installs), but bounded: packing reuses an up-to-date `npm run build:native` output, and
 * everything it makes lives in one temporary folder that is removed at the end.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { findLibtorch, describeLibtorch, prebuildName } = require('../scripts/find-libtorch');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { matchingPrebuilds } = require('../scripts/install');

const root = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const libtorch = findLibtorch();
const expectedPrebuild = `prebuilds/${process.platform}-${process.arch}/${prebuildName(libtorch)}`;

// Compilers and build tools: none of these may be reachable from the install's PATH.
const BUILD_TOOLS = /^(cc|c\+\+|gcc|g\+\+|cpp|c89|c99|tcc|clang.*|cmake|ctest|cpack|ccmake|make|gmake|ninja|ld|ld\..*|as|.*-(gcc|g\+\+|cc|c\+\+|cpp|ld|as)(-[\d.]+)?|(gcc|g\+\+|cpp|cc)-[\d.]+)$/;

let work: string;
let tarball: string;
let project: string;
let restrictedPath: string;
let install: { status: number | null; output: string; seconds: number };

/** The environment of a user's shell: no npm_* variables from the npm that may be running jest. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && !/^(LIBTORCH|Torch_DIR|KERAS_TORCH_.*)$/.test(key)) env[key] = value;
  }
  return { ...env, PATH: restrictedPath, ...extra };
}

/** A bin folder with links to every program on PATH except compilers and build tools. */
function makeRestrictedPath(): string {
  const bin = path.join(work, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    let entries: string[];
    try {
      entries = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of entries) {
      if (BUILD_TOOLS.test(name) || fs.existsSync(path.join(bin, name))) continue;
      try {
        fs.accessSync(path.join(dir, name), fs.constants.X_OK);
        fs.symlinkSync(path.join(dir, name), path.join(bin, name));
      } catch {
        // Not executable, or a name we already link.
      }
    }
  }
  return bin;
}

/**
 * A lockfile for the project that pins keras-torch's dependencies exactly as the repository's lockfile does,
 * so that `npm ci --offline` needs only tarballs already in the npm cache (not the registry's metadata).
 */
function writeProject(tarballName: string): void {
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const packages: Record<string, unknown> = {
    '': { name: 'keras-torch-install-test', dependencies: { 'keras-torch': `file:${tarballName}` } },
    'node_modules/keras-torch': {
      version: pkg.version,
      resolved: `file:${tarballName}`,
      license: pkg.license,
      hasInstallScript: true,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [key, entry] of Object.entries(lock.packages as Record<string, { dev?: boolean }>)) {
    if (key.startsWith('node_modules/') && !entry.dev) packages[key] = entry;
  }
  const manifest = { name: 'keras-torch-install-test', private: true, dependencies: { 'keras-torch': `file:${tarballName}` } };
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify(manifest, null, 2));
  fs.writeFileSync(path.join(project, 'package-lock.json'),
    JSON.stringify({ name: manifest.name, lockfileVersion: 3, requires: true, packages }, null, 2));
}

/**
 * The files `npm pack` starts from, copied with their times (prebuild.js compares them with the build's):
 * what git tracks or would track, the local build, the prebuilt binaries, and node_modules by link.
 */
function checkoutCopy(copy: string): string {
  const paths = [...checkoutFiles(), path.join('build', 'CMakeCache.txt'), path.join('build', 'Release', 'keras_torch.node'), 'prebuilds'];
  for (const relative of paths) {
    const source = path.join(root, relative);
    if (!fs.existsSync(source)) continue;
    fs.mkdirSync(path.dirname(path.join(copy, relative)), { recursive: true });
    fs.cpSync(source, path.join(copy, relative), { recursive: true, preserveTimestamps: true });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  return copy;
}

/**
 * What git tracks or would track. A checkout that is no git repository (scripts/check-libtorch2.sh's copy in
 * its Debian 13 root, which has no git) is walked instead, leaving out what .gitignore names.
 */
function checkoutFiles(): string[] {
  if (fs.existsSync(path.join(root, '.git'))) {
    const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    return listed.split('\0').filter(Boolean);
  }
  // .gitignore's patterns here are names (matched at any depth) or paths from the root, with `*`, and a
  // trailing `/` for folders only.
  const ignored = fs.readFileSync(path.join(root, '.gitignore'), 'utf8').split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const pattern = line.replace(/\/$/, '');
      const regex = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
      return { regex, anchored: pattern.includes('/'), foldersOnly: line.endsWith('/') };
    });
  const isIgnored = (relative: string, isFolder: boolean) =>
    relative === '.git' || ignored.some(({ regex, anchored, foldersOnly }) =>
      (isFolder || !foldersOnly) && regex.test(anchored ? relative : path.basename(relative)));
  const files: string[] = [];
  const walk = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(root, relative), { withFileTypes: true })) {
      const child = relative ? path.join(relative, entry.name) : entry.name;
      if (isIgnored(child, entry.isDirectory())) continue;
      if (entry.isDirectory()) walk(child);
      else files.push(child);
    }
  };
  walk('');
  return files;
}

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-install-'));
  restrictedPath = makeRestrictedPath();
  project = path.join(work, 'project');
  fs.mkdirSync(project);

  // prepack builds dist/ and, when missing or stale, the prebuilt binary (reusing build/Release when current):
  // in a copy of the checkout, since other test files read this checkout's dist/ meanwhile.
  execFileSync('npm', ['pack', '--pack-destination', work, '--loglevel=error'], {
    cwd: checkoutCopy(path.join(work, 'checkout')),
    stdio: 'pipe',
    env: { ...process.env, npm_config_update_notifier: 'false' },
    // A stale binary is rebuilt from source here (minutes on two cores); beyond this the pack is stuck.
    timeout: 900_000,
  });
  const name = fs.readdirSync(work).find((entry) => entry.endsWith('.tgz'));
  if (!name) throw new Error('npm pack made no tarball');
  tarball = path.join(project, name);
  fs.renameSync(path.join(work, name), tarball);
  writeProject(name);

  const started = process.hrtime.bigint();
  const result = spawnSync('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--foreground-scripts', '--loglevel=error'], {
    cwd: project,
    encoding: 'utf8',
    env: userEnv({ npm_config_update_notifier: 'false' }),
    timeout: 300000,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  install = { status: result.status, output: `${result.stdout}${result.stderr}`, seconds };
  console.log(`install: tarball ${(fs.statSync(tarball).size / 1024 / 1024).toFixed(2)} MiB; `
    + `npm ci --offline without a compiler took ${seconds.toFixed(1)} s`);
}, 1200000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

function runInProject(script: string, extra: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['-e', script], { cwd: project, encoding: 'utf8', env: userEnv(extra), timeout: 120000 });
}

describe('npm pack', () => {
  test('the tarball holds the compiled JavaScript, the types, the prebuilt binary, the native sources and the scripts', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8', timeout: 60_000 }).trim().split('\n').map((line) => line.replace(/^package\//, ''));
    for (const file of ['package.json', 'dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/native/loader.js',
      'prebuilds/manifest.json', expectedPrebuild, 'native/model.cc', 'native/errors.h', 'CMakeLists.txt',
      'scripts/install.js', 'scripts/find-libtorch.js', 'scripts/build-native.js', 'scripts/prebuild.js', 'README.md']) {
      expect(files).toContain(file);
    }
    expect(files.filter((file) => /\.map$|^lib\/|^test\/|^build|node_modules|selected\.json/.test(file))).toEqual([]);
    // The addon is most of it; a few MiB at most.
    expect(fs.statSync(tarball).size).toBeLessThan(5 * 1024 * 1024);
  });

  test('the manifest says what the binary was built against', () => {
    const manifest = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/prebuilds/manifest.json'], { encoding: 'utf8', timeout: 60_000 }));
    const entry = manifest.prebuilds.find((candidate: { file: string }) => `prebuilds/${candidate.file}` === expectedPrebuild);
    expect(entry).toMatchObject({
      platform: process.platform,
      arch: process.arch,
      libtorch: { version: libtorch.version, cuda: libtorch.cuda, abi: libtorch.abi },
      napiVersion: 8,
    });
    expect(entry.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('npm install of the tarball, offline, without a compiler', () => {
  test('no compiler or build tool is reachable from the PATH the install runs with', () => {
    const probe = spawnSync('sh', ['-c', 'for tool in cc c++ gcc g++ clang cmake make ninja; do command -v "$tool"; done; true'], {
      encoding: 'utf8',
      env: { PATH: restrictedPath },
      timeout: 60_000,
    });
    expect(probe.stdout.trim()).toBe('');
    expect(spawnSync('sh', ['-c', 'command -v node && command -v npm'], { env: { PATH: restrictedPath }, timeout: 60_000 }).status).toBe(0);
  });

  test('installs from the npm cache, choosing the prebuilt binary for this libtorch', () => {
    if (install.status !== 0) throw new Error(`npm ci --offline failed (${install.status}):\n${install.output}`);
    const installed = path.join(project, 'node_modules', 'keras-torch');
    expect(install.output).toContain(`using the prebuilt binary ${expectedPrebuild.replace(/^prebuilds\//, '')}`);
    expect(install.output).not.toMatch(/building from source/);
    expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);
    const selected = JSON.parse(fs.readFileSync(path.join(installed, 'prebuilds', 'selected.json'), 'utf8'));
    expect(selected.libtorch).toMatchObject({ version: libtorch.version, cuda: libtorch.cuda, abi: libtorch.abi });
  });

  test('require("keras-torch") trains a step there, on the prebuilt binary', () => {
    const script = `
      const k = require('keras-torch');
      const model = new k.Sequential();
      model.add(new k.Conv2D(4, [3, 3], { inputShape: [8, 8, 3], activation: 'relu' }));
      model.add(new k.Flatten());
      model.add(new k.Dense(1, { activation: 'sigmoid' }));
      model.compile({ optimizer: 'adam', loss: 'binary_crossentropy' });
      const x = k.tensor(new Float32Array(2 * 8 * 8 * 3).fill(0.5), [2, 8, 8, 3]);
      const y = k.tensor([[0], [1]]);
      model.trainOnBatch(x, y).then((loss) => {
        const binary = Object.keys(require.cache).find((file) => file.endsWith('.node') && file.includes('/node_modules/keras-torch/'));
        console.log(JSON.stringify({ loss, binary }));
      });`;
    const result = runInProject(script);
    if (result.status !== 0) throw new Error(`training in the installed package failed:\n${result.stderr}`);
    const { loss, binary } = JSON.parse(result.stdout.trim().split('\n').pop() as string);
    expect(loss).toBeGreaterThan(0);
    expect(Number.isFinite(loss)).toBe(true);
    expect(fs.realpathSync(binary)).toBe(fs.realpathSync(path.join(project, 'node_modules', 'keras-torch', expectedPrebuild)));
  });

  test('a LIBTORCH that points nowhere stops the install step with the ways to get libtorch', () => {
    const script = path.join(project, 'node_modules', 'keras-torch', 'scripts', 'install.js');
    const result = spawnSync(process.execPath, [script], { encoding: 'utf8', env: userEnv({ LIBTORCH: path.join(work, 'no-libtorch') }), timeout: 120_000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`LIBTORCH=${path.join(work, 'no-libtorch')}`);
    expect(result.stderr).toMatch(/apt-get install libtorch-dev/);
    expect(result.stderr).toMatch(/pip install torch/);
  });

  test('KERAS_TORCH_SKIP_INSTALL=1 skips the install step: no libtorch needed, nothing chosen or built', () => {
    const installed = path.join(project, 'node_modules', 'keras-torch');
    const selected = path.join(installed, 'prebuilds', 'selected.json');
    const before = fs.existsSync(selected) ? fs.readFileSync(selected, 'utf8') : null;
    const script = path.join(installed, 'scripts', 'install.js');
    const result = spawnSync(process.execPath, [script], {
      encoding: 'utf8',
      env: userEnv({ LIBTORCH: path.join(work, 'no-libtorch'), KERAS_TORCH_SKIP_INSTALL: '1' }),
      timeout: 120_000,
    });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: expect.not.stringContaining('LIBTORCH=') });
    expect(`${result.stdout}${result.stderr}`).toContain('KERAS_TORCH_SKIP_INSTALL=1: skipping the install step');
    expect(fs.existsSync(selected) ? fs.readFileSync(selected, 'utf8') : null).toBe(before);
  });

  test('when nothing loads, the error lists every binary tried and why', () => {
    const installed = path.join(project, 'node_modules', 'keras-torch');
    fs.renameSync(path.join(installed, 'prebuilds'), path.join(installed, 'prebuilds-moved'));
    try {
      const result = runInProject("require('keras-torch').backendInfo()", { KERAS_TORCH_BINARY: path.join(work, 'nowhere.node') });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('keras-torch: could not load its native addon. Tried:');
      expect(result.stderr).toContain(`${path.join(work, 'nowhere.node')} (KERAS_TORCH_BINARY): not there`);
      expect(result.stderr).toMatch(/build\/Release\/keras_torch\.node \(local build\): not there/);
      expect(result.stderr).toMatch(/prebuilds\/linux-x64 \(prebuilt binaries for linux-x64\): not there|prebuilt binaries for/);
      // In the loader's order: the override, then the local build, then the prebuilt binaries.
      const order = ['(KERAS_TORCH_BINARY)', '(local build)', 'prebuilt binaries for'].map((marker) => result.stderr.indexOf(marker));
      expect(order.every((at) => at >= 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
      expect(result.stderr).toMatch(/apt-get install libtorch-dev/);
      // The one command that builds it, and how to let npm 11+ run the install script.
      expect(result.stderr).toContain('npx keras-torch build');
      expect(result.stderr).toContain('npm install-scripts approve keras-torch');
    } finally {
      fs.renameSync(path.join(installed, 'prebuilds-moved'), path.join(installed, 'prebuilds'));
    }
  });

  test('a build from source without cmake or a compiler fails with what it tried and what it needs', () => {
    const script = path.join(project, 'node_modules', 'keras-torch', 'scripts', 'install.js');
    const result = spawnSync(process.execPath, [script], { encoding: 'utf8', env: userEnv({ KERAS_TORCH_BUILD_FROM_SOURCE: '1' }), timeout: 120000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`keras-torch: no prebuilt binary fits libtorch ${libtorch.version}`);
    expect(result.stderr).toContain('KERAS_TORCH_BUILD_FROM_SOURCE=1');
    expect(result.stderr).toMatch(/Building needs cmake \(3\.18\+\), make or ninja, and a C\+\+17 compiler/);
  });

  test('installed with its install script never run (npm 11+ before approval), it loads the prebuilt binary at run time', () => {
    const bare = path.join(work, 'project-no-scripts');
    fs.mkdirSync(bare);
    for (const file of ['package.json', 'package-lock.json', path.basename(tarball)]) {
      fs.copyFileSync(path.join(project, file), path.join(bare, file));
    }
    const installed = spawnSync('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: bare,
      encoding: 'utf8',
      env: userEnv({ npm_config_update_notifier: 'false' }),
      timeout: 300000,
    });
    expect(installed.status).toBe(0);
    expect(fs.existsSync(path.join(bare, 'node_modules', 'keras-torch', 'prebuilds', 'selected.json'))).toBe(false);
    const result = spawnSync(process.execPath, ['-e', "console.log(require('keras-torch').backendInfo().libtorchVersion)"], {
      cwd: bare,
      encoding: 'utf8',
      env: userEnv(),
      timeout: 120000,
    });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().slice(0, libtorch.version.length)).toBe(libtorch.version);
  });

  test('`keras-torch build` picks the prebuilt binary that fits, with no compiler on PATH', () => {
    const result = spawnSync(path.join(project, 'node_modules', '.bin', 'keras-torch'), ['build'], { cwd: project, encoding: 'utf8', env: userEnv(), timeout: 120000 });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`using the prebuilt binary ${expectedPrebuild.replace(/^prebuilds\//, '')}`);
  });

  test('`keras-torch build --from-source` without a compiler fails with what it needs', () => {
    const result = spawnSync(path.join(project, 'node_modules', '.bin', 'keras-torch'), ['build', '--from-source'], { cwd: project, encoding: 'utf8', env: userEnv(), timeout: 120000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('KERAS_TORCH_BUILD_FROM_SOURCE=1');
    expect(result.stderr).toMatch(/Building needs cmake \(3\.18\+\), make or ninja, and a C\+\+17 compiler/);
  });
});

describe('libtorch discovery and prebuilt binary matching', () => {
  test('with no libtorch anywhere, one message lists the ways to get one', () => {
    expect(() => findLibtorch({ KERAS_TORCH_PYTHON: path.join(os.tmpdir(), 'no-such-python') }, { systemDirs: [] }))
      .toThrow(/apt-get install libtorch-dev[\s\S]*LIBTORCH=\/path\/to\/libtorch[\s\S]*pip install torch/);
  });

  test("the system's libtorch is described by version, CUDA and ABI", () => {
    expect(libtorch.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(describeLibtorch(libtorch.torchDir, libtorch.libDir)).toEqual({ version: libtorch.version, cuda: libtorch.cuda, abi: libtorch.abi });
    expect(prebuildName({ version: '1.13.0', cuda: false, abi: 'cxx11' })).toBe('keras-torch.libtorch-1.13.0.cpu.cxx11.node');
  });

  test('a prebuilt binary matches the same major.minor, CUDA-ness and ABI, the exact version first', () => {
    const entry = (version: string, cuda: boolean, abi: string) => ({
      file: `${process.platform}-${process.arch}/${prebuildName({ version, cuda, abi })}`,
      platform: process.platform,
      arch: process.arch,
      libtorch: { version, cuda, abi },
    });
    const manifest = { prebuilds: [entry('1.13.0', false, 'cxx11'), entry('1.13.1', false, 'cxx11'), entry('2.1.0', false, 'cxx11'),
      entry('1.13.1', true, 'cxx11'), entry('1.13.1', false, 'precxx11')] };
    const files = (version: string, cuda: boolean, abi: string) =>
      matchingPrebuilds({ version, cuda, abi }, manifest).map((match: { libtorch: { version: string } }) => match.libtorch.version);
    expect(files('1.13.1', false, 'cxx11')).toEqual(['1.13.1', '1.13.0']);
    expect(files('2.1.2', false, 'cxx11')).toEqual(['2.1.0']);
    expect(files('2.2.0', false, 'cxx11')).toEqual([]);
    expect(files('1.13.1', true, 'precxx11')).toEqual([]);
  });
});
