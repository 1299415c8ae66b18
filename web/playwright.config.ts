import { defineConfig } from '@playwright/test';

/**
 * The dashboard's browser suite: a real `weir serve` (the built bundle and dist/web, started once by
 * e2e/global-setup.ts on a fresh data directory) driven through Debian's Chromium. Playwright's own browser
 * download is never used (it cannot work here): the executable is /usr/bin/chromium, or WEIR_CHROMIUM.
 *
 * One worker: the machines this runs on have two cores, and the server under test needs one.
 * Screenshots of each page in both themes are written under test-results/ (not committed).
 */
export default defineConfig({
  testDir: './e2e',
  outputDir: '../test-results/browser',
  globalSetup: './e2e/global-setup.ts',
  workers: 1,
  fullyParallel: false,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [['list'], ['json', { outputFile: '../test-results/browser/results.json' }]],
  use: {
    browserName: 'chromium',
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: process.env.WEIR_CHROMIUM ?? '/usr/bin/chromium',
      // Headless Chromium as root needs --no-sandbox; the rest keep it from calling Google's services, which this
      // machine's closed network refuses.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
      ],
    },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
});
