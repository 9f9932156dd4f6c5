// Sign in with the admin token (IBEX_ADMIN_TOKEN or $IBEX_HOME/admin-token); it is checked against
// the gateway before it is kept in sessionStorage.
import { useState } from 'preact/hooks';
import { checkToken, signIn } from '../auth';

export function SignInPage({ reason }: { reason: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <div class="signin">
      <form
        class="card"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          const result = await checkToken(token.trim());
          setBusy(false);
          if (result === 'ok') signIn(token.trim());
          else setError(result === 'refused' ? 'The gateway refused this token.' : result.error);
        }}
      >
        <h1>
          <span class="logo">ibex</span> dashboard
        </h1>
        <p class="muted">
          Sign in with the gateway's admin token: <code>IBEX_ADMIN_TOKEN</code>, or the file <code>$IBEX_HOME/admin-token</code>. It is kept in this tab
          only (sessionStorage) and sent only to this gateway.
        </p>
        {reason && <div class="note">{reason}</div>}
        <label>
          Admin token
          <input type="password" name="token" autocomplete="off" required value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="primary" disabled={busy || !token.trim()}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        {error && (
          <div class="form-error" role="alert">
            {error}
          </div>
        )}
      </form>
    </div>
  );
}
