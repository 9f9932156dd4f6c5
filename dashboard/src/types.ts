// Shapes of the admin API (docs/dashboard.md links the contract). Times are ISO strings from the
// REST routes and epoch ms on the live stream; format.ts accepts both.
export type Time = string | number;

export interface Trace {
  requestId: string;
  clientRequestId: string | null;
  sessionId: string | null;
  agent: string | null;
  patId: string | null;
  model: string | null;
  provider: string | null;
  stream: boolean;
  status: number;
  errorCode: string | null;
  startedAt: Time;
  totalMs: number;
  upstreamTtfbMs: number | null;
  upstreamMs: number | null;
  overheadMs: number;
  stages: Record<string, number>;
  promptTokens: number | null;
  completionTokens: number | null;
  totalTokens: number | null;
  bytesIn: number;
  bytesOut: number;
  directiveVersion: number | null;
  /** Added by the cost work (issue 14); absent on older gateways */
  costUsd?: number | null;
  /** What the agent's policies changed, held or blocked (issue 17); null or absent when none acted */
  policyDecisions?: PolicyDecision[] | null;
  /** The response cache's answer, when the agent has one */
  cacheStatus?: 'hit' | 'miss' | null;
  /** The model the provider was asked for (after aliases and fallback); absent on older gateways */
  servedModel?: string | null;
  /** Fallback targets that failed before the one that served */
  attempts?: { provider: string; model: string; error: string }[] | null;
}

export interface PolicyDecision {
  policy: string;
  phase: string;
  action: string;
  detail: string;
}

export interface Agent {
  name: string;
  description: string | null;
  rpm: number | null;
  disabled: boolean;
  createdAt: Time;
  directiveVersion: number | null;
  /** Limits and budgets (issue 14) and what checkpoints keep (issue 15); absent on older gateways */
  tpm?: number | null;
  budgetUsdDay?: number | null;
  budgetUsdWeek?: number | null;
  budgetUsdMonth?: number | null;
  budgetTokensDay?: number | null;
  budgetTokensWeek?: number | null;
  budgetTokensMonth?: number | null;
  budgetFallbackModel?: string | null;
  contentMode?: 'full' | 'redacted' | 'metadata';
}

export interface Pat {
  id: string;
  prefix: string;
  name: string | null;
  agents: string[];
  rpm: number | null;
  createdAt: Time;
  expiresAt: Time | null;
  revokedAt: Time | null;
}

export interface NewPat {
  id: string;
  token: string;
  prefix: string;
  agents: string[];
  name: string | null;
  expiresAt: Time | null;
}

export interface DirectiveVersion {
  version: number;
  text: string;
  sha256: string;
  createdAt: Time;
}

export interface DirectiveHistory {
  agent: string;
  /** The latest version written (during a canary, the canary's) */
  current: number | null;
  data: DirectiveVersion[];
  /** How versions are served (absent from gateways older than canaries) */
  deploy?: DirectiveDeploy;
}

export interface DirectiveDeploy {
  /** Served to new sessions outside the canary (0 = none) */
  stable: number;
  latest: number;
  canary: { version: number; percent: number } | null;
  rollout: 'new-sessions' | 'all-sessions';
}

export interface Session {
  id: string;
  agent: string;
  patId: string;
  createdAt: Time;
  updatedAt: Time;
  turns: number;
  promptTokens: number;
  completionTokens: number;
  status: string;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cachedTokens?: number;
  reasoningTokens?: number;
}

export interface Checkpoint {
  seq: number;
  requestId: string;
  clientRequestId: string | null;
  model: string | null;
  directiveVersion: number | null;
  messages: unknown[];
  reply: string | null;
  finishReason: string | null;
  usage: Usage | null;
  status: string;
  errorCode: string | null;
  stream: boolean;
  createdAt: Time;
  costUsd?: number | null;
  policyDecisions?: PolicyDecision[] | null;
  cacheStatus?: 'hit' | 'miss' | null;
  /** The Responses reply id this turn created */
  responseId?: string | null;
}

export interface SessionDetail extends Session {
  checkpoints: Checkpoint[];
}

export interface Overview {
  window: string;
  requests: number;
  rps: number;
  errorRate: number;
  latency: { p50: number; p99: number };
  overhead: { p50: number; p99: number };
  costTodayUsd: number | null;
  topAgents: { agent: string; requests: number }[];
  topModels: { model: string; requests: number }[];
  series: { t: Time; requests: number; errors: number }[];
}

export interface UsageRow {
  key: string | null;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number | null;
}

export interface Provider {
  id: string;
  kind: string;
  baseUrl: string;
  keyStrategy: string;
  keys: { key: string; coolingUntil: Time | null; uses: number; cooldowns: number }[];
  health: {
    requests: number;
    errors: number;
    lastSuccessAt: Time | null;
    lastError: { at: Time; status: number | null; message: string } | null;
    /** The breakers of models that failed (absent from gateways older than the circuit breaker) */
    breakers?: { model: string; state: 'closed' | 'open'; openUntil: Time | null; consecutiveFailures: number; opened: number }[];
  };
}
