/**
 * Invoices and statements as a printable HTML page and as CSV. The page has no script and one inline
 * style allowed by its hash (STYLE_CSP), so it renders under a strict Content-Security-Policy.
 */
import { createHash } from 'node:crypto';
import { formatMicros } from '@marquee/core';
import { csvCell } from '@marquee/reporting';
import type { Invoice, LedgerItem, Statement } from './billing-documents.ts';

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#111}
h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.05rem;margin:1.5rem 0 .5rem}
table{border-collapse:collapse;width:100%}th,td{padding:.3rem .5rem;border-bottom:1px solid #ddd;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}tfoot td{font-weight:600;border-top:2px solid #111}
.meta{color:#555}@media print{body{margin:0}}`;

/** CSP of the printable pages: nothing but this exact stylesheet. */
export const STYLE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`;

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const money = (micros: number, currency: string) => `${formatMicros(micros, 2)} ${currency}`;
const int = (n: number) => n.toLocaleString('en-US');

interface Column {
  readonly label: string;
  readonly numeric?: boolean;
}

function table(columns: readonly Column[], rows: readonly string[][], foot: readonly string[][] = []): string {
  const th = columns.map((c) => `<th${c.numeric ? ' class="n"' : ''}>${esc(c.label)}</th>`).join('');
  const tr = (r: readonly string[]) =>
    `<tr>${r.map((v, i) => `<td${columns[i]?.numeric ? ' class="n"' : ''}>${esc(v)}</td>`).join('')}</tr>`;
  return `<table><thead><tr>${th}</tr></thead><tbody>${rows.map(tr).join('')}</tbody>${
    foot.length ? `<tfoot>${foot.map(tr).join('')}</tfoot>` : ''
  }</table>`;
}

function page(title: string, meta: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${STYLE}</style></head><body><h1>${esc(
    title,
  )}</h1><p class="meta">${esc(meta)}</p>${body}</body></html>`;
}

function ledgerTable(heading: string, items: readonly LedgerItem[], noteLabel: string): string {
  if (items.length === 0) return '';
  return `<h2>${esc(heading)}</h2>${table(
    [{ label: 'Date' }, { label: noteLabel }, { label: 'Amount', numeric: true }],
    items.map((a) => [a.at.slice(0, 10), a.note, money(a.amountMicros, a.currency)]),
  )}`;
}

export function invoiceHtml(inv: Invoice): string {
  const lines = table(
    [
      { label: 'Campaign' },
      { label: 'Line item' },
      { label: 'Pricing' },
      { label: 'Impressions', numeric: true },
      { label: 'Clicks', numeric: true },
      { label: 'Conversions', numeric: true },
      { label: 'Spend', numeric: true },
    ],
    inv.lines.map((l) => [
      l.campaignName || l.campaignId,
      l.lineItemName || l.lineItemId,
      l.pricingModel.toUpperCase(),
      int(l.impressions),
      int(l.clicks),
      int(l.conversions),
      money(l.spendMicros, l.currency),
    ]),
    inv.totals.map((t) => [
      'Usage',
      '',
      '',
      int(t.impressions),
      int(t.clicks),
      int(t.conversions),
      money(t.spendMicros, t.currency),
    ]),
  );
  const totals = table(
    [
      { label: 'Currency' },
      { label: 'Usage', numeric: true },
      { label: 'Adjustments', numeric: true },
      { label: 'Total', numeric: true },
      { label: 'Payments received', numeric: true },
    ],
    inv.totals.map((t) => [
      t.currency,
      money(t.spendMicros, t.currency),
      money(t.adjustmentsMicros, t.currency),
      money(t.totalMicros, t.currency),
      money(t.paymentsMicros, t.currency),
    ]),
  );
  return page(
    `Invoice ${inv.month}: ${inv.advertiserName}`,
    `Advertiser ${inv.advertiserId} · ${inv.from} to ${inv.to} (${inv.timeZone}) · valid events only`,
    `<h2>Usage</h2>${lines}${ledgerTable('Adjustments', inv.adjustments, 'Reason')}${ledgerTable(
      'Payments',
      inv.payments,
      'Reference',
    )}<h2>Total</h2>${totals}`,
  );
}

export function statementHtml(st: Statement): string {
  const lines = table(
    [
      { label: 'Site' },
      { label: 'Placement' },
      { label: 'Impressions', numeric: true },
      { label: 'Clicks', numeric: true },
      { label: 'Earnings', numeric: true },
    ],
    st.lines.map((l) => [
      l.siteName || l.siteId,
      l.placementName || l.placementId,
      int(l.impressions),
      int(l.clicks),
      money(l.revenueMicros, l.currency),
    ]),
    st.totals.map((t) => ['Earnings', '', int(t.impressions), int(t.clicks), money(t.revenueMicros, t.currency)]),
  );
  const totals = table(
    [
      { label: 'Currency' },
      { label: 'Earnings', numeric: true },
      { label: 'Adjustments', numeric: true },
      { label: 'Total', numeric: true },
      { label: 'Paid out', numeric: true },
    ],
    st.totals.map((t) => [
      t.currency,
      money(t.revenueMicros, t.currency),
      money(t.adjustmentsMicros, t.currency),
      money(t.totalMicros, t.currency),
      money(t.payoutsMicros, t.currency),
    ]),
  );
  return page(
    `Earnings statement ${st.month}: ${st.publisherName}`,
    `Publisher ${st.publisherId} · ${st.from} to ${st.to} (${st.timeZone}) · valid events only`,
    `<h2>Earnings</h2>${lines}${ledgerTable('Adjustments', st.adjustments, 'Reason')}${ledgerTable(
      'Payouts',
      st.payouts,
      'Reference',
    )}<h2>Total</h2>${totals}`,
  );
}

const csv = (rows: readonly (readonly (string | number | null)[])[]) =>
  `${rows.map((r) => r.map((c) => csvCell(c)).join(',')).join('\r\n')}\r\n`;

/** One row per usage line, adjustment, payment and currency total (`type` tells which). */
export function invoiceCsv(inv: Invoice): string {
  const rows: (string | number | null)[][] = [
    [
      'type',
      'campaign_id',
      'campaign',
      'line_item_id',
      'line_item',
      'pricing',
      'currency',
      'impressions',
      'clicks',
      'conversions',
      'amount_micros',
      'amount',
      'note',
    ],
  ];
  for (const l of inv.lines) {
    rows.push([
      'usage',
      l.campaignId,
      l.campaignName,
      l.lineItemId,
      l.lineItemName,
      l.pricingModel,
      l.currency,
      l.impressions,
      l.clicks,
      l.conversions,
      l.spendMicros,
      formatMicros(l.spendMicros),
      '',
    ]);
  }
  for (const a of inv.adjustments)
    rows.push([
      'adjustment',
      '',
      '',
      '',
      '',
      '',
      a.currency,
      null,
      null,
      null,
      a.amountMicros,
      formatMicros(a.amountMicros),
      a.note,
    ]);
  for (const p of inv.payments)
    rows.push([
      'payment',
      '',
      '',
      '',
      '',
      '',
      p.currency,
      null,
      null,
      null,
      p.amountMicros,
      formatMicros(p.amountMicros),
      p.note,
    ]);
  for (const t of inv.totals) {
    rows.push([
      'total',
      '',
      '',
      '',
      '',
      '',
      t.currency,
      t.impressions,
      t.clicks,
      t.conversions,
      t.totalMicros,
      formatMicros(t.totalMicros),
      `usage ${formatMicros(t.spendMicros)}, adjustments ${formatMicros(t.adjustmentsMicros)}`,
    ]);
  }
  return csv(rows);
}

export function statementCsv(st: Statement): string {
  const rows: (string | number | null)[][] = [
    [
      'type',
      'site_id',
      'site',
      'placement_id',
      'placement',
      'currency',
      'impressions',
      'clicks',
      'amount_micros',
      'amount',
      'note',
    ],
  ];
  for (const l of st.lines) {
    rows.push([
      'earnings',
      l.siteId,
      l.siteName,
      l.placementId,
      l.placementName,
      l.currency,
      l.impressions,
      l.clicks,
      l.revenueMicros,
      formatMicros(l.revenueMicros),
      '',
    ]);
  }
  for (const a of st.adjustments)
    rows.push([
      'adjustment',
      '',
      '',
      '',
      '',
      a.currency,
      null,
      null,
      a.amountMicros,
      formatMicros(a.amountMicros),
      a.note,
    ]);
  for (const p of st.payouts)
    rows.push(['payout', '', '', '', '', p.currency, null, null, p.amountMicros, formatMicros(p.amountMicros), p.note]);
  for (const t of st.totals) {
    rows.push([
      'total',
      '',
      '',
      '',
      '',
      t.currency,
      t.impressions,
      t.clicks,
      t.totalMicros,
      formatMicros(t.totalMicros),
      `earnings ${formatMicros(t.revenueMicros)}, adjustments ${formatMicros(t.adjustmentsMicros)}`,
    ]);
  }
  return csv(rows);
}
