// Files attached to rooms: contents beside the database as files/<sha256>, rows as references;
// limits per file and per room; names safe to show and to save anywhere.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppError, notFound } from '../kernel/errors';
import type { RoomsContext } from './context';
import type { FileRow } from './statements';
import type { FileInfo, RoomsService } from './types';

export const DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024;
export const DEFAULT_QUOTA_BYTES = 100 * 1024 * 1024;

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
/**
 * A name that is safe to show and to save anywhere: no folders, no control or reserved characters,
 * no leading dots, not a Windows device name, at most 255 bytes.
 */
export function sanitiseFileName(name: string): string {
  let base = name.normalize('NFC').split(/[\\/]/).pop() ?? '';
  base = base
    // Control characters and bidirectional overrides (a name that reads "txt.exe" backwards).
    .replace(/[\p{Cc}\u200b-\u200f\u202a-\u202e\u2066-\u2069]/gu, '')
    .replace(/[<>:"|?*]/g, '_')
    .replace(/^[\s.]+/, '')
    .replace(/[\s.]+$/, '')
    .trim();
  if (WINDOWS_RESERVED.test(base)) base = `_${base}`;
  if (Buffer.byteLength(base) > 255) {
    // Cut whole characters (grapheme clusters), never inside one: a cut between the halves of a
    // surrogate pair leaves an invalid name (70 × 🎥 once ended in a lone surrogate).
    const raw = path.extname(base);
    const ext = raw && raw.length < 20 ? raw : '';
    const stem = [...graphemes.segment(base.slice(0, base.length - ext.length))].map((g) => g.segment);
    while (stem.length && Buffer.byteLength(stem.join('') + ext) > 255) stem.pop();
    base = (stem.join('') + ext).replace(/[\s.]+$/, '');
  }
  return base || 'file';
}

const toFile = (r: FileRow): FileInfo => ({
  id: r.id,
  roomId: r.room_id,
  name: r.name,
  size: r.size,
  sha256: r.sha256,
  mime: r.mime,
  uploadedBy: r.uploaded_by,
  createdAt: r.created_at,
});

export type Files = Pick<RoomsService, 'uploadFile' | 'listFiles' | 'readFile'>;

export function createFiles(ctx: RoomsContext, dataDir: string): Files {
  const { now, q, tx, roomRow, randomHex } = ctx;
  const filesDir = path.join(dataDir, 'files');

  const uploadFile: RoomsService['uploadFile'] = (input) => {
    const room = roomRow(input.roomId);
    const name = sanitiseFileName(input.name);
    const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;
    if (input.data.length > room.max_file_bytes)
      throw new AppError('too_large', `"${name}" is ${mb(input.data.length)}; files in "${room.name}" are limited to ${mb(room.max_file_bytes)}. Compress or split it.`);
    const sha256 = crypto.createHash('sha256').update(input.data).digest('hex');
    const target = path.join(filesDir, sha256);
    if (!fs.existsSync(target)) {
      fs.mkdirSync(filesDir, { recursive: true });
      const tmp = `${target}.${process.pid}.${randomHex(4)}.tmp`;
      fs.writeFileSync(tmp, input.data, { mode: 0o600 });
      fs.renameSync(tmp, target);
    }
    const id = `f_${randomHex(8)}`;
    const row = tx(() => {
      const used = q.usedBytes.one(room.id).n;
      if (used + input.data.length > room.quota_bytes)
        throw new AppError(
          'too_large',
          `"${room.name}" has ${mb(room.quota_bytes - used)} of its ${mb(room.quota_bytes)} quota left and "${name}" needs ${mb(input.data.length)}. Remove files or ask the owner to raise the quota.`,
        );
      return q.insertFile.one(id, room.id, name, sha256, input.data.length, input.mime ?? 'application/octet-stream', input.by, now());
    });
    return toFile(row);
  };

  const listFiles: RoomsService['listFiles'] = (roomId) => {
    const room = roomRow(roomId);
    return {
      files: q.files.all(roomId).map(toFile),
      usedBytes: q.usedBytes.one(roomId).n,
      quotaBytes: room.quota_bytes,
    };
  };

  const readFile: RoomsService['readFile'] = (fileId) => {
    const r = q.file.get(fileId);
    if (!r) throw notFound(`File ${fileId}`);
    let data: Buffer;
    try {
      data = fs.readFileSync(path.join(filesDir, r.sha256));
    } catch {
      throw new AppError('not_found', `The contents of "${r.name}" are missing from ${filesDir}. Restore the folder from a backup or upload the file again.`);
    }
    if (crypto.createHash('sha256').update(data).digest('hex') !== r.sha256)
      throw new AppError('failed', `The stored copy of "${r.name}" is damaged (its hash does not match). Upload it again.`);
    return { file: toFile(r), data };
  };

  return { uploadFile, listFiles, readFile };
}
