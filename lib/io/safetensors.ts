/**
 * The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length,
 * a JSON header naming each tensor's dtype, shape and byte range, then the raw little-endian bytes.
 * Reading checks every field against the file before allocating anything for the data, so a truncated,
 * corrupt or hostile file is an error naming the problem, never a crash or a huge allocation.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { ValueError } from '../errors';
import { TYPED_ARRAYS } from '../tensor';
import type { DType, TypedArray } from '../tensor';

const DTYPE_CODES: Record<DType, string> = {
  float32: 'F32',
  float64: 'F64',
  int32: 'I32',
  int64: 'I64',
  uint8: 'U8',
  bool: 'BOOL',
};
const DTYPE_BY_CODE: Record<string, DType> = Object.fromEntries(
  Object.entries(DTYPE_CODES).map(([dtype, code]) => [code, dtype as DType]),
);
const ITEM_SIZE: Record<DType, number> = { float32: 4, float64: 8, int32: 4, int64: 8, uint8: 1, bool: 1 };

/** Headers beyond this are not model files; refusing them bounds what a hostile file can make us parse. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface StoredTensor {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

export interface SafetensorsFile {
  tensors: Map<string, StoredTensor>;
  metadata: Record<string, string>;
}

/**
 * The file's parts in order: the 8-byte header length, the JSON header, then each tensor's bytes (views
 * of the tensors' own memory, not copies).
 */
function safetensorsParts(tensors: Map<string, StoredTensor>, metadata: Record<string, string>): Uint8Array[] {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, stored] of tensors) {
    const bytes = stored.data.byteLength;
    header[name] = { dtype: DTYPE_CODES[stored.dtype], shape: stored.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Padding the header to 8 bytes keeps every tensor aligned for readers that map the file.
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(headerBytes.length));
  const data = [...tensors.values()].map((stored) => new Uint8Array(stored.data.buffer, stored.data.byteOffset, stored.data.byteLength));
  return [length, headerBytes, ...data];
}

/** `tensors` and string `metadata` as the bytes of a safetensors file, in one Buffer. */
export function encodeSafetensors(tensors: Map<string, StoredTensor>, metadata: Record<string, string>): Buffer {
  return Buffer.concat(safetensorsParts(tensors, metadata));
}

/** Writes `tensors` and string `metadata` to `file` atomically: a temporary file, fsync, then rename. */
export async function writeSafetensors(
  file: string,
  tensors: Map<string, StoredTensor>,
  metadata: Record<string, string>,
): Promise<void> {
  await writeModelFileAtomically(file, safetensorsParts(tensors, metadata));
}

/** Writes a model file of any format from its parts, atomically: a temporary file, fsync, then rename. */
export async function writeModelFileAtomically(file: string, parts: Uint8Array[]): Promise<void> {
  const target = await replaceableTarget(file);
  const directory = path.dirname(target);
  await removeStaleTemporaries(directory);
  // Short and unique: concurrent saves (to this path or others) never share one, and a long file name
  // does not make the temporary name too long.
  const temporary = path.join(directory, `${TEMPORARY_PREFIX}${process.pid}-${++temporaryCounter}-${randomBytes(4).toString('hex')}.tmp`);
  const failure = (error: unknown): Error => {
    // The temporary name means nothing to the caller; name the file they asked for.
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return new Error(`${file}: cannot write the model file (${reason} in ${directory})`, { cause: error });
  };
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(temporary, 'wx');
  } catch (error) {
    throw failure(error);
  }
  try {
    for (const part of parts) await handle.write(part);
    await handle.sync();
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fs.rm(temporary, { force: true });
    throw failure(error);
  }
  try {
    await fs.rename(temporary, target);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw failure(error);
  }
}

const TEMPORARY_PREFIX = '.keras-torch-';
let temporaryCounter = 0;

/**
 * The path a save replaces: through symbolic links to the file they point at (the link stays a link), and
 * only ever a regular file (a device, a pipe or a directory there is an error, never replaced).
 */
