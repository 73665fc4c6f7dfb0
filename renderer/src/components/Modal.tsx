// The one dialog shell (Radix Dialog: focus trap, Escape, focus returned to what opened it) and the
// confirmation built on it. Every dialog in the app is one of these two.
import * as Dialog from '@radix-ui/react-dialog';
import { useId, useRef, type ReactNode } from 'react';
import { ErrorLine } from './ErrorLine';

export function Modal(p: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: ReactNode;
  /** One line under the title that screen readers read with it. */
  description?: ReactNode;
  descriptionClass?: string;
  wide?: boolean;
  className?: string;
  children?: ReactNode;
}) {
  const descId = useId();
  // Radix returns focus to a Dialog.Trigger; these dialogs are opened from state (a row's button,
  // a menu), so the element that had focus when it opened is remembered and focused again.
  const opener = useRef<HTMLElement | null>(null);
  const wasOpen = useRef(false);
  if (p.open && !wasOpen.current && typeof document !== 'undefined') opener.current = document.activeElement as HTMLElement | null;
  wasOpen.current = p.open;
  return (
    <Dialog.Root open={p.open} onOpenChange={p.onOpenChange}>
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content
          className={`dialog${p.wide ? ' wide' : ''}${p.className ? ` ${p.className}` : ''}`}
          aria-describedby={p.description ? descId : undefined}
          onCloseAutoFocus={(e) => {
            const el = opener.current;
            if (el && el.isConnected && el !== document.body) {
              e.preventDefault();
              el.focus();
            }
          }}
        >
          <Dialog.Title>{p.title}</Dialog.Title>
          {p.description && (
            <div id={descId} className={p.descriptionClass ?? 'muted small'}>
              {p.description}
            </div>
          )}
          {p.children}
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

/** The buttons at the foot of a dialog; the Cancel one closes it. */
export function DialogActions({ children, cancel = 'Cancel' }: { children?: ReactNode; cancel?: string | false }) {
  return (
    <div className="dialog-actions">
      {cancel !== false && (
        <Dialog.Close asChild>
          <button type="button">{cancel}</button>
        </Dialog.Close>
      )}
      {children}
    </div>
  );
}

/** "Are you sure?" for an action that cannot be undone; its error stays in the dialog. */
export function ConfirmDialog(p: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: ReactNode;
  description: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  danger?: boolean;
  pending?: boolean;
  error?: string;
  wide?: boolean;
  children?: ReactNode;
}) {
  return (
    <Modal open={p.open} onOpenChange={p.onOpenChange} title={p.title} description={p.description} wide={p.wide}>
      {p.children}
      <ErrorLine error={p.error} />
      <DialogActions>
        <button type="button" className={p.danger ? 'primary danger-bg' : 'primary'} disabled={p.pending} onClick={p.onConfirm}>
          {p.confirmLabel}
        </button>
      </DialogActions>
    </Modal>
  );
}
