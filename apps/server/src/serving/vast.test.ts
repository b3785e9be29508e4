import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VASTParser } from '@dailymotion/vast-client';
import { DOMParser } from '@xmldom/xmldom';
import { describe, expect, it } from 'vitest';
import { buildEmptyVast, buildVast, type VastAd } from './vast.ts';

const XSD = join(import.meta.dirname, '../../../../../shared/data/vast/xsd/vast_4.2.xsd');
const hasXmllint = (() => {
  try {
    execFileSync('xmllint', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const ad: VastAd = {
  decisionId: 'dc_01abc',
  creativeId: 'cr_01xyz',
  title: 'Fly <cheap> & far',
  advertiser: 'Skyway "Air"',
  categories: ['IAB20'],
  durationSec: 15,
  media: {
    url: 'https://cdn.example/a.mp4?w=640&h=360',
    mimeType: 'video/mp4',
    width: 640,
    height: 360,
    bitrateKbps: 800,
  },
  impressionUrl: 'http://localhost:8080/t/impression/k1.abc.def',
  errorUrl: 'http://localhost:8080/t/error/k1.abc.def',
  clickThroughUrl: 'http://localhost:8080/t/click/k1.abc.ghi',
  tracking: {
    start: 'http://localhost:8080/t/custom/k1.s.1',
    firstQuartile: 'http://localhost:8080/t/custom/k1.q1.1',
    midpoint: 'http://localhost:8080/t/custom/k1.m.1',
    thirdQuartile: 'http://localhost:8080/t/custom/k1.q3.1',
    complete: 'http://localhost:8080/t/custom/k1.c.1',
  },
};

function validate(xml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vast-'));
  const file = join(dir, 'ad.xml');
  writeFileSync(file, xml);
  return execFileSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8', stdio: 'pipe' });
}

describe('VAST 4.2', () => {
  it.skipIf(!hasXmllint || !existsSync(XSD))('validates against the IAB schema (xmllint)', () => {
    expect(() => validate(buildVast(ad))).not.toThrow();
    expect(() => validate(buildEmptyVast())).not.toThrow();
    expect(() => validate(buildEmptyVast('http://localhost:8080/t/error/x'))).not.toThrow();
    expect(() =>
      validate(buildVast({ ...ad, errorUrl: undefined, clickThroughUrl: undefined, tracking: {} })),
    ).not.toThrow();
  });

  it('parses in a real VAST client with impression, tracking and click URLs intact', async () => {
    const doc = new DOMParser().parseFromString(buildVast(ad), 'text/xml');
    const parsed = await new VASTParser().parseVAST(doc as unknown as Parameters<VASTParser['parseVAST']>[0]);
    expect(parsed.ads).toHaveLength(1);
    const [parsedAd] = parsed.ads;
    expect(parsedAd!.impressionURLTemplates.map((t: { url: string }) => t.url)).toEqual([ad.impressionUrl]);
    expect(parsedAd!.title).toBe(ad.title);
    const linear = parsedAd!.creatives.find((c: { type: string }) => c.type === 'linear') as unknown as {
      duration: number;
      mediaFiles: { fileURL: string; mimeType: string; width: number }[];
      videoClickThroughURLTemplate: { url: string };
      trackingEvents: Record<string, string[]>;
    };
    expect(linear.duration).toBe(15);
    expect(linear.mediaFiles[0]).toMatchObject({ fileURL: ad.media.url, mimeType: 'video/mp4', width: 640 });
    expect(linear.videoClickThroughURLTemplate.url).toBe(ad.clickThroughUrl);
    for (const [event, url] of Object.entries(ad.tracking)) expect(linear.trackingEvents[event]).toEqual([url]);
    expect(parsedAd!.errorURLTemplates).toEqual([ad.errorUrl]);
  });

  it('escapes text so markup in names cannot break the document', () => {
    const xml = buildVast({ ...ad, title: '</AdTitle><Evil/>' });
    expect(xml).not.toContain('<Evil/>');
    expect(xml).toContain('&lt;/AdTitle&gt;&lt;Evil/&gt;');
  });
});
