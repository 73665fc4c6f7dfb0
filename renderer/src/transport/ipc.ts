import type { CallResult } from '../../../preload/contract';
import { CallError, type ConnectionState, type Transport } from './types';

export interface PreloadApi {
  call(method: string, input: unknown): Promise<unknown>;
  on(topic: string, handler: (payload: unknown) => void): () => void;
}

export function createIpcTransport(api: PreloadApi): Transport {
  const state: ConnectionState = { status: 'open', attempt: 0, since: Date.now() };
  return {
    kind: 'ipc',
    async call(method, input) {
      const result = (await api.call(method, input)) as CallResult<never>;
      if (!result.ok) throw new CallError(result.error);
      return result.value;
    },
    on: (topic, handler) => api.on(topic, handler as (p: unknown) => void),
    state: () => state,
    onState: () => () => {},
  };
}
