// Moving a room's files between the disk and the page.
import type { FileInfo, Room } from '../../../../../preload/contract';
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

/** Reads a chosen file and uploads it, refusing it first when the room's limits already say no. */
export async function uploadTo(room: Room, file: File, usedBytes?: number): Promise<FileInfo> {
  const problem = uploadProblem(file.size, { maxFileBytes: room.maxFileBytes, quotaBytes: room.quotaBytes, usedBytes });
  if (problem) throw new Error(problem);
  const dataBase64 = bytesToBase64(new Uint8Array(await file.arrayBuffer()));
  return transport().call('rooms.files.upload', { roomId: room.id, name: file.name, dataBase64, ...(file.type ? { mime: file.type } : {}) });
}
