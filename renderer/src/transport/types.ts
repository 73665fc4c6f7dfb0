import type { ContractError, EventPayload, EventTopic, MethodInput, MethodName, MethodOutput } from '../../../preload/contract';

export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';
export interface ConnectionState {
  status: ConnectionStatus;
  /** Consecutive failed attempts since the last open connection. */
  attempt: number;
  since: number;
  detail?: string;
  /** Why it cannot connect, when known: no token in the address, or the server refused the token. */
  problem?: 'no-token' | 'token-refused' | 'unreachable';
}

/** A call that came back with a structured error; its message is meant for the user. */
export class CallError extends Error {
  constructor(readonly error: ContractError) {
    super(error.message);
    this.name = 'CallError';
  }
}

/** What to show the user for a failed call: the contract's message, or the error's own. */
export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The one interface the renderer talks through: Electron IPC or the browser-mode WebSocket. */
export interface Transport {
  readonly kind: 'ipc' | 'ws';
  call<M extends MethodName>(method: M, input: MethodInput<M>): Promise<MethodOutput<M>>;
  on<T extends EventTopic>(topic: T, handler: (payload: EventPayload<T>) => void): () => void;
  state(): ConnectionState;
  onState(listener: (s: ConnectionState) => void): () => void;
  /** The underlying socket for binary channels (browser mode only). */
  socket?(): WebSocket | undefined;
  /** Browser mode: use this token from now on and connect again at once (a pasted new address). */
  useToken?(token: string): void;
  /** Binary messages (camera frames, docs/protocol.md); absent where no binary channel exists yet. */
  onBinary?(handler: (data: ArrayBuffer) => void): () => void;
}
