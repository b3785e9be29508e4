/** "Why didn't my ad serve?": asks the decision engine about a placement and shows each line item's reason. */
import { A, useSearchParams } from '@solidjs/router';
import type { JSX } from 'solid-js';
import { createSignal, For, Show } from 'solid-js';
import { Field } from '../components/field.tsx';
import { Empty, ErrorBox, PageHeader, StatusBadge } from '../components/states.tsx';
import { type ExplainResult, explain } from '../lib/api.ts';
import { formatMoney } from '../lib/money.ts';
import { nameOf } from '../lib/names.ts';

/** The decision engine's reason codes (packages/decision/src/reasons.ts) in words. */
export const REASONS: Record<string, string> = {
  won: 'Won: this line item serves here',
  status: 'Not active (the line item, its campaign or its advertiser)',
  no_active_creative: 'No assigned creative is both active and approved',
  flight: 'Outside its flight dates (line item or campaign)',
  day_parting: 'Outside its day-parting windows (in its time zone)',
  targeting: 'Its targeting does not match this request',
  blocked_advertiser: 'The publisher blocks this advertiser',
  currency_mismatch: 'Priced in another currency than the placement',
  no_fitting_creative: "No creative fits the placement's formats and sizes",
  blocked_category: 'Every fitting creative has a category the publisher blocks',
  below_floor: "Its eCPM is below the placement's floor",
  frequency_cap: 'This user reached one of its frequency caps',
  pacing: 'Budget or goal spent, or held back by pacing',
  same_advertiser: 'Another ad of its advertiser already serves in this request',
  same_line_item: 'It already serves on another placement of this request',
  lower_priority: 'Eligible, but a higher priority tier filled the placement',
  outbid: 'Eligible, but another line item of its tier had a higher eCPM',
};
export const NO_FILL: Record<string, string> = {
  unknown_placement: 'no such placement (check the id)',
  inactive_placement: 'the placement, its site or its publisher is not active',
  no_match: "no line item's targeting matches this request",
  no_eligible: 'line items matched but each was rejected (see below)',
};

export default function Explain(): JSX.Element {
  const [search, setSearch] = useSearchParams<{ placement?: string }>();
  const [placement, setPlacement] = createSignal(search.placement ?? '');
  const [keywords, setKeywords] = createSignal('');
  const [segments, setSegments] = createSignal('');
  const [ua, setUa] = createSignal('');
  const [ip, setIp] = createSignal('');
  const [result, setResult] = createSignal<ExplainResult | null>(null);
  const [error, setError] = createSignal<unknown>(null);
  const [busy, setBusy] = createSignal(false);

  const run = async (e: SubmitEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setSearch({ placement: placement().trim() || undefined });
    const list = (s: string): string[] => s.split(/[\s,]+/).filter(Boolean);
    try {
      setResult(
        await explain({
          placements: [{ id: placement().trim() }],
          ...(list(keywords()).length ? { keywords: list(keywords()) } : {}),
          ...(list(segments()).length ? { user: { segments: list(segments()) } } : {}),
          ...(ua() || ip() ? { device: { ...(ua() ? { ua: ua() } : {}), ...(ip() ? { ip: ip() } : {}) } } : {}),
        }),
      );
    } catch (err) {
      setResult(null);
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <PageHeader
        title="Why didn't my ad serve?"
        subtitle="Runs a test decision for a placement and explains every line item's outcome. Nothing is counted or billed."
      />
      <form onSubmit={run} class="card grid gap-4 sm:grid-cols-2" aria-label="Test request">
        <Field label="Placement id *" hint="From the placement's page, e.g. plc_01…">
          {(a) => (
            <input
              id={a.id}
              class="input font-mono"
              required
              value={placement()}
              onInput={(e) => setPlacement(e.currentTarget.value)}
            />
          )}
        </Field>
        <Field label="Page keywords" hint="Comma separated">
          {(a) => (
            <input id={a.id} class="input" value={keywords()} onInput={(e) => setKeywords(e.currentTarget.value)} />
          )}
        </Field>
        <Field label="Audience segments" hint="Segment keys of the test user">
          {(a) => (
            <input id={a.id} class="input" value={segments()} onInput={(e) => setSegments(e.currentTarget.value)} />
          )}
        </Field>
        <Field label="User agent" hint="Empty: your browser's">
          {(a) => <input id={a.id} class="input" value={ua()} onInput={(e) => setUa(e.currentTarget.value)} />}
        </Field>
        <Field label="IP address" hint="For geo targeting, e.g. 81.2.69.142 (GB)">
          {(a) => <input id={a.id} class="input" value={ip()} onInput={(e) => setIp(e.currentTarget.value)} />}
        </Field>
        <div class="flex items-end">
          <button type="submit" class="btn btn-primary" disabled={busy() || !placement().trim()}>
            {busy() ? 'Asking…' : 'Explain'}
          </button>
        </div>
      </form>
      <div class="mt-4">
        <Show when={!error()} fallback={<ErrorBox error={error()} />}>
          <Show when={result()}>
            {(r) => (
              <div class="space-y-3">
                <p class="text-sm" role="status">
                  <Show
                    when={Object.values(r().decisions).flat().length > 0}
                    fallback={
                      <>
                        No ad would serve:{' '}
                        {Object.values(r().noFill)
                          .map((c) => NO_FILL[c] ?? c)
                          .join(', ') || 'no eligible line item'}
                        .
                      </>
                    }
                  >
                    An ad would serve: line item{' '}
                    <strong>{nameOf('line-items', Object.values(r().decisions).flat()[0]!.lineItemId)}</strong>.
                  </Show>
                </p>
                <Show
                  when={(r().explain ?? []).length > 0}
                  fallback={<Empty title="No line item was considered for this placement" />}
                >
                  <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white">
                    <table class="w-full text-left text-sm">
                      <caption class="sr-only">Outcome per line item</caption>
                      <thead class="bg-slate-50 text-xs uppercase text-slate-600">
                        <tr>
                          <th scope="col" class="px-3 py-2">
                            Line item
                          </th>
                          <th scope="col" class="px-3 py-2">
                            Outcome
                          </th>
                          <th scope="col" class="px-3 py-2">
                            Why
                          </th>
                          <th scope="col" class="px-3 py-2">
                            eCPM
                          </th>
                        </tr>
                      </thead>
                      <tbody>
                        <For each={r().explain}>
                          {(row) => (
                            <tr class="border-t border-slate-100" data-explain={row.lineItemId}>
                              <td class="px-3 py-2">
                                <A class="text-indigo-700 hover:underline" href={`/line-items/${row.lineItemId}`}>
                                  {nameOf('line-items', row.lineItemId)}
                                </A>
                              </td>
                              <td class="px-3 py-2">
                                <StatusBadge status={row.reason} />
                              </td>
                              <td class="px-3 py-2">{REASONS[row.reason] ?? row.reason.replace(/_/g, ' ')}</td>
                              <td class="px-3 py-2">
                                {row.ecpmMicros === undefined ? '—' : formatMoney(row.ecpmMicros)}
                              </td>
                            </tr>
                          )}
                        </For>
                      </tbody>
                    </table>
                  </div>
                </Show>
              </div>
            )}
          </Show>
        </Show>
      </div>
    </section>
  );
}
