export function electronBinary(): { path: string | undefined; reason: string | undefined };
