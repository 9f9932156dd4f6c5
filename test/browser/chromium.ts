// Debian's Chromium, driven by playwright-core (no browser download: the network is closed here).
// Locally a missing browser skips the browser tests with a message; on CI (CI=true) it fails them.
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.IBEX_CHROMIUM ?? '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM_PATH);
export const ON_CI = process.env.CI === 'true' || process.env.CI === '1';

/** Why the browser tests do not run here, or null when they do (on CI they always run, and fail without a browser). */
export function skipReason(): string | null {
  if (HAVE_CHROMIUM || ON_CI) return null;
  return `browser tests skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set IBEX_CHROMIUM)`;
}

export async function launchChromium(): Promise<Browser> {
  if (!HAVE_CHROMIUM) throw new Error(`no Chromium at ${CHROMIUM_PATH}: CI needs it (.ci/run installs it with apt-get install chromium)`);
  // playwright starts every launch on a fresh temporary --user-data-dir of its own (it refuses the
  // flag in args); the rest keeps a closed-network machine from waiting on Google services.
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    timeout: 60_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/** Where screenshots go: $IBEX_SCREENSHOTS, else a new folder under the OS temp dir. */
export function screenshotDir(): string {
  const dir = process.env.IBEX_SCREENSHOTS;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    return dir;
  }
  return mkdtempSync(join(tmpdir(), 'ibex-dashboard-screens-'));
}
