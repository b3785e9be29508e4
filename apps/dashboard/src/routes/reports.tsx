/** Reports explorer: measures, dimensions, filters and a date range; a chart and a table of the same rows; CSV. */
import type { JSX } from 'solid-js';
import { createMemo, createSignal, For, Index, Show } from 'solid-js';
import { createStore } from 'solid-js/store';
import { Chart, type ChartOption } from '../components/chart.tsx';
import { ErrorList } from '../components/field.tsx';
import { Empty, ErrorBox, Loading, PageHeader } from '../components/states.tsx';
import { ApiError } from '../lib/api.ts';
import {
  DIMENSIONS,
  type Dimension,
  daysAgo,
  dimensionText,
  FILTER_DIMENSIONS,
  formatCell,
  HIDDEN,
  isoDay,
  MEASURES,
  type Measure,
  notAvailable,
  type Report,
  type ReportParams,
  reportCsvHref,
  runReport,
  TIME_DIMENSIONS,
} from '../lib/reports.ts';
import { user } from '../lib/session.ts';

const label = (s: string): string => s.replace(/_/g, ' ');

export default function Reports(): JSX.Element {
  const role = user()?.role;
  const hidden = role === 'advertiser' || role === 'publisher' ? HIDDEN[role] : { measures: [], dimensions: [] };
  const measureChoices = MEASURES.filter((m) => !hidden.measures.includes(m));
  const entityDims = DIMENSIONS.filter((d) => !TIME_DIMENSIONS.includes(d) && !hidden.dimensions.includes(d));

  const [measures, setMeasures] = createSignal<Measure[]>(
    measureChoices.filter((m) => ['impressions', 'clicks', 'ctr'].includes(m)),
  );
  const [timeDim, setTimeDim] = createSignal<Dimension | ''>('day');
  const [dims, setDims] = createSignal<Dimension[]>([]);
  const [from, setFrom] = createSignal(daysAgo(6));
  const [to, setTo] = createSignal(isoDay(new Date()));
  const [filters, setFilters] = createStore<{ dimension: Dimension; values: string }[]>([]);
  const [report, setReport] = createSignal<Report | null>(null);
  const [error, setError] = createSignal<unknown>(null);
  const [loading, setLoading] = createSignal(false);

  const params = createMemo<ReportParams>(() => ({
    measures: measures(),
    dimensions: [...(timeDim() ? [timeDim() as Dimension] : []), ...dims()],
    from: from(),
    to: to(),
    filters: Object.fromEntries(
      filters.filter((f) => f.values.trim()).map((f) => [f.dimension, f.values.split(/[\s,|]+/).filter(Boolean)]),
    ),
    ...(timeDim() ? { sort: timeDim() as string } : measures()[0] ? { sort: `-${measures()[0]}` } : {}),
  }));

  const run = async (e?: SubmitEvent): Promise<void> => {
    e?.preventDefault();
    setLoading(true);
    setError(null);
    try {
      setReport(await runReport(params()));
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  };
  void run();

  const toggle = <T,>(list: T[], value: T, on: boolean): T[] =>
    on ? [...list, value] : list.filter((x) => x !== value);
  const preset = (days: number): void => {
    setFrom(daysAgo(days - 1));
    setTo(isoDay(new Date()));
  };
  const fieldErrors = (name: string): string[] =>
    error() instanceof ApiError
      ? (error() as ApiError).details.filter((d) => d.path === name || d.path === `/${name}`).map((d) => d.message)
      : [];

  return (
    <section>
      <PageHeader title="Reports" subtitle="Pick what to measure, how to break it down and when." />
      <form onSubmit={run} class="card grid gap-4 lg:grid-cols-2" aria-label="Report settings">
        <fieldset>
          <legend class="label">Measures</legend>
          <div class="flex flex-wrap gap-2">
            <For each={measureChoices}>
              {(m) => (
                <label class="inline-flex items-center gap-1 text-sm">
                  <input
                    type="checkbox"
                    checked={measures().includes(m)}
                    onChange={(e) => setMeasures(toggle(measures(), m, e.currentTarget.checked))}
                  />
                  {label(m)}
                </label>
              )}
            </For>
          </div>
          <ErrorList errors={fieldErrors('measures')} />
        </fieldset>
        <fieldset>
          <legend class="label">Break down by</legend>
          <div class="mb-2">
            <label for="time-dim" class="mr-2 text-sm">
              Time
            </label>
            <select
              id="time-dim"
              class="input inline-block w-auto"
              value={timeDim()}
              onChange={(e) => setTimeDim(e.currentTarget.value as Dimension | '')}
            >
              <option value="">No time breakdown</option>
              <For each={TIME_DIMENSIONS}>{(d) => <option value={d}>{d}</option>}</For>
            </select>
          </div>
          <div class="flex flex-wrap gap-2">
            <For each={entityDims}>
              {(d) => (
                <label class="inline-flex items-center gap-1 text-sm">
                  <input
                    type="checkbox"
                    checked={dims().includes(d)}
                    onChange={(e) => setDims(toggle(dims(), d, e.currentTarget.checked))}
                  />
                  {label(d)}
                </label>
              )}
            </For>
          </div>
          <ErrorList errors={fieldErrors('dimensions')} />
        </fieldset>
        <fieldset>
          <legend class="label">Date range</legend>
          <div class="flex flex-wrap items-end gap-2">
            <label class="text-sm">
              From
              <input type="date" class="input" value={from()} onInput={(e) => setFrom(e.currentTarget.value)} />
            </label>
            <label class="text-sm">
              To
              <input type="date" class="input" value={to()} onInput={(e) => setTo(e.currentTarget.value)} />
            </label>
            <button type="button" class="btn" onClick={() => preset(1)}>
              Today
            </button>
            <button type="button" class="btn" onClick={() => preset(7)}>
              7 days
            </button>
            <button type="button" class="btn" onClick={() => preset(30)}>
              30 days
            </button>
          </div>
          <ErrorList errors={[...fieldErrors('from'), ...fieldErrors('to')]} />
        </fieldset>
        <fieldset>
          <legend class="label">Filters</legend>
          <Index each={filters}>
            {(f, i) => (
              <div class="mb-2 flex flex-wrap gap-2">
                <select
                  class="input w-auto"
                  aria-label={`Filter ${i + 1} dimension`}
                  value={f().dimension}
                  onChange={(e) => setFilters(i, 'dimension', e.currentTarget.value as Dimension)}
                >
                  <For each={FILTER_DIMENSIONS.filter((d) => !hidden.dimensions.includes(d))}>
                    {(d) => <option value={d}>{label(d)}</option>}
                  </For>
                </select>
                <input
                  class="input w-64"
                  aria-label={`Filter ${i + 1} values`}
                  placeholder="ids or codes, comma separated"
                  value={f().values}
                  onInput={(e) => setFilters(i, 'values', e.currentTarget.value)}
                />
                <button
                  type="button"
                  class="btn btn-danger"
                  onClick={() => setFilters((l) => l.filter((_, j) => j !== i))}
                >
                  Remove
                </button>
              </div>
            )}
          </Index>
          <button
            type="button"
            class="btn"
            onClick={() => setFilters(filters.length, { dimension: 'country', values: '' })}
          >
            Add filter
          </button>
          <ErrorList errors={fieldErrors('filters')} />
        </fieldset>
        <div class="flex flex-wrap items-center gap-2 lg:col-span-2">
          <button type="submit" class="btn btn-primary" disabled={loading() || measures().length === 0}>
            Run report
          </button>
          <a class="btn" href={reportCsvHref(params())} download="marquee-report.csv">
            Download CSV
          </a>
        </div>
      </form>

      <div class="mt-4 space-y-4">
        <Show when={!loading()} fallback={<Loading label="Running the report…" />}>
          <Show
            when={!error()}
            fallback={
              notAvailable(error()) ? (
                <Empty title="Reporting is not available on this server yet">
                  The reporting API has not been installed; no figures are shown rather than made-up ones.
                </Empty>
              ) : (
                <ErrorBox error={error()} retry={run} />
              )
            }
          >
            <Show when={report()}>{(r) => <ReportView report={r()} params={params()} />}</Show>
          </Show>
        </Show>
      </div>
    </section>
  );
}

function ReportView(props: { report: Report; params: ReportParams }): JSX.Element {
  const measures = (): readonly Measure[] => props.params.measures;
  const dims = (): readonly Dimension[] => props.params.dimensions;
  const dimText = (row: Record<string, unknown>): string =>
    dims()
      .map((d) => dimensionText(d, row))
      .join(' · ');
  const numeric = (row: Record<string, unknown>, m: Measure): number => {
    const v = row[`${m}_micros`] ?? row[m];
    return typeof v === 'number' ? (row[`${m}_micros`] !== undefined ? v / 1e6 : v) : 0;
  };
  const option = (): ChartOption => {
    const rows = props.report.rows.slice(0, 200);
    const first = measures()[0]!;
    const time = dims().some((d) => TIME_DIMENSIONS.includes(d));
    return {
      tooltip: { trigger: 'axis' },
      legend: { data: measures().slice(0, 3).map(label) },
      grid: { left: 56, right: 24, top: 32, bottom: 48, containLabel: true },
      xAxis: { type: 'category', data: rows.map(dimText), axisLabel: { rotate: time ? 0 : 20 } },
      yAxis: { type: 'value' },
      series: measures()
        .slice(0, 3)
        .map((m) => ({
          name: label(m),
          type: time ? 'line' : 'bar',
          data: rows.map((r) => numeric(r, m)),
        })) as ChartOption['series'],
      ...(first ? {} : {}),
    };
  };
  return (
    <Show when={props.report.rows.length > 0} fallback={<Empty title="No data for this range and these filters" />}>
      <Show when={dims().length > 0}>
        <div class="card">
          <Chart
            option={option()}
            label={`Chart of ${measures().map(label).join(', ')} by ${dims().map(label).join(', ')}`}
          />
        </div>
      </Show>
      <div class="card overflow-x-auto">
        <table class="w-full text-left text-sm" data-testid="report-table">
          <caption class="sr-only">Report rows</caption>
          <thead class="text-xs uppercase text-slate-600">
            <tr>
              <For each={dims()}>
                {(d) => (
                  <th scope="col" class="py-1 pr-3">
                    {label(d)}
                  </th>
                )}
              </For>
              <For each={measures()}>
                {(m) => (
                  <th scope="col" class="py-1 pr-3 text-right">
                    {label(m)}
                  </th>
                )}
              </For>
            </tr>
          </thead>
          <tbody>
            <For each={props.report.rows}>
              {(r) => (
                <tr class="border-t border-slate-100">
                  <For each={dims()}>
                    {(d) => (
                      <td class={`py-1 pr-3 ${r[d] === '' ? 'italic text-slate-500' : ''}`}>{dimensionText(d, r)}</td>
                    )}
                  </For>
                  <For each={measures()}>
                    {(m) => <td class="py-1 pr-3 text-right tabular-nums">{formatCell(m, r)}</td>}
                  </For>
                </tr>
              )}
            </For>
          </tbody>
          <tfoot class="border-t-2 border-slate-300 font-semibold">
            <tr>
              <Show when={dims().length > 0}>
                <th scope="row" colSpan={dims().length} class="py-1">
                  Total
                </th>
              </Show>
              <For each={measures()}>
                {(m) => <td class="py-1 pr-3 text-right tabular-nums">{formatCell(m, props.report.totals)}</td>}
              </For>
            </tr>
          </tfoot>
        </table>
        <Show when={props.report.truncated}>
          <p class="mt-2 text-sm text-amber-800">
            More rows matched than shown: narrow the range or add filters, or download the CSV.
          </p>
        </Show>
      </div>
    </Show>
  );
}
