// Every ```yaml example of docs/providers.md must load as it is written (issue 13): a user copies
// them. A block without `providers:` (a `models:` fragment) is loaded under the providers of the
// complete example, as the text around it says. `${VAR}` references get dummy values. Examples meant
// to be refused are fenced as ```text, not ```yaml.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIbexYaml } from '../../src/config/ibex-yaml.js';

const DOC = join(import.meta.dirname, '../../docs/providers.md');
const text = readFileSync(DOC, 'utf8');
const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

function envFor(yaml: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const m of yaml.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) env[m[1]!] = `sk-doc-example-${m[1]!.toLowerCase()}-0123456789`;
  return env;
}

describe('docs/providers.md examples', () => {
  it('has yaml examples, the complete one first', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    expect(blocks[0]).toMatch(/^providers:/);
  });

  const complete = blocks[0]!;
  const completeProviders = complete.slice(0, complete.indexOf('\nmodels:') + 1);

  blocks.forEach((block, i) => {
    const firstLine = block.split('\n')[0];
    it(`block ${i + 1} (${firstLine}) loads`, () => {
      const yaml = /^providers:/m.test(block) ? block : completeProviders + block;
      const config = parseIbexYaml(yaml, `docs/providers.md#block${i + 1}`, envFor(yaml));
      expect(config.providers.length).toBeGreaterThan(0);
      // Every model name resolves to targets of configured providers.
      for (const targets of Object.values(config.models)) {
        for (const t of targets) expect(config.providers.map((p) => p.name)).toContain(t.provider);
      }
    });
  });
});
