// browser.mjs: Debian's Chromium through playwright-core (no browser
// download: `npx playwright install` cannot reach the network here).
//
// Missing pieces are errors, never skips: a test run without a browser
// must not look like a passing one.

import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const CHROMIUM = process.env.WEIR_CHROMIUM || '/usr/bin/chromium';

// Flags: --no-sandbox because the tests run as root; the rest keep Chromium
// from phoning home or doing background work (docs: ENVIRONMENT.md).
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic', '--disable-extensions',
  '--disable-default-apps', '--mute-audio', '--no-default-browser-check', '--disable-dev-shm-usage',
];

export async function loadPlaywright() {
  const mod = path.join(here, '..', 'node_modules', 'playwright-core');
  if (!fs.existsSync(mod)) {
    throw new Error(`playwright-core is not installed in ${path.dirname(mod)}: run scripts/install-deps.sh (it runs npm install in tests/ui)`);
  }
  return import(path.join(mod, 'index.mjs'));
}

export async function launch() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (scripts/install-deps.sh)`);
  }
  const {chromium} = await loadPlaywright();
  // playwright-core gives every launch a fresh temporary profile
  // (--user-data-dir) and removes it on close.
  return chromium.launch({executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 120000});
}
