/**
 * An advertiser's monthly invoice or a publisher's earnings statement as the API returns it: lines, adjustments,
 * payments (payouts) and totals per currency, with links to the printable page and the CSV.
 */
import type { JSX } from 'solid-js';
import { For, Show } from 'solid-js';
import { billingDocumentHref, type Invoice, type LedgerItem, type Statement } from '../lib/api.ts';
import { formatInt, formatMoney } from '../lib/money.ts';
import { Empty } from './states.tsx';

const th = 'py-1 pr-3 font-semibold';
const num = 'py-1 pr-3 text-right tabular-nums';

export function DocumentLinks(props: {
  doc: 'invoices' | 'statements';
  ownerId: string;
  month: string;
  what: string;
}): JSX.Element {
  return (
    <span class="flex flex-wrap gap-2">
      <a
        class="btn"
        href={billingDocumentHref(props.doc, props.ownerId, props.month, 'html')}
        target="_blank"
        rel="noopener"
        aria-label={`Printable ${props.what} (opens in a new tab)`}
      >
        Printable
      </a>
      <a
        class="btn"
        href={billingDocumentHref(props.doc, props.ownerId, props.month, 'csv')}
        download=""
        aria-label={`Download the ${props.what} as CSV`}
      >
        CSV
      </a>
    </span>
  );
}

