// tool-guard: tools by name (`*` globs). `deny` lists forbidden tools; `allow`, when given, is the only
// tools permitted. Forbidden tool definitions are removed from the request; a reply that calls one
// anyway is blocked (non-streamed: 400 policy_violation; streamed: stopped in-band as soon as the
// call's name arrives, before its arguments).
//   { use: tool-guard, deny: [shell, "fs_*"] }      { use: tool-guard, allow: [search, get_weather] }
import type { PolicyFactory } from '../types.js';
import { allowedKeys, globToRegex, PolicyOptionError, stringList } from './options.js';

const NAME = 'tool-guard';

export const toolGuard: PolicyFactory = (options) => {
  allowedKeys(NAME, options, ['deny', 'allow']);
  const deny = stringList(NAME, options, 'deny').map(globToRegex);
  const allowList = options.allow === undefined ? null : stringList(NAME, options, 'allow').map(globToRegex);
  if (deny.length === 0 && allowList === null) throw new PolicyOptionError(NAME, 'give "deny" or "allow" (lists of tool names)');
  const permitted = (name: string) => !deny.some((re) => re.test(name)) && (allowList === null || allowList.some((re) => re.test(name)));
  return {
    name: NAME,
    onRequest(req) {
      const removed = req.tools.map((t) => t.name).filter((n) => !permitted(n));
      if (removed.length === 0) return { action: 'pass' };
      return { action: 'modify', removeTools: removed, note: `removed tool(s) ${removed.join(', ')}` };
    },
    onChunk(chunk) {
      if (chunk.kind === 'tool_call' && chunk.name !== undefined && !permitted(chunk.name)) {
        return { action: 'stop', reason: `tool "${chunk.name}" is not allowed` };
      }
      return { action: 'pass' };
    },
    onResponse(res) {
      const bad = res.toolCalls.find((c) => !permitted(c.name));
      return bad ? { action: 'reject', reason: `tool "${bad.name}" is not allowed` } : { action: 'pass' };
    },
  };
};
