// Loading, empty and error states shared by every page.
import type { ComponentChildren } from 'preact';
import { ApiError } from '../api';

export function Loading({ what }: { what?: string }) {
  return <div class="state loading">Loading{what ? ` ${what}` : ''}…</div>;
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="state empty" data-testid="empty">
      <strong>{title}</strong>
      {children && <div class="hint">{children}</div>}
    </div>
  );
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.routeMissing) return 'Route not available on this gateway version: upgrade ibex to use this page.';
    return `${error.message}${error.code ? ` (${error.code})` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

export function ErrorBox({ error, what }: { error: unknown; what?: string }) {
  const missing = error instanceof ApiError && error.routeMissing;
  return (
    <div class={`state error${missing ? ' missing' : ''}`} role="alert" data-testid={missing ? 'route-missing' : 'api-error'}>
      {what && <strong>Could not load {what}. </strong>}
      {errorText(error)}
    </div>
  );
}

export function Badge({ kind, children }: { kind: string; children: ComponentChildren }) {
  return <span class={`badge ${kind}`}>{children}</span>;
}

export function Mono({ children, title }: { children: ComponentChildren; title?: string }) {
  return (
    <code class="mono" title={title}>
      {children}
    </code>
  );
}

export function Card({ title, actions, children }: { title?: string; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class="card">
      {(title || actions) && (
        <header>
          {title && <h2>{title}</h2>}
          {actions && <div class="actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}
