/**
 * The package as users get it: built to dist/, loaded by name through both `require` and `import`
 * from a project that has keras-torch in its node_modules.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { findLibtorch } = require('../scripts/find-libtorch');
/** The libtorch the addon was built against (Debian 12's 1.13, Debian 13's 2.6, ...): what the build found. */
const builtAgainst: string = findLibtorch().version;
const dist = path.join(root, 'dist');
let project: string;

function run(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: project, encoding: 'utf8', timeout: 60000 });
}

beforeAll(() => {
  // dist/ is built once before the suite (test/global-setup.js).
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-torch-package-'));
  fs.mkdirSync(path.join(project, 'node_modules'));
  fs.symlinkSync(root, path.join(project, 'node_modules', 'keras-torch'), 'dir');
}, 120000);

afterAll(() => {
  if (project) fs.rmSync(project, { recursive: true, force: true });
});

describe('package', () => {
  test('package.json points main, types and exports at the build', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('keras-torch');
    for (const file of [pkg.main, pkg.types, pkg.exports['.'].require, pkg.exports['.'].import, pkg.exports['.'].types]) {
      expect(fs.existsSync(path.join(root, file))).toBe(true);
    }
    const types = fs.readFileSync(path.join(root, pkg.types), 'utf8');
    expect(types).toMatch(/Sequential/);
  });

  test('works through require', () => {
    const script = `
      const k = require('keras-torch');
      const model = new k.Sequential();
      model.add(new k.Dense(2, { inputShape: [3] }));
      model.predict(k.zeros([4, 3])).then((y) => {
        console.log(JSON.stringify({ params: model.countParams(), shape: y.shape, version: k.backendInfo().libtorchVersion, hasConv: typeof k.Conv2D }));
      });`;
    const result = JSON.parse(run(['-e', script]).trim());
    expect(result).toEqual({ params: 8, shape: [4, 2], version: expect.stringMatching(new RegExp(`^${builtAgainst.replace(/\./g, '\\.')}`)), hasConv: 'function' });
  });

  test('works through import (named and default exports)', () => {
    const script = `
      import { Sequential, Dense, tensor } from 'keras-torch';
      import keras from 'keras-torch';
      const model = new Sequential([new Dense(1, { inputShape: [2], useBias: false })]);
      model.setWeights([[[2], [3]]]);
      const y = await model.predict(tensor([[1, 1]]));
      console.log(JSON.stringify({ y: Array.from(y.dataSync()), same: keras.Sequential === Sequential }));`;
    const result = JSON.parse(run(['--input-type=module', '-e', script]).trim());
    expect(result).toEqual({ y: [5], same: true });
  });
});
