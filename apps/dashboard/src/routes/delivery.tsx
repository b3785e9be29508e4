/** Delivery against plan: per line item, delivered vs expected by now, with on track / behind / ahead. */
import { A, useSearchParams } from '@solidjs/router';
import type { JSX } from 'solid-js';
import { createResource, createSignal, For, Show } from 'solid-js';
import { Empty, ErrorBox, Loading, PageHeader, StatusBadge } from '../components/states.tsx';
import { formatInt, formatMoney, formatPercent } from '../lib/money.ts';
import { nameOf } from '../lib/names.ts';
import { type DeliveryStatus, getDelivery, type LineItemDelivery, notAvailable } from '../lib/reports.ts';

const STATUSES: DeliveryStatus[] = ['behind', 'on_track', 'ahead', 'not_started', 'completed'];

function amount(d: LineItemDelivery, v: number | null): string {
  if (v === null) return '—';
  return d.goalKind === 'budget' ? formatMoney(v) : formatInt(v);
}

export default function Delivery(): JSX.Element {
  const [search] = useSearchParams<{ lineItemId?: string }>();
  const [status, setStatus] = createSignal<string>('');
  const [rows, { refetch }] = createResource(() =>
    getDelivery(search.lineItemId ? { lineItemId: search.lineItemId } : {}),
  );
  const shown = (): LineItemDelivery[] => (rows() ?? []).filter((r) => !status() || r.status === status());
  return (
    <section>
      <PageHeader title="Delivery" subtitle="Each line item against its plan, in its own time zone">
        <A class="btn" href="/explain">
          Why didn't my ad serve?
        </A>
      </PageHeader>
      <Show when={!rows.loading} fallback={<Loading />}>
        <Show
          when={!rows.error}
          fallback={
            notAvailable(rows.error) ? (
              <Empty title="Delivery reporting is not available on this server yet">
                Pacing against plan appears here once the reporting API is installed. Meanwhile, the explain view tells
                why a line item does not serve.
              </Empty>
            ) : (
              <ErrorBox error={rows.error} retry={refetch} />
            )
          }
        >
          <div class="mb-3">
            <label for="delivery-status" class="label">
              Status
            </label>
            <select
              id="delivery-status"
              class="input w-auto"
              value={status()}
              onChange={(e) => setStatus(e.currentTarget.value)}
            >
              <option value="">All</option>
              <For each={STATUSES}>{(s) => <option value={s}>{s.replace('_', ' ')}</option>}</For>
            </select>
          </div>
          <Show when={shown().length > 0} fallback={<Empty title="No line items to show" />}>
            <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white">
              <table class="w-full min-w-[720px] text-left text-sm">
                <caption class="sr-only">Delivery per line item</caption>
                <thead class="bg-slate-50 text-xs uppercase text-slate-600">
                  <tr>
                    <th scope="col" class="px-3 py-2">
                      Line item
                    </th>
                    <th scope="col" class="px-3 py-2">
                      Status
                    </th>
                    <th scope="col" class="px-3 py-2">
                      Goal
                    </th>
                    <th scope="col" class="px-3 py-2">
                      Delivered
                    </th>
                    <th scope="col" class="px-3 py-2">
                      Expected by now
                    </th>
                    <th scope="col" class="px-3 py-2">
                      Pace
                    </th>
                    <th scope="col" class="px-3 py-2">
                      Today
                    </th>
                  </tr>
                </thead>
                <tbody>
                  <For each={shown()}>
                    {(d) => {
                      const delivered = d.goalKind === 'budget' ? d.delivered.spendMicros : d.delivered.impressions;
                      const goal = d.basis === 'daily' ? d.dailyGoal : d.lifetimeGoal;
                      const share = goal
                        ? Math.min(
                            1,
                            (d.basis === 'daily'
                              ? d.goalKind === 'budget'
                                ? d.today.spendMicros
                                : d.today.impressions
                              : delivered) / goal,
                          )
                        : 0;
                      return (
                        <tr class="border-t border-slate-100" data-delivery={d.lineItemId}>
                          <td class="px-3 py-2">
                            <A class="font-medium text-indigo-700 hover:underline" href={`/line-items/${d.lineItemId}`}>
                              {d.name}
                            </A>
                            <div class="text-xs text-slate-500">
                              {nameOf('campaigns', d.campaignId)} · {d.pacing}
                            </div>
                          </td>
                          <td class="px-3 py-2">
                            <StatusBadge status={d.status} />
                          </td>
                          <td class="px-3 py-2">
                            {d.goalKind === 'none'
                              ? 'No goal'
                              : `${amount(d, goal)} ${d.basis === 'daily' ? 'a day' : 'lifetime'}`}
                          </td>
                          <td class="px-3 py-2">
                            {amount(d, delivered)}
                            <Show when={goal}>
                              <div
                                class="mt-1 h-1.5 w-28 rounded bg-slate-200"
                                role="progressbar"
                                aria-label="Share of goal delivered"
                                aria-valuemin="0"
                                aria-valuemax="100"
                                aria-valuenow={Math.round(share * 100)}
                              >
                                <div class="h-1.5 rounded bg-indigo-600" style={{ width: `${share * 100}%` }} />
                              </div>
                            </Show>
                          </td>
                          <td class="px-3 py-2">{amount(d, d.expectedByNow)}</td>
                          <td class="px-3 py-2">{d.paceRatio === null ? '—' : formatPercent(d.paceRatio, 0)}</td>
                          <td class="px-3 py-2">
                            {formatInt(d.today.impressions)} imp. · {formatMoney(d.today.spendMicros)}
                          </td>
                        </tr>
                      );
                    }}
                  </For>
                </tbody>
              </table>
            </div>
          </Show>
        </Show>
      </Show>
    </section>
  );
}
