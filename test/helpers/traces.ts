// A complete Trace for tests of anything that carries traces (sinks, emitter, tail). Kept apart from
// the service helpers so importing it probes no server.
import { randomBytes } from 'node:crypto';
import type { Trace } from '../../src/stores/ports.js';

/** A trace with every field set; override what the test is about. */
export function makeTrace(over: Partial<Trace> = {}): Trace {
  return {
    requestId: `req_${randomBytes(6).toString('hex')}`,
    clientRequestId: null,
    sessionId: 'sess_a',
    agent: 'writer',
    patId: 'pat_1',
    model: 'gpt-test',
    provider: 'openai',
    stream: false,
    status: 200,
    errorCode: null,
    startedAt: Date.now(),
    totalMs: 52.25,
    upstreamTtfbMs: 40.5,
    upstreamMs: 50,
    overheadMs: 2.25,
    stages: { auth: 0.25, inject: 0.125 },
    promptTokens: 10,
    completionTokens: 5,
    totalTokens: 15,
    cachedTokens: 2,
    reasoningTokens: null,
    costUsd: 0.0000045,
    bytesIn: 300,
    bytesOut: 500,
    directiveVersion: 3,
    servedModel: 'gpt-test',
    attempts: [],
    policyDecisions: null,
    cacheStatus: null,
    ...over,
  };
}
