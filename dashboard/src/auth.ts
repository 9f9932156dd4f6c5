// The admin token lives in sessionStorage: it survives a reload but not closing the tab, and no
// other origin can read it. Nothing else of the dashboard is persisted.
const KEY = 'ibex.adminToken';
const listeners = new Set<() => void>();

export function getToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function signIn(token: string): void {
  sessionStorage.setItem(KEY, token);
  for (const l of listeners) l();
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
  for (const l of listeners) l();
}

/** Called on sign-in and sign-out; returns the unsubscribe function. */
export function onAuthChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Checks a token against the gateway before keeping it. GET /admin/v1/events exists on every
 * gateway version and answers its headers at once, so the stream is opened and closed again.
 */
export async function checkToken(token: string): Promise<'ok' | 'refused' | { error: string }> {
  const ctl = new AbortController();
  try {
    const res = await fetch('/admin/v1/events', { headers: { authorization: `Bearer ${token}` }, signal: ctl.signal });
    if (res.status === 401 || res.status === 403) return 'refused';
    if (!res.ok) return { error: `The gateway answered ${res.status}.` };
    return 'ok';
  } catch (err) {
    return { error: `The gateway did not answer: ${(err as Error).message}` };
  } finally {
    ctl.abort();
  }
}
