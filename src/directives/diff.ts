// A unified line diff of two directive texts (`ibex directive diff`), by Myers' O(ND) algorithm:
// directives are a few hundred lines at most, and the shortest edit script reads best in review.

export type DiffLine = { op: ' ' | '-' | '+'; text: string };

/** The lines of `a` and `b` as a shortest edit script: kept, removed, added. */
export function diffLines(a: string[], b: string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  let v: Int32Array = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  trace.push(v);
  // Walk back from the end through the saved frontiers.
  const out: DiffLine[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 2; d >= 0; d--) {
    v = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : v[offset + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) out.push({ op: ' ', text: a[--x]! }), y--;
    if (d === 0) break;
    if (x === prevX) out.push({ op: '+', text: b[--y]! });
    else out.push({ op: '-', text: a[--x]! });
  }
  while (x > 0 && y > 0) out.push({ op: ' ', text: a[--x]! }), y--;
  return out.reverse();
}

export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** `diff -u` style text with `context` lines around each change; '' when the texts are equal. */
export function unifiedDiff(a: string, b: string, labels: { from: string; to: string }, context = 3): string {
  const lines = diffLines(splitLines(a), splitLines(b));
  if (lines.every((l) => l.op === ' ')) return '';
  const out = [`--- ${labels.from}`, `+++ ${labels.to}`];
  // positions (1-based) in a and b of each line
  let ai = 1;
  let bi = 1;
  const pos = lines.map((l) => {
    const p = { a: ai, b: bi };
    if (l.op !== '+') ai++;
    if (l.op !== '-') bi++;
    return p;
  });
  let i = 0;
  while (i < lines.length) {
    if (lines[i]!.op === ' ') {
      i++;
      continue;
    }
    const start = Math.max(0, i - context);
    let end = i;
    // extend while the next change is within 2 × context kept lines
    for (;;) {
      while (end < lines.length && lines[end]!.op !== ' ') end++;
      let next = end;
      while (next < lines.length && lines[next]!.op === ' ') next++;
      if (next < lines.length && next - end <= 2 * context) end = next;
      else break;
    }
    const stop = Math.min(lines.length, end + context);
    const hunk = lines.slice(start, stop);
    const aLen = hunk.filter((l) => l.op !== '+').length;
    const bLen = hunk.filter((l) => l.op !== '-').length;
    const aStart = aLen === 0 ? pos[start]!.a - 1 : pos[start]!.a;
    const bStart = bLen === 0 ? pos[start]!.b - 1 : pos[start]!.b;
    out.push(`@@ -${aStart},${aLen} +${bStart},${bLen} @@`);
    for (const l of hunk) out.push(l.op + l.text);
    i = stop;
  }
  return out.join('\n') + '\n';
}

/** Lines added and removed going from `a` to `b`. */
export function diffCounts(a: string, b: string): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const l of diffLines(splitLines(a), splitLines(b))) {
    if (l.op === '+') added++;
    else if (l.op === '-') removed++;
  }
  return { added, removed };
}
