export function needsBuild(): boolean;
export function ensureBuilt(opts?: { force?: boolean; quiet?: boolean }): Promise<void>;
