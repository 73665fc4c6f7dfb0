// Snapshot files beside the database, named by their content hash (the same picture is kept once),
// under a size budget: when a new one would go over it, the oldest files go first.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface BlobIndex {
  /** Recorded files, oldest first. */
  oldest(limit: number): { sha256: string; bytes: number }[];
  totalBytes(): number;
  has(sha256: string): boolean;
  add(sha256: string, bytes: number, at: number): void;
  remove(sha256: string): void;
}

export interface BlobStore {
  /** Stores `data`, evicting the oldest files until it fits; returns its hash (or undefined when it can never fit). */
  put(data: Buffer, at: number): string | undefined;
  get(sha256: string): Buffer | undefined;
  /** How many files were evicted since start. */
  evicted(): number;
}

export const sha256Of = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

export function createBlobStore(dir: string, index: BlobIndex, budgetBytes: number): BlobStore {
  const fileOf = (sha: string): string => path.join(dir, sha.slice(0, 2), `${sha}.jpg`);
  let evictedCount = 0;
  const evict = (sha: string): void => {
    fs.rmSync(fileOf(sha), { force: true });
    index.remove(sha);
    evictedCount++;
  };
  return {
    put(data, at) {
      if (data.length > budgetBytes) return undefined;
      const sha = sha256Of(data);
      if (index.has(sha)) return sha;
      // Oldest first, until the new file fits.
      while (index.totalBytes() + data.length > budgetBytes) {
        const [old] = index.oldest(1);
        if (!old) break;
        evict(old.sha256);
      }
      const file = fileOf(sha);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      // Written under a temporary name and renamed, so a crash never leaves half a JPEG under its hash.
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, data);
      fs.renameSync(tmp, file);
      index.add(sha, data.length, at);
      return sha;
    },
    get(sha) {
      if (!index.has(sha)) return undefined;
      try {
        return fs.readFileSync(fileOf(sha));
      } catch {
        // The file went missing under us (deleted by hand): forget it rather than fail each time.
        index.remove(sha);
        return undefined;
      }
    },
    evicted: () => evictedCount,
  };
}
