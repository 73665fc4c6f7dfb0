// Moving a room's files between the disk and the page.
import { FILE_CHUNK_BYTES, type FileInfo, type Room } from '../../../../../preload/contract';
import { ignoreBecause } from '../../../data/ignore';
import { transport } from '../../../transport';
import { base64ToBytes, bytesToBase64, uploadProblem } from '../roomCore';

export async function downloadFile(fileId: string): Promise<void> {
  const { file, dataBase64 } = await transport().call('rooms.files.download', { fileId });
  const url = URL.createObjectURL(new Blob([base64ToBytes(dataBase64) as BlobPart], { type: file.mime || 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = file.name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Reads a chosen file and uploads it, refusing it first when the room's limits already say no. A
 * file larger than one call goes in chunks (one socket message each stays well under its limit),
 * reporting the fraction sent after each.
 */
export async function uploadTo(room: Room, file: File, usedBytes?: number, onProgress?: (fraction: number) => void): Promise<FileInfo> {
  const problem = uploadProblem(file.size, { maxFileBytes: room.maxFileBytes, quotaBytes: room.quotaBytes, usedBytes });
  if (problem) throw new Error(problem);
  const mime = file.type ? { mime: file.type } : {};
  if (file.size <= FILE_CHUNK_BYTES) {
    const dataBase64 = bytesToBase64(new Uint8Array(await file.arrayBuffer()));
    return transport().call('rooms.files.upload', { roomId: room.id, name: file.name, dataBase64, ...mime });
  }
  const { uploadId, chunkBytes } = await transport().call('rooms.files.begin', { roomId: room.id, name: file.name, size: file.size, ...mime });
  try {
    for (let index = 0, at = 0; at < file.size; index++, at += chunkBytes) {
      const dataBase64 = bytesToBase64(new Uint8Array(await file.slice(at, at + chunkBytes).arrayBuffer()));
      const { received, size } = await transport().call('rooms.files.chunk', { uploadId, index, dataBase64 });
      onProgress?.(received / size);
    }
    return await transport().call('rooms.files.finish', { uploadId });
  } catch (err) {
    void transport().call('rooms.files.cancel', { uploadId }).catch(ignoreBecause('the app drops an abandoned upload after ten idle minutes anyway'));
    throw err;
  }
}
