// Reads an upstream error body to learn its `error.code` before deciding whether to retry, and hands
// back a body that replays what was read (decoded, so its content-encoding header is dropped).
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { decodedBody, readAll } from '../pipeline/decode.js';

/** Error bodies are small; a larger one is not an error object worth parsing. */
const PEEK_MAX_BYTES = 64 * 1024;

export interface PeekedError {
  code: string | null;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

export async function peekErrorCode(res: Dispatcher.ResponseData): Promise<PeekedError> {
  let buf: Buffer;
  try {
    buf = await readAll(decodedBody(res.body, res.headers['content-encoding']), PEEK_MAX_BYTES);
  } catch {
    buf = Buffer.alloc(0);
  }
  let code: string | null = null;
  try {
    const v = JSON.parse(buf.toString('utf8')) as { error?: { code?: unknown; type?: unknown } };
    const c = v?.error?.code ?? v?.error?.type;
    if (typeof c === 'string') code = c;
  } catch {
    // not JSON: no code
  }
  const headers = { ...res.headers };
  delete headers['content-encoding'];
  delete headers['content-length'];
  const replay = Readable.from([buf]) as unknown as Dispatcher.ResponseData['body'];
  (replay as unknown as { dump(): Promise<void> }).dump = async () => {
    replay.resume();
  };
  return { code, headers, body: replay };
}
