import { Download, Paperclip } from 'lucide-react';
import { useRef, useState } from 'react';
import type { Room } from '../../../../../preload/contract';
import { ErrorLine } from '../../../components/ErrorLine';
import { useAction } from '../../../data/useAction';
import { useQuery } from '../../../data/useQuery';
import { ME } from '../parts';
import { formatBytes } from '../roomCore';
import { downloadFile, uploadTo } from './files';

export function FilesPanel({ room }: { room: Room }) {
  // A new attachment arrives with its message; the list follows the room's messages.
  const q = useQuery('rooms.files.list', { roomId: room.id }, { refreshOn: { 'rooms.message': (m) => m.roomId === room.id && m.attachments.length > 0 } });
  const files = q.data?.files ?? [];
  const used = q.data?.usedBytes ?? 0;
  const input = useRef<HTMLInputElement>(null);
  const [progress, setProgress] = useState<number>();
  const upload = useAction(async (f: File) => {
    try {
      setProgress(0);
      await uploadTo(room, f, used, setProgress);
      q.refresh();
    } finally {
      setProgress(undefined);
      if (input.current) input.current.value = '';
    }
  });
  const download = useAction(downloadFile);

  return (
    <div className="files">
      <div className="files-head">
        <span className="small muted">
          {formatBytes(used)} of {formatBytes(room.quotaBytes)} used · at most {formatBytes(room.maxFileBytes)} per file
        </span>
        <button type="button" disabled={upload.pending} onClick={() => input.current?.click()}>
          <Paperclip size={13} aria-hidden="true" /> {upload.pending ? `Uploading… ${progress ? `${Math.floor(progress * 100)} %` : ''}` : 'Upload'}
        </button>
        <input
          ref={input}
          type="file"
          hidden
          aria-label="Upload a file to the room"
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (f) void upload.run(f);
          }}
        />
      </div>
      <ErrorLine error={upload.error ?? download.error ?? q.error} />
      {files.length === 0 ? (
        <p className="empty small">No files. Upload one here or attach it to a message.</p>
      ) : (
        <ul className="file-list" aria-label="Files">
          {files.map((f) => (
            <li key={f.id}>
              <span className="file-name" title={`sha256 ${f.sha256}`}>
                {f.name}
              </span>
              <span className="small muted nums">{formatBytes(f.size)}</span>
              <span className="small muted">{f.uploadedBy === ME ? 'You' : f.uploadedBy}</span>
              <button type="button" className="ghost" aria-label={`Download ${f.name}`} onClick={() => void download.run(f.id)}>
                <Download size={13} aria-hidden="true" />
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
