/** An action's error, shown where the action was; nothing when there is none. */
export function ErrorLine({ error, className = 'error small' }: { error?: string | null; className?: string }) {
  return error ? (
    <p role="alert" className={className}>
      {error}
    </p>
  ) : null;
}
