// The shell: sign-in gate, left navigation, and the page for the current #/route.
import { useEffect, useState } from 'preact/hooks';
import { getToken, onAuthChange, signOut } from './auth';
import { startLive, stopLive } from './live';
import { AgentsPage } from './pages/agents';
import { DirectivesPage } from './pages/directives';
import { LivePage } from './pages/live';
import { OverviewPage } from './pages/overview';
import { ProvidersPage } from './pages/providers';
import { SessionsPage } from './pages/sessions';
import { SignInPage } from './pages/signin';
import { UsagePage } from './pages/usage';
import { href, useRoute } from './router';
import { useLive } from './use-live';

const NAV = [
  ['overview', 'Overview'],
  ['live', 'Live'],
  ['sessions', 'Sessions'],
  ['agents', 'Agents & PATs'],
  ['directives', 'Directives'],
  ['usage', 'Usage'],
  ['providers', 'Providers'],
] as const;

export function App() {
  const [token, setToken] = useState(getToken);
  const [reason, setReason] = useState<string | null>(null);
  useEffect(
    () =>
      onAuthChange(() => {
        const next = getToken();
        // Signed out by a 401 rather than by the button: say why.
        setReason(next === null && !signingOut ? 'The gateway no longer accepts the token; sign in again.' : null);
        signingOut = false;
        setToken(next);
      }),
    [],
  );
  useEffect(() => {
    if (token) startLive();
    else stopLive();
  }, [token]);
  if (!token) return <SignInPage reason={reason} />;
  return <Shell />;
}

let signingOut = false;

function Shell() {
  const route = useRoute();
  const page = route[0] ?? 'overview';
  const live = useLive();
  return (
    <div class="shell">
      <nav class="nav">
        <div class="brand">
          <span class="logo">ibex</span>
        </div>
        <ul>
          {NAV.map(([id, label]) => (
            <li>
              <a href={href(id)} class={page === id ? 'active' : ''} aria-current={page === id ? 'page' : undefined}>
                {label}
                {id === 'live' && <span class={`dot ${live.state}`} title={`live feed: ${live.state}`} />}
              </a>
            </li>
          ))}
        </ul>
        <div class="nav-foot">
          <div class="muted">{location.host}</div>
          <button
            type="button"
            onClick={() => {
              signingOut = true;
              signOut();
            }}
          >
            Sign out
          </button>
        </div>
      </nav>
      <main>{renderPage(page, route[1])}</main>
    </div>
  );
}

function renderPage(page: string, arg: string | undefined) {
  switch (page) {
    case 'overview':
      return <OverviewPage />;
    case 'live':
      return <LivePage selected={arg} />;
    case 'sessions':
      return <SessionsPage id={arg} />;
    case 'agents':
      return <AgentsPage />;
    case 'directives':
      return <DirectivesPage agent={arg} />;
    case 'usage':
      return <UsagePage />;
    case 'providers':
      return <ProvidersPage />;
    default:
      return (
        <div class="page">
          <h1>Not found</h1>
          <p>
            No page <code>{page}</code>. <a href={href('overview')}>Go to the overview</a>.
          </p>
        </div>
      );
  }
}
