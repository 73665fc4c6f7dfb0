import { Check, Copy } from 'lucide-react';
import { useState } from 'react';

/** A copy button; `compact` shows only the icon (in a table row), the outcome then in its tooltip and accessible name. */
export function CopyButton({ text, label, compact = false }: { text: string; label: string; compact?: boolean }) {
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
  const said = done === 'copied' ? 'Copied' : done === 'failed' ? 'Select and copy it by hand' : 'Copy';
  if (compact)
    return (
      <button type="button" className="copy copy-compact ghost" onClick={() => void copy()} aria-label={done ? `${label}: ${said}` : label} title={done ? said : label}>
        {done === 'copied' ? <Check size={12} aria-hidden="true" /> : <Copy size={12} aria-hidden="true" />}
      </button>
    );
  return (
    <button type="button" className="copy" onClick={() => void copy()} aria-label={label}>
      <Copy size={13} aria-hidden="true" /> {said}
    </button>
  );
}
