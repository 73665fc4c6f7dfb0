import { DialogActions, Modal } from '../../components/Modal';
import { CopyButton } from '../../components/CopyButton';

export interface IssuedToken {
  name: string;
  token: string;
  note?: string;
}

/** Issued tokens, shown once: the store keeps only their hashes. */
export function TokensOnceDialog({ tokens, onClose, title }: { tokens: IssuedToken[]; onClose: () => void; title: string }) {
  return (
    <Modal
      open={tokens.length > 0}
      onOpenChange={(o) => !o && onClose()}
      wide
      title={title}
      descriptionClass="warn-box"
      description={
        <>
          Copy {tokens.length > 1 ? 'these tokens' : 'this token'} now: <strong>you will not see {tokens.length > 1 ? 'them' : 'it'} again</strong>. OmniSight keeps only a hash.
        </>
      }
    >
      <ul className="token-once">
        {tokens.map((t) => (
          <li key={t.token}>
            <span className="small">
              {t.name}
              {t.note ? <span className="muted"> · {t.note}</span> : null}
            </span>
            <code className="secret" aria-label={`Token for ${t.name}`}>
              {t.token}
            </code>
            <CopyButton text={t.token} label={`Copy the token for ${t.name}`} />
          </li>
        ))}
      </ul>
      <DialogActions cancel={false}>
        <button type="button" className="primary" onClick={onClose}>
          I have copied it
        </button>
      </DialogActions>
    </Modal>
  );
}
