// Files attached to rooms: contents beside the database as files/<sha256>, rows as references;
// limits per file and per room; names safe to show and to save anywhere.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppError, notFound } from '../kernel/errors';
import type { RoomsContext } from './context';
import { FILE_CHUNK_BYTES } from '../../preload/contract';
import type { FileRow, RoomRow } from './statements';
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

export type Files = Pick<RoomsService, 'uploadFile' | 'listFiles' | 'readFile' | 'beginUpload' | 'uploadChunk' | 'finishUpload' | 'cancelUpload'> & { close(): void };

/** An upload that sends nothing for this long is abandoned (its chunks deleted). */
const UPLOAD_IDLE_MS = 10 * 60_000;
/** Uploads under way at once (each holds a temporary file and a hash state). */
const MAX_UPLOADS = 20;

interface Upload {
  roomId: string;
  name: string;
  mime: string;
  by: string;
  size: number;
  received: number;
  next: number;
  tmp: string;
  hash: crypto.Hash;
  lastAt: number;
}

export function createFiles(ctx: RoomsContext, dataDir: string): Files {
  const { now, q, tx, roomRow, randomHex } = ctx;
  const filesDir = path.join(dataDir, 'files');

  const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;
  /** The room's per-file limit and what is left of its quota; `size` must fit both. */
  const checkLimits = (room: RoomRow, name: string, size: number): void => {
    if (size > room.max_file_bytes)
      throw new AppError('too_large', `"${name}" is ${mb(size)}; files in "${room.name}" are limited to ${mb(room.max_file_bytes)}. Compress or split it.`);
    const used = q.usedBytes.one(room.id).n;
    if (used + size > room.quota_bytes)
      throw new AppError(
        'too_large',
        `"${room.name}" has ${mb(room.quota_bytes - used)} of its ${mb(room.quota_bytes)} quota left and "${name}" needs ${mb(size)}. Remove files or ask the owner to raise the quota.`,
      );
  };
  /** Lists a stored file (the contents already at files/<sha256>) in the room, the quota checked in the same transaction. */
  const record = (room: RoomRow, name: string, sha256: string, size: number, mime: string | undefined, by: string): FileInfo =>
    toFile(
      tx(() => {
        checkLimits(room, name, size);
        return q.insertFile.one(`f_${randomHex(8)}`, room.id, name, sha256, size, mime ?? 'application/octet-stream', by, now());
      }),
    );

  const uploadFile: RoomsService['uploadFile'] = (input) => {
    const room = roomRow(input.roomId);
    const name = sanitiseFileName(input.name);
    if (input.data.length > room.max_file_bytes) checkLimits(room, name, input.data.length);
    const sha256 = crypto.createHash('sha256').update(input.data).digest('hex');
    const target = path.join(filesDir, sha256);
    if (!fs.existsSync(target)) {
      fs.mkdirSync(filesDir, { recursive: true });
      const tmp = `${target}.${process.pid}.${randomHex(4)}.tmp`;
      fs.writeFileSync(tmp, input.data, { mode: 0o600 });
      fs.renameSync(tmp, target);
    }
    return record(room, name, sha256, input.data.length, input.mime, input.by);
  };

  // --- chunked uploads: a file larger than one call travels in numbered chunks ------------------
  const uploads = new Map<string, Upload>();
  const drop = (id: string): void => {
    const u = uploads.get(id);
    if (!u) return;
    uploads.delete(id);
    fs.rmSync(u.tmp, { force: true });
  };
  const sweep = (): void => {
    const t = now();
    for (const [id, u] of uploads) if (t - u.lastAt > UPLOAD_IDLE_MS) drop(id);
  };
  const uploadOf = (id: string, by: string): Upload => {
    const u = uploads.get(id);
    if (!u || u.by !== by) throw new AppError('not_found', `Upload ${id} is not under way (finished, cancelled, or idle for more than ${UPLOAD_IDLE_MS / 60_000} minutes). Start it again.`);
    return u;
  };

  const beginUpload: RoomsService['beginUpload'] = (input) => {
    sweep();
    const room = roomRow(input.roomId);
    const name = sanitiseFileName(input.name);
    checkLimits(room, name, input.size);
    if (uploads.size >= MAX_UPLOADS) throw new AppError('unavailable', `${MAX_UPLOADS} uploads are under way already; wait for one to finish.`);
    const uploadId = `u_${randomHex(8)}`;
    fs.mkdirSync(filesDir, { recursive: true });
    const tmp = path.join(filesDir, `.upload-${uploadId}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, '', { mode: 0o600 });
    uploads.set(uploadId, { roomId: room.id, name, mime: input.mime ?? 'application/octet-stream', by: input.by, size: input.size, received: 0, next: 0, tmp, hash: crypto.createHash('sha256'), lastAt: now() });
    return { uploadId, chunkBytes: FILE_CHUNK_BYTES };
  };

  const uploadChunk: RoomsService['uploadChunk'] = (input) => {
    const u = uploadOf(input.uploadId, input.by);
    if (input.index !== u.next) throw new AppError('invalid_input', `Chunk ${input.index} arrived, but chunk ${u.next} comes next: send the chunks in order.`);
    if (input.data.length > FILE_CHUNK_BYTES) throw new AppError('too_large', `A chunk is at most ${FILE_CHUNK_BYTES} bytes.`);
    if (u.received + input.data.length > u.size)
      throw new AppError('invalid_input', `"${u.name}" was announced as ${u.size} bytes; this chunk would make it ${u.received + input.data.length}. Start again with the right size.`);
    if (input.data.length === 0 && u.received < u.size) throw new AppError('invalid_input', 'A chunk carries at least one byte.');
    fs.appendFileSync(u.tmp, input.data);
    u.hash.update(input.data);
    u.received += input.data.length;
    u.next++;
    u.lastAt = now();
    return { received: u.received, size: u.size };
  };

  const finishUpload: RoomsService['finishUpload'] = (input) => {
    const u = uploadOf(input.uploadId, input.by);
    if (u.received !== u.size) throw new AppError('invalid_input', `"${u.name}" is ${u.size} bytes but ${u.received} arrived; send the missing chunks, then finish.`);
    const room = roomRow(u.roomId);
    const sha256 = u.hash.digest('hex');
    const target = path.join(filesDir, sha256);
    uploads.delete(input.uploadId);
    if (fs.existsSync(target)) fs.rmSync(u.tmp, { force: true });
    else fs.renameSync(u.tmp, target);
    return record(room, u.name, sha256, u.size, u.mime, u.by);
  };

  const cancelUpload: RoomsService['cancelUpload'] = (input) => {
    const known = uploads.get(input.uploadId)?.by === input.by;
    if (known) drop(input.uploadId);
    return known;
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

  // Temporary files of uploads a killed process left behind.
  try {
    for (const f of fs.readdirSync(filesDir)) if (f.startsWith('.upload-') && f.endsWith('.tmp')) fs.rmSync(path.join(filesDir, f), { force: true });
  } catch {
    // no files folder yet
  }

  return {
    uploadFile,
    listFiles,
    readFile,
    beginUpload,
    uploadChunk,
    finishUpload,
    cancelUpload,
    close() {
      for (const id of [...uploads.keys()]) drop(id);
    },
  };
}
