/// <reference lib="dom" />
/**
 * The demo publisher page in a real browser: the web tag asks for every placement in one request, renders
 * ads in sandboxed iframes, fires the impression on render and the viewable impression after one second
 * in view, and clicks go through Marquee's signed redirect. Saves a screenshot (not committed).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium } from '../src/testing/chromium.ts';
import { type MarqueeProcess, startMarquee } from '../src/testing/marquee-process.ts';

const SCREENSHOTS = join(import.meta.dirname, 'screenshots');

describe.skipIf(!hasChromium)('demo page in Chromium', () => {
  let marquee: MarqueeProcess;
  let browser: BrowserContext;

  beforeAll(async () => {
    marquee = await startMarquee();
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    expect(await marquee?.stop()).toBe(0);
  });

  it('shows served ads, counts impressions and viewability, sends clicks through the signed redirect', async () => {
    const page = await browser.newPage();
    const decisionRequests: string[] = [];
    const beacons: string[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/v1/decisions')) decisionRequests.push(r.postData() ?? '');
    });
    // Beacons leave from the page's context; sendBeacon requests are visible to the context.
    browser.on('request', (r) => {
      if (r.url().includes('/t/')) beacons.push(r.url());
    });
    // Landing pages are outside this machine's network: answer them locally.
    await browser.route(/^https?:\/\/(?!127\.0\.0\.1)/, (route) =>
      route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>landing</h1>' }),
    );

    await page.goto(`${marquee.url}/demo`);
    const slots = page.locator('[data-marquee-placement]');
    const total = await slots.count();
    expect(total).toBeGreaterThanOrEqual(4);
    await page.waitForFunction(
      () =>
        document.querySelectorAll('[data-marquee-state="loading"]').length === 0 &&
        document.querySelectorAll('[data-marquee-state]').length > 0,
      undefined,
      { timeout: 30_000 },
    );
    expect(decisionRequests).toHaveLength(1); // every placement in one request
    const rendered = await page.locator('[data-marquee-state="rendered"], [data-marquee-state="viewable"]').count();
    expect(rendered).toBeGreaterThanOrEqual(2);

    // Each ad lives in a sandboxed iframe that cannot reach the publisher's page.
    const sandboxes = await page
      .locator('[data-marquee-placement] iframe')
      .evaluateAll((fs) => fs.map((f) => f.getAttribute('sandbox')));
    expect(sandboxes.length).toBeGreaterThanOrEqual(2);
    for (const s of sandboxes) {
      expect(s).toContain('allow-scripts');
      expect(s).not.toContain('allow-same-origin');
    }

    // The first slot is in view: after one second at 50% it turns viewable and the beacon leaves.
    await page.waitForSelector('[data-marquee-state="viewable"]', { timeout: 10_000 });
    expect(beacons.some((u) => u.includes('/t/impression/'))).toBe(true);
    expect(beacons.some((u) => u.includes('/t/viewable/'))).toBe(true);

    // First-party storage only: a user key in localStorage, no cookies.
    const storage = await page.evaluate(() => ({ key: localStorage.getItem('marquee_uid'), cookie: document.cookie }));
    expect(storage.key).toMatch(/^u_/);
    expect(storage.cookie).toBe('');

    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'demo-page.png'), fullPage: true });

    // A click on an image ad opens the signed click URL (which redirects to the landing page).
    const imageFrame = page.frameLocator('[data-marquee-placement] iframe').first();
    const popupPromise = browser.waitForEvent('page', { timeout: 10_000 });
    await imageFrame.locator('a').first().click();
    const popup = await popupPromise;
    await popup.waitForLoadState('domcontentloaded').catch(() => undefined);
    expect(beacons.some((u) => u.includes('/t/click/'))).toBe(true);
  }, 120_000);
});
