/**
 * VAST 4.2 documents for video placements. Element order follows the IAB schema's xs:sequence
 * (vast_4.2.xsd), which validators enforce: in InLine, AdSystem, Error, Impression, AdServingId, AdTitle,
 * Advertiser, Category, Creatives; in Creative, Linear before UniversalAdId.
 */
export interface VastAd {
  /** The decision id: also the AdServingId, which VAST 4.1+ requires to be unique per served ad. */
  readonly decisionId: string;
  readonly creativeId: string;
  readonly title: string;
  readonly advertiser: string;
  readonly categories: readonly string[];
  readonly durationSec: number;
  readonly media: {
    readonly url: string;
    readonly mimeType: string;
    readonly width: number;
    readonly height: number;
    readonly bitrateKbps?: number | undefined;
  };
  readonly impressionUrl: string;
  readonly errorUrl?: string | undefined;
  /** Signed click redirect: the player opens it, Marquee counts the click and redirects to the landing page. */
  readonly clickThroughUrl?: string | undefined;
  /** VAST tracking event name (start, firstQuartile, midpoint, thirdQuartile, complete, ...) to URL. */
  readonly tracking: Readonly<Record<string, string>>;
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

/** URLs go in CDATA, as the IAB samples do; "]]>" cannot occur in our URLs but is split defensively. */
function cdata(s: string): string {
  return `<![CDATA[${s.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
}

function duration(sec: number): string {
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = Math.floor(sec % 60);
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

const VAST_OPEN = '<?xml version="1.0" encoding="UTF-8"?>\n<VAST version="4.2" xmlns="http://www.iab.com/VAST">';

export function buildVast(ad: VastAd): string {
  const lines: string[] = [
    VAST_OPEN,
    `<Ad id="${escapeXml(ad.decisionId)}">`,
    '<InLine>',
    '<AdSystem version="1">Marquee</AdSystem>',
  ];
  if (ad.errorUrl) lines.push(`<Error>${cdata(ad.errorUrl)}</Error>`);
  lines.push(
    `<Impression id="marquee">${cdata(ad.impressionUrl)}</Impression>`,
    `<AdServingId>${escapeXml(ad.decisionId)}</AdServingId>`,
    `<AdTitle>${escapeXml(ad.title)}</AdTitle>`,
    `<Advertiser>${escapeXml(ad.advertiser)}</Advertiser>`,
  );
  for (const c of ad.categories) {
    lines.push(`<Category authority="https://iabtechlab.com/standards/content-taxonomy">${escapeXml(c)}</Category>`);
  }
  lines.push(
    '<Creatives>',
    `<Creative id="${escapeXml(ad.creativeId)}" sequence="1" adId="${escapeXml(ad.creativeId)}">`,
    '<Linear>',
  );
  const events = Object.entries(ad.tracking);
  if (events.length > 0) {
    lines.push('<TrackingEvents>');
    for (const [event, url] of events) lines.push(`<Tracking event="${escapeXml(event)}">${cdata(url)}</Tracking>`);
    lines.push('</TrackingEvents>');
  }
  const m = ad.media;
  const bitrate = m.bitrateKbps ? ` bitrate="${m.bitrateKbps}"` : '';
  lines.push(
    `<Duration>${duration(ad.durationSec)}</Duration>`,
    '<MediaFiles>',
    `<MediaFile delivery="progressive" type="${escapeXml(m.mimeType)}" width="${m.width}" height="${m.height}"${bitrate}>${cdata(m.url)}</MediaFile>`,
    '</MediaFiles>',
  );
  if (ad.clickThroughUrl) {
    lines.push(
      '<VideoClicks>',
      `<ClickThrough id="marquee">${cdata(ad.clickThroughUrl)}</ClickThrough>`,
      '</VideoClicks>',
    );
  }
  lines.push(
    '</Linear>',
    `<UniversalAdId idRegistry="marquee">${escapeXml(ad.creativeId)}</UniversalAdId>`,
    '</Creative>',
    '</Creatives>',
    '</InLine>',
    '</Ad>',
    '</VAST>',
  );
  return lines.join('\n');
}

/** No ad: an empty VAST document (players treat it as no-fill), optionally with an Error URL. */
export function buildEmptyVast(errorUrl?: string): string {
  return errorUrl ? `${VAST_OPEN}\n<Error>${cdata(errorUrl)}</Error>\n</VAST>` : `${VAST_OPEN}\n</VAST>`;
}
