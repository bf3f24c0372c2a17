/** The typed surface of native/distributed.cc. Internal. */
import type { NativeBinding, NativeModel } from '../native/binding';
import { loadBinding } from '../native/loader';

export interface NativeDistributed {
  init(options: { rank: number; worldSize: number; address: string; port: number; timeoutMs: number }): Promise<void>;
  barrier(): Promise<void>;
  broadcastModel(model: NativeModel): Promise<void>;
  allreduceMean(values: Float64Array): Promise<Float64Array>;
  destroy(): void;
}

export function nativeDistributed(): NativeDistributed {
  return (loadBinding() as NativeBinding & { distributed: NativeDistributed }).distributed;
}
