// The state machine behind useAction: `{ pending, error }` around one user action. The error is the
// one of the latest run (an older run that fails late does not overwrite a newer success), and
// nothing is reported after dispose (the component went away).
import { errorText } from '../transport/types';

export interface ActionState {
  pending: boolean;
  error: string | undefined;
}

export type ActionResult<R> = { ok: true; value: R } | { ok: false; error: string };

export interface ActionRunner {
  run<R>(fn: () => Promise<R>): Promise<ActionResult<R>>;
  /** Show a problem found before calling anything (a form check), where the action's errors go. */
  fail(message: string): void;
  clear(): void;
  state(): ActionState;
  dispose(): void;
}

export function createAction(notify: (s: ActionState) => void): ActionRunner {
  let state: ActionState = { pending: false, error: undefined };
  let seq = 0;
  let running = 0;
  let disposed = false;
  const set = (patch: Partial<ActionState>): void => {
    state = { ...state, ...patch };
    if (!disposed) notify(state);
  };
  return {
    async run(fn) {
      const mine = ++seq;
      running++;
      set({ pending: true, error: undefined });
      try {
        const value = await fn();
        running--;
        if (mine === seq) set({ pending: running > 0, error: undefined });
        else set({ pending: running > 0 });
        return { ok: true, value };
      } catch (err) {
        running--;
        const error = errorText(err);
        if (mine === seq) set({ pending: running > 0, error });
        else set({ pending: running > 0 });
        return { ok: false, error };
      }
    },
    fail(message) {
      seq++;
      set({ error: message });
    },
    clear() {
      set({ error: undefined });
    },
    state: () => state,
    dispose() {
      disposed = true;
    },
  };
}