async function replaceableTarget(file: string): Promise<string> {
  let target = path.resolve(file);
  for (let hops = 0; hops < 40; hops++) {
    let stats;
    try {
      stats = await fs.lstat(target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return target;
      throw new Error(`${file}: cannot write the model file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
    }
    if (stats.isSymbolicLink()) {
      target = path.resolve(path.dirname(target), await fs.readlink(target));
      continue;
    }
    if (!stats.isFile()) {
      const kind = stats.isDirectory() ? 'a directory' : stats.isCharacterDevice() || stats.isBlockDevice() ? 'a device' : stats.isFIFO() ? 'a pipe' : stats.isSocket() ? 'a socket' : 'not a regular file';
      throw new ValueError(`${file}: expected a path to a model file but it is ${kind}`);
    }
    return target;
  }
  throw new ValueError(`${file}: expected a path to a model file but its symbolic links go round in circles`);
}

/** Removes temporary files that saves of processes no longer running left behind (killed mid-write). */
async function removeStaleTemporaries(directory: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(directory);
  } catch {
    return; // the open below reports a missing or unreadable directory
  }
  for (const name of names) {
    const match = /^\.keras-torch-(\d+)-\d+-[0-9a-f]{8}\.tmp$/.exec(name);
    if (!match || processIsAlive(Number(match[1]))) continue;
    await fs.rm(path.join(directory, name), { force: true }).catch(() => undefined);
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function corrupt(file: string, problem: string): ValueError {
  return new ValueError(`${file}: not a valid safetensors file: ${problem}`);
}

/** Reads and validates a safetensors file. */
export async function readSafetensors(file: string): Promise<SafetensorsFile> {
  let content: Buffer;
  try {
    content = await fs.readFile(file);
  } catch (error) {
    throw new ValueError(`${file}: cannot read the model file: ${(error as Error).message}`);
  }
  return parseSafetensors(content, file);
}

export function parseSafetensors(content: Buffer, file = 'buffer'): SafetensorsFile {
  if (content.length < 8) throw corrupt(file, `the file holds ${content.length} bytes, fewer than the 8-byte header length`);
  const headerLength = content.readBigUInt64LE(0);
  if (headerLength > BigInt(content.length - 8)) {
    throw corrupt(file, `the header length ${headerLength} exceeds the ${content.length - 8} bytes after it`);
  }
  if (headerLength > BigInt(MAX_HEADER_BYTES)) throw corrupt(file, `the header length ${headerLength} is implausibly large`);
  const headerEnd = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(content.subarray(8, headerEnd).toString('utf8'));
  } catch (error) {
    throw corrupt(file, `the header is not JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw corrupt(file, 'the header is not a JSON object');
  }
  const dataLength = content.length - headerEnd;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: DType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null) throw corrupt(file, '__metadata__ is not an object');
      for (const [key, text] of Object.entries(value as Record<string, unknown>)) {
        if (typeof text !== 'string') throw corrupt(file, `__metadata__.${key} is not a string`);
        metadata[key] = text;
      }
      continue;
    }
    const entry = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = typeof entry?.dtype === 'string' ? DTYPE_BY_CODE[entry.dtype] : undefined;
    if (!dtype) throw corrupt(file, `tensor '${name}' has dtype ${JSON.stringify(entry?.dtype)}; expected one of ${Object.keys(DTYPE_BY_CODE).join(', ')}`);
    const shape = entry.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw corrupt(file, `tensor '${name}' has shape ${JSON.stringify(shape)}; expected non-negative integers`);
    }
    const offsets = entry.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw corrupt(file, `tensor '${name}' has data_offsets ${JSON.stringify(offsets)}; expected [begin, end]`);
    }
    if (offsets[1] > dataLength) {
      throw corrupt(file, `tensor '${name}' ends at byte ${offsets[1]} but the data holds ${dataLength} bytes (truncated?)`);
    }
    // Checked with the byte range (already bounded by the file) so a huge shape cannot overflow into a match.
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    if (count * ITEM_SIZE[dtype] !== offsets[1] - offsets[0]) {
      throw corrupt(file, `tensor '${name}' of shape [${shape.join(', ')}] needs ${count * ITEM_SIZE[dtype]} bytes but spans ${offsets[1] - offsets[0]}`);
    }
    entries.push({ name, dtype, shape, begin: offsets[0], end: offsets[1] });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end) {
      throw corrupt(file, `tensors '${sorted[i - 1].name}' and '${sorted[i].name}' overlap`);
    }
  }
  const tensors = new Map<string, StoredTensor>();
  for (const entry of entries) {
    // A copy: the tensor's bytes must be aligned for its element type, which a file offset need not be.
    const bytes = content.buffer.slice(content.byteOffset + headerEnd + entry.begin, content.byteOffset + headerEnd + entry.end);
    tensors.set(entry.name, { dtype: entry.dtype, shape: entry.shape, data: new TYPED_ARRAYS[entry.dtype](bytes as ArrayBuffer) });
  }
  return { tensors, metadata };
}
