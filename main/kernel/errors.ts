import type { ContractError, ErrorCode } from '../../preload/contract';

/**
 * An error meant for the person at the other end: its message says what went wrong and what to do.
 * Anything else thrown by a service is reported as "internal" without its details.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues?: ContractError['issues'],
  ) {
    super(message);
    this.name = 'AppError';
  }

  toContract(): ContractError {
    return this.issues ? { code: this.code, message: this.message, issues: this.issues } : { code: this.code, message: this.message };
  }
}

export const notFound = (what: string): AppError => new AppError('not_found', `${what} was not found. It may have been removed; refresh and try again.`);
