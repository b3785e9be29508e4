/** Today's and the last 7 days' key figures, a daily chart and the top line items with their delivery status. */
import { A } from '@solidjs/router';
import type { JSX } from 'solid-js';
import { createResource, For, Show } from 'solid-js';
import { Chart } from '../components/chart.tsx';
import { Empty, ErrorBox, Loading, PageHeader, StatusBadge } from '../components/states.tsx';
import { type EntityPlural, listEntities } from '../lib/api.ts';
import {
  type Cell,
  daysAgo,
  dimensionText,
  formatCell,
  getDelivery,
  HIDDEN,
  isoDay,
  type Measure,
  MONEY_MEASURES as MONEY,
  notAvailable,
  RATIO_MEASURES as RATIO,
  type Report,
  runReport,
} from '../lib/reports.ts';
import { user } from '../lib/session.ts';

const KEY_MEASURES: Measure[] = ['impressions', 'clicks', 'ctr', 'spend', 'revenue', 'fill_rate'];
const LABELS: Record<string, string> = {
  impressions: 'Impressions',
  clicks: 'Clicks',
  ctr: 'CTR',
  spend: 'Spend',
  revenue: 'Revenue',
  fill_rate: 'Fill rate',
};

export function visibleMeasures(measures: readonly Measure[]): Measure[] {
  const role = user()?.role;
  const hidden = role === 'advertiser' || role === 'publisher' ? HIDDEN[role].measures : [];
  return measures.filter((m) => !hidden.includes(m));
}

interface OverviewData {
  readonly daily: Report;
  readonly today: string;
  readonly top: Report | null;
}

async function loadOverview(): Promise<OverviewData> {
  const today = isoDay(new Date());
  const measures = visibleMeasures(KEY_MEASURES);
  const daily = await runReport({ measures, dimensions: ['day'], from: daysAgo(6), to: today, sort: 'day' });
  const top =
    user()?.role === 'publisher'
      ? null
      : await runReport({
          measures: visibleMeasures(['impressions', 'clicks', 'spend']),
          dimensions: ['line_item'],
          from: daysAgo(6),
          to: today,
          sort: '-impressions',
          limit: 5,
        });
  return { daily, today, top };
}

