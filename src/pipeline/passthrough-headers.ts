// Which of the provider's response headers reach the caller. Clients read the provider's own facts
// (`openai-processing-ms`, `openai-version`, token rate limits, the provider's request id) from these,
// so they pass through; hop-by-hop and framing headers are the gateway's own, and so are the request
// rate-limit headers ibex sets itself (`x-ratelimit-*-requests`) — the caller's limit is ibex's, not
// the provider's. The provider's request id is also given as `x-upstream-request-id`, because
// `x-request-id` is the caller's correlation id.
export type Headers = Record<string, string | string[] | undefined>;

const DROP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'content-encoding',
  'content-type',
  'date',
  'server',
  'x-request-id',
  'request-id',
  'set-cookie',
  'alt-svc',
  'strict-transport-security',
  'proxy-authenticate',
  'upgrade',
  'trailer',
  'te',
]);

/** The provider headers to add to the caller's answer, never overriding one ibex set (`own`). */
export function passthroughHeaders(upstream: Headers, own: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in upstream) {
    const v = upstream[name];
    if (v === undefined || DROP.has(name) || name in own) continue;
    if (name.startsWith('x-ibex-') || name.startsWith('cf-')) continue;
    out[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  const upstreamId = upstream['x-request-id'] ?? upstream['request-id'];
  if (typeof upstreamId === 'string') out['x-upstream-request-id'] = upstreamId;
  return out;
}
