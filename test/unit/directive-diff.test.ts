import { describe, expect, it } from 'vitest';
import { diffCounts, diffLines, unifiedDiff } from '../../src/directives/diff.js';

/** Length of the longest common subsequence, by dynamic programming (the reference). */
function lcs(a: string[], b: string[]): number {
  const t = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) t[i]![j] = a[i - 1] === b[j - 1] ? t[i - 1]![j - 1]! + 1 : Math.max(t[i - 1]![j]!, t[i]![j - 1]!);
  return t[a.length]![b.length]!;
}

describe('directive diff', () => {
  it('is a shortest edit script that rebuilds both texts (random cases against LCS)', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 4);
    for (let c = 0; c < 300; c++) {
      const a = Array.from({ length: rnd() * 3 }, () => 'abcd'[rnd()]!);
      const b = Array.from({ length: rnd() * 3 }, () => 'abcd'[rnd()]!);
      const d = diffLines(a, b);
      expect(d.filter((l) => l.op !== '+').map((l) => l.text)).toEqual(a);
      expect(d.filter((l) => l.op !== '-').map((l) => l.text)).toEqual(b);
      expect(d.filter((l) => l.op === ' ').length).toBe(lcs(a, b));
    }
  });

  it('prints unified hunks with 3 lines of context, like diff -u', () => {
    const a = 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n';
    const b = 'a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\n';
    expect(unifiedDiff(a, b, { from: 'support v1', to: 'support v2' })).toBe(
      ['--- support v1', '+++ support v2', '@@ -1,5 +1,5 @@', ' a', '-b', '+B', ' c', ' d', ' e', '@@ -8,3 +8,4 @@', ' h', ' i', ' j', '+k', ''].join(
        '\n',
      ),
    );
    expect(unifiedDiff('', 'one\n', { from: 'x', to: 'y' })).toBe('--- x\n+++ y\n@@ -0,0 +1,1 @@\n+one\n');
    expect(unifiedDiff('same\n', 'same\n', { from: 'x', to: 'y' })).toBe('');
    expect(diffCounts('a\nb\n', 'a\nc\nd\n')).toEqual({ added: 2, removed: 1 });
  });
});
