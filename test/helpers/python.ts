/** Debian's Python with torch, used as a reference peer; tests that need it skip with a message where it is absent. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';

export const DEBIAN_PYTHON = '/usr/bin/python3';

export function pythonHas(module: string): boolean {
  if (!fs.existsSync(DEBIAN_PYTHON)) return false;
  return spawnSync(DEBIAN_PYTHON, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 60_000 }).status === 0;
}

/** Runs a Python script, returning its stdout; throws with stderr when it fails. */
export function runPython(script: string, args: string[] = []): string {
  const result = spawnSync(DEBIAN_PYTHON, ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
  if (result.status !== 0) throw new Error(`python failed (${result.signal ? `killed by ${result.signal}, timeout 300 s` : `status ${result.status}`}):\n${result.stderr}`);
  return result.stdout;
}

// Python that reads one of our model files into \`state\` (torch's parameter names) and defines Keras's Flatten.
export const LOAD_STATE = `
import json, struct, sys, torch
from collections import OrderedDict
def load_state(file):
    raw = open(file, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    types = {'F32': torch.float32, 'I64': torch.int64}
    state = {}
    for name, info in header.items():
        if name == '__metadata__' or name.startswith('optimizer/'):
            continue
        b, e = info['data_offsets']
        state[name] = torch.frombuffer(bytearray(data[b:e]), dtype=types[info['dtype']]).reshape(info['shape'])
    return state
state = load_state(sys.argv[1])
class ChannelsLastFlatten(torch.nn.Module):
    def forward(self, x):
        return x.permute(0, 2, 3, 1).flatten(1)
`;

/**
 * The predictions of a torch.nn.Module holding a model file's weights: `definition` is Python that binds
 * \`model\` (after LOAD_STATE, so it may adjust \`state\` too); the inputs are float32 channels-last images of
 * `shape`, read from a file; feature maps come back channels-last, as ours.
 */
export function torchPredictions(definition: string, modelFile: string, inputsFile: string, shape: number[]): number[] {
  const script = `${LOAD_STATE}
${definition}
missing, unexpected = model.load_state_dict(state, strict=False)
assert not unexpected, unexpected
assert all(k.endswith('num_batches_tracked') for k in missing), missing
model.eval()
x = torch.frombuffer(bytearray(open(sys.argv[2], 'rb').read()), dtype=torch.float32).reshape(${shape.join(', ')})
with torch.no_grad():
    # NCHW memory, PyTorch's plain path: on channels-last memory PyTorch 2.6's CPU convolutions compute a
    # depthwise convolution with a depth multiplier wrongly and die of SIGFPE on some 1x1 ones (the README's
    # libtorch 2.6 notes), which would make the reference the thing under test.
    y = model(x.permute(0, 3, 1, 2).contiguous())
    print(json.dumps((y.permute(0, 2, 3, 1) if y.dim() == 4 else y).flatten().tolist()))
`;
  return JSON.parse(runPython(script, [modelFile, inputsFile])) as number[];
}
