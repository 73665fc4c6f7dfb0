// One user action's `{ run, pending, error }`: the error is shown where the action was (ErrorLine),
// in the contract's words; `run` never throws, it answers whether it worked.
import { useEffect, useMemo, useRef, useState } from 'react';
import { createAction, type ActionResult, type ActionRunner, type ActionState } from './actionCore';

export interface Action<A extends unknown[], R> extends ActionState {
  run(...args: A): Promise<ActionResult<R>>;
  /** Show a problem found before calling anything (a form check). */
  fail(message: string): void;
  clear(): void;
}

export function useAction<A extends unknown[], R>(fn: (...args: A) => Promise<R>): Action<A, R> {
  const [state, setState] = useState<ActionState>({ pending: false, error: undefined });
  const runner = useRef<ActionRunner | undefined>(undefined);
  runner.current ??= createAction(setState);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    const r = runner.current;
    return () => r?.dispose();
  }, []);
  // run, fail and clear keep their identity across renders: a callback or effect that depends on
  // `run` must not fire again each time the action's state changes (RoomsView reloaded a room forever).
  const stable = useMemo(
    () => ({
      run: (...args: A) => runner.current!.run(() => fnRef.current(...args)),
      fail: (m: string) => runner.current!.fail(m),
      clear: () => runner.current!.clear(),
    }),
    [],
  );
  return useMemo(() => ({ ...state, ...stable }), [state, stable]);
}