export default function Overview(): JSX.Element {
  const [data, { refetch }] = createResource(loadOverview);
  const [delivery] = createResource(() => (user()?.role === 'publisher' ? [] : getDelivery().catch(() => [])));
  const status = (id: string): string | undefined => delivery()?.find((d) => d.lineItemId === id)?.status;
  const measures = (): Measure[] => visibleMeasures(KEY_MEASURES);
  const todayRow = (): Record<string, Cell> | undefined => data()?.daily.rows.find((r) => r.day === data()?.today);
  // No row for today means no traffic today: counts and money are zero, rates undefined.
  const todayValue = (m: Measure): string =>
    todayRow()
      ? formatCell(m, todayRow())
      : formatCell(m, { [m]: RATIO.includes(m) ? null : 0, ...(MONEY.includes(m) ? { [`${m}_micros`]: 0 } : {}) });

  return (
    <section>
      <PageHeader title="Overview" subtitle="Today and the last 7 days" />
      <Show when={!data.loading || data.latest} fallback={<Loading label="Loading figures…" />}>
        <Show
          when={!data.error}
          fallback={notAvailable(data.error) ? <NoReporting /> : <ErrorBox error={data.error} retry={refetch} />}
        >
          <div class="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6">
            <For each={measures()}>
              {(m) => (
                <div class="card" data-figure={m}>
                  <p class="text-xs font-medium uppercase text-slate-500">{LABELS[m]}</p>
                  <p class="mt-1 text-2xl font-semibold">{todayValue(m)}</p>
                  <p class="text-xs text-slate-600">7 days: {formatCell(m, data()?.daily.totals)}</p>
                </div>
              )}
            </For>
          </div>
          <div class="card mt-4">
            <h2 class="mb-2 text-base font-semibold">Impressions and clicks per day</h2>
            <Show
              when={(data()?.daily.rows.length ?? 0) > 0}
              fallback={
                <Empty title="No traffic in the last 7 days">
                  Ads served through the tag or the decision API show up here.
                </Empty>
              }
            >
              <Chart
                label="Impressions and clicks per day, last 7 days"
                option={{
                  tooltip: { trigger: 'axis' },
                  legend: { data: ['Impressions', 'Clicks'] },
                  grid: { left: 48, right: 48, top: 32, bottom: 24 },
                  xAxis: { type: 'category', data: data()!.daily.rows.map((r) => String(r.day)) },
                  yAxis: [{ type: 'value' }, { type: 'value' }],
                  series: [
                    {
                      name: 'Impressions',
                      type: 'bar',
                      data: data()!.daily.rows.map((r) => Number(r.impressions ?? 0)),
                    },
                    {
                      name: 'Clicks',
                      type: 'line',
                      yAxisIndex: 1,
                      data: data()!.daily.rows.map((r) => Number(r.clicks ?? 0)),
                    },
                  ],
                }}
              />
            </Show>
          </div>
          <Show when={data()?.top}>
            <div class="card mt-4 overflow-x-auto">
              <h2 class="mb-2 text-base font-semibold">Top line items (7 days)</h2>
              <Show when={data()!.top!.rows.length > 0} fallback={<Empty title="No delivery yet" />}>
                <table class="w-full text-left text-sm">
                  <caption class="sr-only">Top line items by impressions</caption>
                  <thead class="text-xs uppercase text-slate-600">
                    <tr>
                      <th scope="col" class="py-1">
                        Line item
                      </th>
                      <th scope="col">Impressions</th>
                      <th scope="col">Clicks</th>
                      <Show when={measures().includes('spend')}>
                        <th scope="col">Spend</th>
                      </Show>
                      <th scope="col">Delivery</th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={data()!.top!.rows}>
                      {(r) => (
                        <tr class="border-t border-slate-100">
                          <td class="py-1.5">
                            <Show
                              when={r.line_item}
                              fallback={<span class="italic text-slate-500">{dimensionText('line_item', r)}</span>}
                            >
                              <A class="text-indigo-700 hover:underline" href={`/line-items/${r.line_item}`}>
                                {dimensionText('line_item', r)}
                              </A>
                            </Show>
                          </td>
                          <td>{formatCell('impressions', r)}</td>
                          <td>{formatCell('clicks', r)}</td>
                          <Show when={measures().includes('spend')}>
                            <td>{formatCell('spend', r)}</td>
                          </Show>
                          <td>
                            <Show when={status(String(r.line_item))} fallback="—">
                              <StatusBadge status={status(String(r.line_item))!} />
                            </Show>
                          </td>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
              </Show>
            </div>
          </Show>
        </Show>
      </Show>
    </section>
  );
}

/** Without the reporting API: what exists (counts of the user's own rows) and an honest note. */
function NoReporting(): JSX.Element {
  const kinds: { plural: EntityPlural; label: string; side: 'demand' | 'supply' }[] = [
    { plural: 'advertisers', label: 'Advertisers', side: 'demand' },
    { plural: 'campaigns', label: 'Campaigns', side: 'demand' },
    { plural: 'line-items', label: 'Line items', side: 'demand' },
    { plural: 'creatives', label: 'Creatives', side: 'demand' },
    { plural: 'publishers', label: 'Publishers', side: 'supply' },
    { plural: 'sites', label: 'Sites & apps', side: 'supply' },
    { plural: 'placements', label: 'Placements', side: 'supply' },
  ];
  const role = user()?.role;
  const shown = kinds.filter((k) =>
    role === 'advertiser' ? k.side === 'demand' : role === 'publisher' ? k.side === 'supply' : true,
  );
  const [counts] = createResource(() =>
    Promise.all(
      shown.map((k) =>
        listEntities(k.plural, { limit: 1 }).then(
          (p) => p.total,
          () => null,
        ),
      ),
    ),
  );
  return (
    <div class="space-y-4">
      <Empty title="Reporting is not available on this server yet">
        Impressions, clicks, spend and revenue appear here once the reporting API is installed. Nothing below is an
        estimate.
      </Empty>
      <div class="grid grid-cols-2 gap-3 md:grid-cols-4">
        <For each={shown}>
          {(k, i) => (
            <A href={`/${k.plural}`} class="card hover:border-indigo-300">
              <p class="text-xs font-medium uppercase text-slate-500">{k.label}</p>
              <p class="mt-1 text-2xl font-semibold">{counts()?.[i()] ?? '…'}</p>
            </A>
          )}
        </For>
      </div>
    </div>
  );
}
