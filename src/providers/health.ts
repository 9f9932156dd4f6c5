// Per-replica, in-memory health of a provider: what `ibex providers` and GET /admin/v1/providers show.
// Error messages are kept short and pass through the log redaction, so no secret is ever shown.
import { redact } from '../log.js';

export interface HealthSnapshot {
  requests: number;
  errors: number;
  lastSuccessAt: number | null;
  lastError: { at: number; status: number | null; message: string } | null;
}

export class ProviderHealth {
  private requests = 0;
  private errors = 0;
  private lastSuccessAt: number | null = null;
  private lastError: HealthSnapshot['lastError'] = null;

  success(): void {
    this.requests++;
    this.lastSuccessAt = Date.now();
  }

  failure(status: number | null, message: string): void {
    this.requests++;
    this.errors++;
    this.lastError = { at: Date.now(), status, message: redact(message).slice(0, 200) };
  }

  snapshot(): HealthSnapshot {
    return { requests: this.requests, errors: this.errors, lastSuccessAt: this.lastSuccessAt, lastError: this.lastError };
  }
}
