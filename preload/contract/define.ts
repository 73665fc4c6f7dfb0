// Building blocks of the contract. Imports zod only: the contract is shared by main, preload and
// renderer, so it must not reach for Node or the DOM.
import { z } from 'zod';

export interface MethodSpec<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  readonly description: string;
  readonly input: I;
  readonly output: O;
}

export interface EventSpec<P extends z.ZodType = z.ZodType> {
  readonly description: string;
  readonly payload: P;
}

export const method = <I extends z.ZodType, O extends z.ZodType>(
  description: string,
  input: I,
  output: O,
): MethodSpec<I, O> => ({ description, input, output });

export const event = <P extends z.ZodType>(description: string, payload: P): EventSpec<P> => ({
  description,
  payload,
});

/** Methods that take nothing still take an object, so that a stray field is refused, not ignored. */
export const noInput = z.object({}).strict();

export const errorCodes = [
  'unknown_method',
  'invalid_input',
  'unauthorized',
  'forbidden',
  'rate_limited',
  'not_found',
  'conflict',
  'unavailable',
  'too_large',
  'failed',
  'internal',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export const contractErrorSchema = z
  .object({
    code: z.enum(errorCodes),
    message: z.string(),
    /** One entry per offending field, path written the way a person reads it ("mqtt.port"). */
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .strict();
export type ContractError = z.infer<typeof contractErrorSchema>;

export type CallResult<T> = { ok: true; value: T } | { ok: false; error: ContractError };