function LedgerItems(props: { title: string; items: readonly LedgerItem[] }): JSX.Element {
  return (
    <Show when={props.items.length > 0}>
      <h4 class="mt-4 text-sm font-semibold">{props.title}</h4>
      <table class="w-full text-left text-sm">
        <caption class="sr-only">{props.title}</caption>
        <thead class="text-xs uppercase text-slate-600">
          <tr>
            <th scope="col" class={th}>
              Date
            </th>
            <th scope="col" class={th}>
              Note
            </th>
            <th scope="col" class={`${th} text-right`}>
              Amount
            </th>
          </tr>
        </thead>
        <tbody>
          <For each={props.items}>
            {(i) => (
              <tr class="border-t border-slate-100">
                <td class="py-1 pr-3">{i.at.slice(0, 10)}</td>
                <td class="py-1 pr-3">{i.note || '—'}</td>
                <td class={num}>{formatMoney(i.amountMicros, i.currency)}</td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
    </Show>
  );
}

export function InvoiceView(props: { invoice: Invoice }): JSX.Element {
  const inv = (): Invoice => props.invoice;
  return (
    <article class="card" aria-label={`Invoice ${inv().month} for ${inv().advertiserName}`} data-testid="invoice">
      <header class="mb-3 flex flex-wrap items-start justify-between gap-2">
        <div>
          <h3 class="text-lg font-semibold">
            Invoice {inv().month} · {inv().advertiserName}
          </h3>
          <p class="text-sm text-slate-600">
            {inv().from.slice(0, 10)} to {inv().to.slice(0, 10)} ({inv().timeZone}); valid traffic only
          </p>
        </div>
        <DocumentLinks doc="invoices" ownerId={inv().advertiserId} month={inv().month} what="invoice" />
      </header>
      <Show when={inv().lines.length > 0} fallback={<Empty title="No delivery in this month" />}>
        <div class="overflow-x-auto">
          <table class="w-full min-w-[560px] text-left text-sm">
            <caption class="sr-only">Usage by campaign and line item</caption>
            <thead class="text-xs uppercase text-slate-600">
              <tr>
                <th scope="col" class={th}>
                  Campaign
                </th>
                <th scope="col" class={th}>
                  Line item
                </th>
                <th scope="col" class={`${th} text-right`}>
                  Impressions
                </th>
                <th scope="col" class={`${th} text-right`}>
                  Clicks
                </th>
                <th scope="col" class={`${th} text-right`}>
                  Spend
                </th>
              </tr>
            </thead>
            <tbody>
              <For each={inv().lines}>
                {(l) => (
                  <tr class="border-t border-slate-100">
                    <td class="py-1 pr-3">{l.campaignName}</td>
                    <td class="py-1 pr-3">
                      {l.lineItemName} <span class="text-xs text-slate-500">{l.pricingModel.toUpperCase()}</span>
                    </td>
                    <td class={num}>{formatInt(l.impressions)}</td>
                    <td class={num}>{formatInt(l.clicks)}</td>
                    <td class={num}>{formatMoney(l.spendMicros, l.currency)}</td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
      </Show>
      <LedgerItems title="Adjustments" items={inv().adjustments} />
      <LedgerItems title="Payments received" items={inv().payments} />
      <Totals
        rows={inv().totals.map((t) => [
          t.currency,
          [
            ['Spend', t.spendMicros],
            ['Adjustments', t.adjustmentsMicros],
            ['Total for the month', t.totalMicros],
            ['Payments received', t.paymentsMicros],
          ],
        ])}
      />
    </article>
  );
}

export function StatementView(props: { statement: Statement }): JSX.Element {
  const st = (): Statement => props.statement;
  return (
    <article class="card" aria-label={`Statement ${st().month} for ${st().publisherName}`} data-testid="statement">
      <header class="mb-3 flex flex-wrap items-start justify-between gap-2">
        <div>
          <h3 class="text-lg font-semibold">
            Earnings statement {st().month} · {st().publisherName}
          </h3>
          <p class="text-sm text-slate-600">
            {st().from.slice(0, 10)} to {st().to.slice(0, 10)} ({st().timeZone}); revenue share of valid traffic
          </p>
        </div>
        <DocumentLinks doc="statements" ownerId={st().publisherId} month={st().month} what="statement" />
      </header>
      <Show when={st().lines.length > 0} fallback={<Empty title="No earnings in this month" />}>
        <div class="overflow-x-auto">
          <table class="w-full min-w-[560px] text-left text-sm">
            <caption class="sr-only">Earnings by site and placement</caption>
            <thead class="text-xs uppercase text-slate-600">
              <tr>
                <th scope="col" class={th}>
                  Site
                </th>
                <th scope="col" class={th}>
                  Placement
                </th>
                <th scope="col" class={`${th} text-right`}>
                  Impressions
                </th>
                <th scope="col" class={`${th} text-right`}>
                  Clicks
                </th>
                <th scope="col" class={`${th} text-right`}>
                  Earnings
                </th>
              </tr>
            </thead>
            <tbody>
              <For each={st().lines}>
                {(l) => (
                  <tr class="border-t border-slate-100">
                    <td class="py-1 pr-3">{l.siteName}</td>
                    <td class="py-1 pr-3">{l.placementName}</td>
                    <td class={num}>{formatInt(l.impressions)}</td>
                    <td class={num}>{formatInt(l.clicks)}</td>
                    <td class={num}>{formatMoney(l.revenueMicros, l.currency)}</td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
      </Show>
      <LedgerItems title="Adjustments" items={st().adjustments} />
      <LedgerItems title="Payouts" items={st().payouts} />
      <Totals
        rows={st().totals.map((t) => [
          t.currency,
          [
            ['Earnings', t.revenueMicros],
            ['Adjustments', t.adjustmentsMicros],
            ['Total for the month', t.totalMicros],
            ['Paid out', t.payoutsMicros],
          ],
        ])}
      />
    </article>
  );
}

function Totals(props: { rows: [string, [string, number][]][] }): JSX.Element {
  return (
    <For each={props.rows}>
      {([currency, items]) => (
        <dl class="mt-4 grid max-w-sm grid-cols-2 gap-x-4 gap-y-1 border-t-2 border-slate-300 pt-2 text-sm">
          <For each={items}>
            {([label, micros]) => (
              <>
                <dt class={label.startsWith('Total') ? 'font-semibold' : ''}>{label}</dt>
                <dd class={`text-right tabular-nums ${label.startsWith('Total') ? 'font-semibold' : ''}`}>
                  {formatMoney(micros, currency)}
                </dd>
              </>
            )}
          </For>
        </dl>
      )}
    </For>
  );
}
