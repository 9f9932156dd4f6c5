// ibex.yaml reloads in a running gateway (issue 13): a new alias serves within a few seconds; a bad
// file is refused with a log line naming the line, and the previous configuration keeps serving;
// GET /v1/models still lists the configured names when the first provider's list cannot be fetched.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../../src/mock/server.js';
import { provision, type TestGateway } from '../helpers/gateway.js';
import { chat, closedPort, eventually, startYamlGateway } from '../helpers/providers.js';

describe('ibex.yaml reload', () => {
  let a: MockUpstream;
  let b: MockUpstream;
  let gw: TestGateway;
  let token: string;
  let dead: number;
  const yaml = (models: string, first = '') => `
providers:
${first}  a: { kind: openai, baseUrl: "${a.url}" }
  b: { kind: openai, baseUrl: "${b.url}" }
models:
${models}
`;

  beforeAll(async () => {
    a = await startMockUpstream();
    b = await startMockUpstream();
    dead = await closedPort();
    gw = await startYamlGateway(yaml('  fast: a/gpt-4o-mini'));
    ({ token } = await provision(gw, 'reload'));
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await Promise.all([a?.close(), b?.close()]);
  });

  const write = (text: string) => writeFileSync(join(gw.home, 'ibex.yaml'), text);

  it('a new alias serves within ~3 s of the file changing', async () => {
    const before = await chat(gw, token, 'fast');
    expect(before.headers.get('x-ibex-provider')).toBe('a');
    write(yaml('  fast: b/gpt-4o\n  brandnew: b/gpt-4o-mini'));
    const t0 = Date.now();
    const ok = await eventually(async () => (await chat(gw, token, 'brandnew')).headers.get('x-ibex-provider') === 'b', 5_000, 100);
    expect(ok, gw.output()).toBe(true);
    expect(Date.now() - t0).toBeLessThan(3_500);
    const r = await chat(gw, token, 'fast');
    expect([r.headers.get('x-ibex-provider'), r.headers.get('x-ibex-served-model')]).toEqual(['b', 'gpt-4o']);
    expect(gw.output()).toMatch(/config: reloaded .*ibex\.yaml \(2 providers, 2 models\)/);
    // One line says so (docs/providers.md), then what the new file defines, as at start.
    expect(gw.output().match(/config: .*reloaded/g)).toHaveLength(1);
    expect(gw.output()).toMatch(/models: fast, brandnew/);
  });

  it('a bad file is refused with its line named; the previous configuration keeps serving', async () => {
    // Line 6 of the rendered file: models.fast names a provider that does not exist.
    write(yaml('  fast: nosuch/gpt-4o\n  brandnew: b/gpt-4o-mini'));
    const refused = await eventually(() => /config: refused .*ibex\.yaml:6:\d+: models\.fast/.test(gw.output()), 6_000, 100);
    expect(refused, gw.output()).toBe(true);
    const r = await chat(gw, token, 'fast');
    expect(r.status).toBe(200);
    expect([r.headers.get('x-ibex-provider'), r.headers.get('x-ibex-served-model')]).toEqual(['b', 'gpt-4o']);
    expect((await chat(gw, token, 'brandnew')).headers.get('x-ibex-provider')).toBe('b');
  });

  it('GET /v1/models keeps the configured names when the first provider cannot list its models', async () => {
    write(yaml('  fast: a/gpt-4o-mini\n  listed-alias: b/gpt-4o-mini', `  down: { kind: openai, baseUrl: "http://127.0.0.1:${dead}/v1" }\n`));
    const ok = await eventually(async () => (await chat(gw, token, 'listed-alias')).headers.get('x-ibex-provider') === 'b', 5_000, 100);
    expect(ok, gw.output()).toBe(true);
    const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { id: string }[] };
    expect(body.data.map((m) => m.id).sort()).toEqual(['fast', 'listed-alias']);
  });
});
