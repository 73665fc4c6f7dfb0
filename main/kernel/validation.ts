import type { z } from 'zod';
import type { ContractError } from '../../preload/contract';

/** Turns zod's issues into one line per field, with the path written as a person reads it. */
export function describeZodError(error: z.ZodError): { message: string; issues: NonNullable<ContractError['issues']> } {
  const issues = error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.map(String).join('.') : '(input)';
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; remove ${issue.keys.length > 1 ? 'them' : 'it'}`;
    }
    return { path, message };
  });
  const message = issues
    .slice(0, 5)
    .map((i) => (i.path === '(input)' ? i.message : `${i.path}: ${i.message}`))
    .join('; ');
  return { message: message + (issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''), issues };
}
