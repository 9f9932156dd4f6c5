// Loads auth.proto at runtime (it ships in the package under src/auth/proto/, see package.json
// `files`), so the wire format has one source of truth and no generated code to keep in sync.
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { packageRoot } from '../util/package-root.js';

export interface ValidateReplyWire {
  valid: boolean;
  patId: string;
  agents: string[];
  rpm?: number | null;
  expiresAt?: number | null;
  limitsJson?: string | null;
}

export interface RevocationEventWire {
  seq: number;
  kind: string;
  subject: string;
  patId: string;
  at: number;
}

export interface CreatedSinceReplyWire {
  hashes: string[];
  cursor: number;
}

/** The sync-marker kind of a WatchRevocations message (see auth.proto). */
export const SYNC_KIND = 'sync';

export function protoPath(): string {
  return join(packageRoot(), 'src/auth/proto/auth.proto');
}

let cached: grpc.ServiceClientConstructor | undefined;

/** The generated client constructor; `.service` is the definition for `server.addService`. */
export function authService(): grpc.ServiceClientConstructor {
  if (cached) return cached;
  const definition = protoLoader.loadSync(protoPath(), {
    keepCase: false, // token_hash → tokenHash
    longs: Number, // seqs and epoch ms fit in 2^53
    enums: String,
    defaults: true,
    oneofs: true, // proto3 `optional` presence
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    ibex: { auth: { v1: { Auth: grpc.ServiceClientConstructor } } };
  };
  cached = pkg.ibex.auth.v1.Auth;
  return cached;
}
