/**
 * Model files written atomically: the bytes go to a temporary file in the target's directory, are synced,
 * and the temporary file is renamed over the target, so an interrupted write never destroys the previous
 * file. Temporaries that killed processes left behind are removed on the next write to the directory.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { ValueError } from '../errors';

/** Writes `parts`, in order, to `file` atomically: a temporary file, fsync, then rename. */
export async function writeFileAtomically(file: string, parts: readonly Uint8Array[]): Promise<void> {
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

