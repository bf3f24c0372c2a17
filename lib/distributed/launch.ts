/**
 * `keras-torch launch --nproc N script.js [args]`: torchrun's job on one machine, without Python. Starts N
 * Node processes with RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT set; when one fails, the
 * others are stopped, and the launcher exits with the first failure's code.
 */
import { ChildProcess, spawn } from 'child_process';
import * as net from 'net';

export interface LaunchOptions {
  nproc: number;
  script: string;
  args?: string[];
  /** Rank 0's TCPStore port. Default: a free port. */
  port?: number;
  /** Extra Node flags for the children (e.g. ['--enable-source-maps']). */
  nodeArgs?: string[];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves the exit code: 0 when every rank succeeded, else the first failing rank's code (or 1). */
export async function launch(options: LaunchOptions): Promise<number> {
  const port = options.port ?? (await freePort());
  const children: ChildProcess[] = [];
  let firstFailure: number | undefined;
  const exits = Array.from({ length: options.nproc }, (_, rank) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script, ...(options.args ?? [])], {
      stdio: 'inherit',
      env: {
        ...process.env,
        RANK: String(rank),
        LOCAL_RANK: String(rank),
        WORLD_SIZE: String(options.nproc),
        LOCAL_WORLD_SIZE: String(options.nproc),
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: String(port),
      },
    });
    children.push(child);
    return new Promise<void>((resolve) => {
      child.on('exit', (code, signal) => {
        const failed = code !== 0;
        if (failed && firstFailure === undefined) {
          firstFailure = code ?? 1;
          console.error(`keras-torch launch: rank ${rank} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}; stopping the others`);
          for (const other of children) if (other !== child && other.exitCode === null) other.kill('SIGTERM');
        }
        resolve();
      });
    });
  });
  await Promise.all(exits);
  return firstFailure ?? 0;
}
