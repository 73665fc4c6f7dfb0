// App-mode Clipboard adapter: Electron's clipboard in the main process (no process per read, so
// the relay can poll every 300 ms). Electron 44+ writes several formats atomically through
// ClipboardItem, which is how relayed text gets the "do not record" markers beside it.
import { clipboard, ClipboardItem } from 'electron';
import type { RelayClipboard } from '../agents';

const os = (format: string): string => `electron application/osclipboard;format="${format}"`;

// Raw formats asked for by name: availableFormats-style listings do not show every OS type.
const markers: Record<string, string[]> = {
  darwin: ['org.nspasteboard.ConcealedType', 'org.nspasteboard.TransientType'],
  win32: ['ExcludeClipboardContentFromMonitorProcessing'],
  linux: ['x-kde-passwordManagerHint'],
};

async function historyExcluded(): Promise<boolean> {
  // Windows: CanIncludeInClipboardHistory is a DWORD; 0 means "keep out of history and sync".
  if (process.platform !== 'win32' || !(await clipboard.has(os('CanIncludeInClipboardHistory')))) return false;
  for (const item of await clipboard.read()) {
    if (!item.types.includes(os('CanIncludeInClipboardHistory'))) continue;
    const blob = (await item.getType(os('CanIncludeInClipboardHistory'))) as Blob;
    const bytes = new Uint8Array(await blob.arrayBuffer());
    return bytes.length >= 4 && bytes.every((b) => b === 0);
  }
  return false;
}

export function createElectronClipboard(): RelayClipboard {
  return {
    readText: () => clipboard.readText(),
    async readFormats() {
      const found: string[] = [];
      for (const item of await clipboard.read()) found.push(...item.types);
      for (const f of markers[process.platform] ?? []) if (await clipboard.has(os(f))) found.push(f);
      if (await historyExcluded()) found.push('CanIncludeInClipboardHistory=0');
      return found;
    },
    async writeText(text, opts) {
      const hints = opts?.conceal ? (markers[process.platform] ?? []).slice(0, 1) : [];
      if (!hints.length) return clipboard.writeText(text);
      const entry: Record<string, string | Blob> = { 'text/plain': text };
      // KDE's hint carries the word "secret"; the macOS and Windows markers are presence-only.
      for (const h of hints) entry[os(h)] = new Blob(h === 'x-kde-passwordManagerHint' ? ['secret'] : []);
      if (process.platform === 'win32') {
        entry[os('CanIncludeInClipboardHistory')] = new Blob([new Uint8Array(4)]);
        entry[os('CanUploadToCloudClipboard')] = new Blob([new Uint8Array(4)]);
      }
      await clipboard.write([new ClipboardItem(entry)]);
    },
  };
}
