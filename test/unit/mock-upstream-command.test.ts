// `ibex mock-upstream` flag handling and its in-process run loop.
import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { request } from 'undici';
import { UsageError } from '../../src/errors.js';
import { DEFAULT_MOCK_PORT, parseMockUpstreamFlags, register, runMockUpstream } from '../../commands/mock-upstream.js';

describe('parseMockUpstreamFlags', () => {
  it('defaults to 127.0.0.1:8789', () => {
    const o = parseMockUpstreamFlags({});
    expect(o.port).toBe(DEFAULT_MOCK_PORT);
    expect(DEFAULT_MOCK_PORT).toBe(8789);
    expect(o.host).toBe('127.0.0.1');
  });

  it('maps every flag to an option', () => {
    expect(
      parseMockUpstreamFlags({
        port: '0',
        host: '::1',
        latency: '50',
        ttfb: '20.5',
        chunks: '8',
        chunkInterval: '3',
        failRate: '0.25',
        failStatus: '429',
        seed: '9',
      }),
    ).toEqual({ port: 0, host: '::1', latencyMs: 50, ttfbMs: 20.5, chunks: 8, chunkIntervalMs: 3, failRate: 0.25, failStatus: 429, seed: 9 });
  });

  it('--protocol anthropic and repeated --api-key map to options; openai stays the default', () => {
    expect(parseMockUpstreamFlags({ protocol: 'anthropic', apiKey: ['a', 'b'] })).toMatchObject({ protocol: 'anthropic', apiKeys: ['a', 'b'] });
    expect(parseMockUpstreamFlags({ protocol: 'openai' })).not.toHaveProperty('protocol');
  });

  it.each([
    ['protocol', 'grpc'],
    ['apiKey', ['']],
    ['port', '70000'],
    ['port', 'abc'],
    ['latency', '-5'],
    ['ttfb', 'fast'],
    ['chunks', '0'],
    ['chunks', '2.5'],
    ['chunkInterval', ''],
    ['failRate', '1.5'],
    ['failStatus', '200'],
    ['seed', '-1'],
  ] as [string, string | string[]][])('rejects --%s %j with a UsageError', (flag, value) => {
    expect(() => parseMockUpstreamFlags({ [flag]: value })).toThrow(UsageError);
  });
});

describe('mock-upstream command', () => {
  it('registers and rejects a bad number before starting anything', async () => {
    const program = new Command().exitOverride();
    register(program);
    expect(program.commands.map((c) => c.name())).toContain('mock-upstream');
    await expect(program.parseAsync(['node', 'ibex', 'mock-upstream', '--chunks', '0'])).rejects.toBeInstanceOf(UsageError);
  });

  it('runMockUpstream prints the listening line, serves, and stops on its signal', async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    const running = runMockUpstream(parseMockUpstreamFlags({ port: '0', latency: '0' }), { out: { write: (l: string) => lines.push(l) }, stop: stop.signal });
    await expect.poll(() => lines.length).toBe(1);
    const match = /^mock upstream listening on (http:\/\/127\.0\.0\.1:(\d+)\/v1)\n$/.exec(lines[0]!);
    expect(match).not.toBeNull();
    const res = await request(`${match![1]}/models`);
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    stop.abort();
    await running;
    await expect(request(`${match![1]}/models`)).rejects.toThrow();
  });

  it('in anthropic mode the listening line names the protocol and the URL is the origin', async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    const running = runMockUpstream(parseMockUpstreamFlags({ port: '0', protocol: 'anthropic' }), { out: { write: (l: string) => lines.push(l) }, stop: stop.signal });
    await expect.poll(() => lines.length).toBe(1);
    const match = /^mock upstream listening on (http:\/\/127\.0\.0\.1:\d+) \(anthropic\)\n$/.exec(lines[0]!);
    expect(match).not.toBeNull();
    const res = await request(`${match![1]}/v1/models`, { headers: { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' } });
    expect(((await res.body.json()) as any).data[0].type).toBe('model');
    stop.abort();
    await running;
  });

  it('a port in use is a user error with a hint', async () => {
    const stop = new AbortController();
    const lines: string[] = [];
    const first = runMockUpstream({ port: 0, host: '127.0.0.1' }, { out: { write: (l: string) => lines.push(l) }, stop: stop.signal });
    await expect.poll(() => lines.length).toBe(1);
    const port = Number(/:(\d+)\/v1/.exec(lines[0]!)![1]);
    await expect(runMockUpstream({ port, host: '127.0.0.1' }, { out: { write: () => {} } })).rejects.toMatchObject({
      name: 'UserError',
      exitCode: 1,
      hint: expect.stringContaining('--port'),
    });
    stop.abort();
    await first;
  });
});
