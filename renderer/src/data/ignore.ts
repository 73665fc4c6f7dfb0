// The one place a failure may be set aside, and only with the reason it does not matter: what is
// ignored is still logged (the devtools console), never swallowed silently.
import { errorText } from '../transport/types';

/** A `.catch` handler that logs `err` with `why` it is safe to go on without the result. */
export const ignoreBecause =
  (why: string) =>
  (err: unknown): void => {
    console.info(`[ignored] ${why}: ${errorText(err)}`);
  };
