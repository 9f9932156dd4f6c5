// Sessions: search and list (GET /admin/v1/sessions), and one session as a conversation
// (GET /admin/v1/sessions/{id}): per checkpoint the injected directive first, then the messages
// new since the previous turn, the reply, tool calls, usage and cost.
import { useState } from 'preact/hooks';
import { api, type List } from '../api';
import { Badge, Card, Empty, ErrorBox, Loading, Mono } from '../components/states';
import { describeDecisions, fmtInt, fmtTime, fmtUsd, statusClass } from '../format';
import { href, navigate } from '../router';
import type { Checkpoint, Session, SessionDetail } from '../types';
import { useApi } from '../use-api';

export function SessionsPage({ id }: { id: string | undefined }) {
  return id ? <SessionView id={id} /> : <SessionList />;
}

function SessionList() {
  const [agent, setAgent] = useState('');
  const [applied, setApplied] = useState('');
  const [openId, setOpenId] = useState('');
  const res = useApi<List<Session>>('/sessions', { agent: applied, limit: 50 });
  const [more, setMore] = useState<{ rows: Session[]; cursor: string | null } | null>(null);
  const [moreError, setMoreError] = useState<unknown>(null);
  const rows = [...(res.data?.data ?? []), ...(more?.rows ?? [])];
  const cursor = more ? more.cursor : (res.data?.next_cursor ?? null);

  const loadMore = async () => {
    if (!cursor) return;
    try {
      const page = await api<List<Session>>('/sessions', { query: { agent: applied, limit: 50, cursor } });
      setMore({ rows: [...(more?.rows ?? []), ...page.data], cursor: page.next_cursor ?? null });
    } catch (e) {
      setMoreError(e);
    }
  };

  return (
    <div class="page">
      <div class="page-head">
        <h1>Sessions</h1>
      </div>
      <div class="filters">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setMore(null);
            setApplied(agent.trim());
          }}
        >
          <input placeholder="agent" value={agent} onInput={(e) => setAgent((e.target as HTMLInputElement).value)} aria-label="filter by agent" />
          <button type="submit">Search</button>
        </form>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (openId.trim()) navigate('sessions', openId.trim());
          }}
        >
          <input placeholder="session or response id" value={openId} onInput={(e) => setOpenId((e.target as HTMLInputElement).value)} aria-label="session id" class="mono-input" title="a session id, or a Responses reply (resp_…) or conversation id one of its turns created" />
          <button type="submit">Open</button>
        </form>
      </div>
      {res.error ? <ErrorBox error={res.error} what="sessions" /> : null}
      {res.loading && <Loading what="sessions" />}
      {res.data && rows.length === 0 && <Empty title={applied ? `No sessions for agent ${applied}` : 'No sessions yet'}>A session starts with an agent's first request.</Empty>}
      {rows.length > 0 && (
        <table class="grid clickable" data-testid="sessions-table">
          <thead>
            <tr>
              <th>session</th>
              <th>agent</th>
              <th>PAT</th>
              <th class="num">turns</th>
              <th class="num">tokens in/out</th>
              <th>status</th>
              <th>started</th>
              <th>updated</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => (
              <tr key={s.id} data-session-id={s.id} onClick={() => navigate('sessions', s.id)}>
                <td>
                  <Mono>{s.id}</Mono>
                </td>
                <td>{s.agent}</td>
                <td>
                  <Mono>{s.patId}</Mono>
                </td>
                <td class="num">{fmtInt(s.turns)}</td>
                <td class="num">
                  {fmtInt(s.promptTokens)} / {fmtInt(s.completionTokens)}
                </td>
                <td>
                  <Badge kind={statusClass(s.status)}>{s.status}</Badge>
                </td>
                <td>{fmtTime(s.createdAt)}</td>
                <td>{fmtTime(s.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {moreError ? <ErrorBox error={moreError} /> : null}
      {cursor && (
        <button type="button" onClick={() => void loadMore()}>
          Load more
        </button>
      )}
    </div>
  );
}

function SessionView({ id }: { id: string }) {
  const res = useApi<SessionDetail>(`/sessions/${encodeURIComponent(id)}`);
  const s = res.data;
  return (
    <div class="page">
      <div class="page-head">
        <a href={href('sessions')}>← Sessions</a>
        <h1>
          Session <Mono>{id}</Mono>
        </h1>
      </div>
      {res.error ? <ErrorBox error={res.error} what="this session" /> : null}
      {res.loading && <Loading what="the session" />}
      {s && (
        <>
          <div class="summary">
            <span>
              agent <strong>{s.agent}</strong>
            </span>
            <span>
              PAT <Mono>{s.patId}</Mono>
            </span>
            <span>{fmtInt(s.turns)} turns</span>
            <span>
              {fmtInt(s.promptTokens)} in / {fmtInt(s.completionTokens)} out tokens
            </span>
            <span>
              <Badge kind={statusClass(s.status)}>{s.status}</Badge>
            </span>
            <span>
              {fmtTime(s.createdAt)} → {fmtTime(s.updatedAt)}
            </span>
          </div>
          {s.checkpoints.length === 0 && <Empty title="No checkpoints yet">The session was claimed but no request has completed.</Empty>}
          <div class="conversation" data-testid="conversation">
            {s.checkpoints.map((cp, i) => (
              <CheckpointView cp={cp} previous={s.checkpoints[i - 1]} />
            ))}
          </div>
        </>
      )}
    </div>
  );
}

interface Message {
  /** A Responses input item's kind (`message`, `function_call`, `function_call_output`…) */
  type?: string;
  role?: string;
  content?: unknown;
  name?: string;
  tool_calls?: { id?: string; function?: { name?: string; arguments?: string } }[];
  tool_call_id?: string;
  /** Responses `function_call` / `function_call_output` items */
  call_id?: string;
  arguments?: string;
  output?: unknown;
}

function CheckpointView({ cp, previous }: { cp: Checkpoint; previous: Checkpoint | undefined }) {
  const messages = cp.messages as Message[];
  // The directive, when one was injected, is the first message sent upstream.
  const directive = cp.directiveVersion !== null && messages[0]?.role === 'system' ? messages[0] : null;
  const rest = directive ? messages.slice(1) : messages;
  const earlier = previous ? sharedPrefix(rest, previous) : 0;
  return (
    <Card
      title={`Turn ${cp.seq}`}
      actions={
        <>
          <Badge kind={statusClass(cp.status)}>{cp.status}</Badge>
          {cp.errorCode && <Mono>{cp.errorCode}</Mono>}
          <span class="muted">{cp.model ?? '—'}</span>
          {cp.stream && <span class="muted">stream</span>}
          <span class="muted">{fmtTime(cp.createdAt)}</span>
          <a href={href('live', cp.requestId)} title="open the trace">
            <Mono>{cp.requestId.slice(0, 8)}</Mono>
          </a>
        </>
      }
    >
      <div class="turn" data-testid="checkpoint" data-seq={cp.seq}>
        {directive ? (
          <div class="msg directive" data-testid="directive">
            <div class="role">
              directive <Badge kind="info">v{cp.directiveVersion}</Badge>
            </div>
            <pre>{textOf(directive.content)}</pre>
          </div>
        ) : (
          <div class="msg none muted">no directive injected</div>
        )}
        {earlier > 0 && <div class="earlier muted">{earlier} earlier messages (shown in previous turns)</div>}
        {rest.slice(earlier).map((m) => (
          <MessageView m={m} />
        ))}
        <div class="msg assistant reply" data-testid="reply">
          <div class="role">
            reply {cp.finishReason && <span class="muted">({cp.finishReason})</span>}
          </div>
          <pre>{cp.reply ?? '(no reply)'}</pre>
        </div>
        <div class="usage muted">
          {cp.usage ? `${fmtInt(cp.usage.promptTokens)} prompt + ${fmtInt(cp.usage.completionTokens)} completion tokens` : 'no usage reported'}
          {cp.usage?.cachedTokens ? `, ${fmtInt(cp.usage.cachedTokens)} cached` : ''}
          {cp.usage?.reasoningTokens ? `, ${fmtInt(cp.usage.reasoningTokens)} reasoning` : ''}
          {' · cost '}
          {fmtUsd(cp.costUsd)}
          {cp.cacheStatus ? ` · cache ${cp.cacheStatus}` : ''}
          {cp.responseId ? <span data-testid="response-id"> · response <Mono>{cp.responseId}</Mono></span> : null}
        </div>
        {cp.policyDecisions?.length ? (
          <div class="usage muted" data-testid="policy-decisions">
            policies: {describeDecisions(cp.policyDecisions)}
          </div>
        ) : null}
      </div>
    </Card>
  );
}

function MessageView({ m }: { m: Message }) {
  // Responses items without a role (a tool call, a tool result) are shown by their kind
  const role = m.role ?? m.type ?? 'message';
  return (
    <div class={`msg ${role}`}>
      <div class="role">
        {role}
        {m.name ? ` (${m.name})` : ''}
        {m.tool_call_id ?? m.call_id ? <span class="muted"> for <Mono>{m.tool_call_id ?? m.call_id}</Mono></span> : null}
      </div>
      {m.content !== undefined && m.content !== null && <pre>{textOf(m.content)}</pre>}
      {m.role === undefined && m.arguments !== undefined && <pre>{m.arguments}</pre>}
      {m.role === undefined && m.output !== undefined && <pre>{textOf(m.output)}</pre>}
      {m.tool_calls?.map((c) => (
        <div class="tool-call">
          <span class="muted">tool call</span> <Mono>{c.function?.name ?? '?'}</Mono> {c.id && <span class="muted">{c.id}</span>}
          <pre>{c.function?.arguments ?? ''}</pre>
        </div>
      ))}
    </div>
  );
}

/** How many of `rest` were already in the previous checkpoint's messages (+ its reply). */
function sharedPrefix(rest: Message[], previous: Checkpoint): number {
  const prevMessages = previous.messages as Message[];
  const prevRest = previous.directiveVersion !== null && prevMessages[0]?.role === 'system' ? prevMessages.slice(1) : prevMessages;
  let n = 0;
  while (n < rest.length && n < prevRest.length && JSON.stringify(rest[n]) === JSON.stringify(prevRest[n])) n++;
  if (n === prevRest.length && rest[n]?.role === 'assistant' && textOf(rest[n]!.content) === (previous.reply ?? '')) n++;
  return n;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: { type?: string; text?: string }) => (typeof part?.text === 'string' ? part.text : `[${part?.type ?? 'part'}]`))
      .join('\n');
  }
  return JSON.stringify(content, null, 2);
}
