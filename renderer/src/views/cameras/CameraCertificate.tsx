// The camera's identity as the desktop trusts it: the enrolled signing key and the HTTPS certificate
// it was read over (pinned fingerprint or trusted CA). A changed certificate stops enrolment; the
// user compares the new fingerprint with the camera and trusts it here, or fixes the camera.
import { useState } from 'react';
import type { Camera } from '../../../../preload/contract';
import { ConfirmDialog } from '../../components/Modal';
import { errorText, transport } from '../../transport';

const short = (fp: string): string => `${fp.slice(0, 11)}…${fp.slice(-5)}`;

export function CameraCertificate({ camera: c }: { camera: Camera }) {
  const [asking, setAsking] = useState(false);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string>();
  const changed = c.certificateChanged;
  const trust = async (): Promise<void> => {
    if (!changed) return;
    setPending(true);
    setError(undefined);
    try {
      await transport().call('fleet.trustCertificate', { id: c.id, fingerprint: changed.fingerprint });
      setAsking(false);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setPending(false);
    }
  };
  return (
    <span className="camera-identity">
      {c.publicKey ? <code title={`key ${c.keyId ?? '?'}: ${c.publicKey}`}>{c.keyId ?? `${c.publicKey.slice(0, 10)}…`}</code> : <span className="muted">not deployed</span>}{' '}
      {c.certificate && (
        <small className="muted" title={`HTTPS certificate SHA-256 ${c.certificate.fingerprint} (${c.certificate.trust === 'ca' ? 'chains to a CA you trust' : 'pinned when the camera was added'})`}>
          cert {short(c.certificate.fingerprint)}
        </small>
      )}
      {changed && (
        <>
          {' '}
          <button type="button" className="danger" onClick={() => setAsking(true)} aria-label={`Certificate of ${c.name} changed`}>
            Certificate changed
          </button>
          <ConfirmDialog
            open={asking}
            onOpenChange={setAsking}
            wide
            title={`Trust the new certificate of ${c.name}?`}
            description="Nothing is read from this camera until you decide. Compare the new fingerprint with the one the camera shows (System → Security → Certificates). If nobody reset the camera or replaced its certificate, someone may be intercepting the connection: do not trust it."
            confirmLabel="Trust the new certificate"
            danger
            pending={pending}
            error={error}
            onConfirm={() => void trust()}
          >
            <p className="small">
              Pinned: <code>{c.certificate?.fingerprint ?? 'none'}</code>
              <br />
              Now presented: <code>{changed.fingerprint}</code>
            </p>
          </ConfirmDialog>
        </>
      )}
    </span>
  );
}
