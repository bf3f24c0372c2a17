/**
 * Data-parallel training across processes and machines on torch.distributed's engine (c10d): a TCPStore
 * rendezvous and a Gloo process group. A training script calls `await distributed.init()` and then fits as
 * usual: each rank trains on its own shard of the data, gradients are averaged after every backward pass,
 * metrics across ranks, and only rank 0 prints progress and writes checkpoints.
 *
 * The environment torchrun and Kubeflow's PyTorchJob set (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
 * MASTER_PORT) is read by default, so `torchrun --no-python --nproc-per-node 2 node train.js` and
 * `npx keras-torch launch --nproc 2 train.js` start the same unchanged script.
 */
import { invalidArgument, ValueError } from '../errors';
import type { NativeModel } from '../native/binding';
import { reseed } from '../random';
import { loadBinding } from '../native/loader';
import { checkKnownOptions, checkNonNegativeInteger, checkOneOf, checkPlainObject, checkPositiveInteger } from '../validation';

export interface DistributedInitOptions {
  /** 'gloo' (CPU and CUDA tensors). Default 'gloo'. */
  backend?: 'gloo' | 'nccl';
  /** This process's rank, 0 <= rank < worldSize. Default: RANK. */
  rank?: number;
  /** The number of processes. Default: WORLD_SIZE. */
  worldSize?: number;
  /** Rank 0's address. Default: MASTER_ADDR, else 127.0.0.1. */
  address?: string;
  /** Rank 0's TCPStore port. Default: MASTER_PORT, else 29500. */
  port?: number;
  /** How long a rendezvous or collective may wait for the other ranks, in ms. Default 300000 (5 minutes). */
  timeout?: number;
  /** Seed shared by all ranks for shuffling and initial weights. Default: rank 0's choice, broadcast. */
  seed?: number;
}

interface State {
  rank: number;
  worldSize: number;
  localRank: number;
}

let state: State | undefined;

function fromEnvironment(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw invalidArgument('distributed.init', `${name} to be a non-negative integer`, value);
  return number;
}

/** Joins the process group; resolves once every rank has joined (or rejects after the timeout). */
export async function init(options: DistributedInitOptions = {}): Promise<void> {
  checkPlainObject('distributed.init', 'options', options);
  checkKnownOptions('distributed.init', options, ['backend', 'rank', 'worldSize', 'address', 'port', 'timeout', 'seed']);
  if (state) throw new ValueError('distributed.init: already initialised in this process; call distributed.destroy() first');
  const backend = checkOneOf('distributed.init', 'backend', options.backend ?? 'gloo', ['gloo', 'nccl'] as const);
  if (backend === 'nccl') {
    throw invalidArgument('distributed.init', "backend 'gloo' (this build does not link NCCL; Gloo also reduces CUDA tensors)", backend);
  }
  const worldSize = checkPositiveInteger('distributed.init', 'worldSize', options.worldSize ?? fromEnvironment('WORLD_SIZE') ?? 1);
  const rank = checkNonNegativeInteger('distributed.init', 'rank', options.rank ?? fromEnvironment('RANK') ?? 0);
  if (rank >= worldSize) throw invalidArgument('distributed.init', `rank to be below worldSize ${worldSize}`, rank);
  const address = options.address ?? process.env.MASTER_ADDR ?? '127.0.0.1';
  if (typeof address !== 'string' || address.length === 0) throw invalidArgument('distributed.init', 'address to be a host name or IP address', address);
  const port = options.port ?? fromEnvironment('MASTER_PORT') ?? 29500;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalidArgument('distributed.init', 'port to be an integer in [1, 65535]', port);
  const timeout = checkPositiveInteger('distributed.init', 'timeout', options.timeout ?? 300000);
  await loadBinding().distributed.init({ rank, worldSize, address, port, timeoutMs: timeout });
  state = { rank, worldSize, localRank: fromEnvironment('LOCAL_RANK') ?? rank };
  // One seed for every rank: the same shuffles, so that each rank's shard of an epoch is disjoint.
  const proposed = options.seed ?? (rank === 0 ? Math.floor(Math.random() * 2 ** 31) : 0);
  const [seed] = await loadBinding().distributed.allreduceMean(new Float64Array([rank === 0 ? proposed * worldSize : 0]));
  reseed(Math.round(seed));
  loadBinding().setSeed(Math.round(seed));
}

export function isInitialized(): boolean {
  return state !== undefined;
}

/** This process's rank (0 when not initialised). */
export function rank(): number {
  return state?.rank ?? 0;
}

/** The number of processes (1 when not initialised). */
export function worldSize(): number {
  return state?.worldSize ?? 1;
}

/** This process's rank on its machine (LOCAL_RANK), e.g. to choose `cuda:${localRank()}`. */
export function localRank(): number {
  return state?.localRank ?? 0;
}

/** Resolves once every rank has called it. */
export async function barrier(): Promise<void> {
  if (!state) throw new ValueError('distributed.barrier: call distributed.init() first');
  await loadBinding().distributed.barrier();
}

/** Leaves the process group. */
export function destroy(): void {
  loadBinding().distributed.destroy();
  state = undefined;
}

/** @internal Every rank takes rank 0's weights and buffers. */
export async function broadcastModel(model: NativeModel): Promise<void> {
  await loadBinding().distributed.broadcastModel(model);
}

/** @internal The mean over ranks of each value. */
export async function averageAcrossRanks(values: number[]): Promise<number[]> {
  return Array.from(await loadBinding().distributed.allreduceMean(Float64Array.from(values)));
}
