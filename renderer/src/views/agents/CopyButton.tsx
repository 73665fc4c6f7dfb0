import { Copy } from 'lucide-react';
import { useState } from 'react';

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState<'copied' | 'failed'>();
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(text);
      setDone('copied');
    } catch {
      // Shown on the button itself: the page may not hold the clipboard permission.
      setDone('failed');
    }
    setTimeout(() => setDone(undefined), 2000);
  };
  return (
    <button type="button" className="copy" onClick={() => void copy()} aria-label={label}>
      <Copy size={13} aria-hidden="true" /> {done === 'copied' ? 'Copied' : done === 'failed' ? 'Select and copy it by hand' : 'Copy'}
    </button>
  );
}
