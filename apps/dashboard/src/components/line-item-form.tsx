/**
 * The line item editor: pricing, schedule and day-parting, budgets and pacing, frequency caps, targeting and
 * creatives. Server errors land at the section they point into; what was typed survives any error.
 */
import type { Creative, DayPart, FrequencyCap, LineItem } from '@marquee/core';
import type { TargetingNode } from '@marquee/core/targeting';
import type { JSX } from 'solid-js';
import { createResource, createSignal, For, Index, Show } from 'solid-js';
import { createStore, unwrap } from 'solid-js/store';
import { listEntities } from '../lib/api.ts';
import { errorsAt, type FormErrors, NO_ERRORS, toFormErrors, unplaced } from '../lib/field-errors.ts';
import {
  CAP_WINDOW_OPTIONS,
  PACING_OPTIONS,
  PRICING_OPTIONS,
  PRIORITY_OPTIONS,
  ROTATION_OPTIONS,
  STATUS_OPTIONS,
  WEEKDAYS,
} from '../lib/options.ts';
import { changedOnly, type FieldSpec, type FormValues, RefSelect, toBody, toValues } from './entity-form.tsx';
import { ErrorList, Field } from './field.tsx';
import { TargetingEditor } from './targeting-editor.tsx';

export const LINE_ITEM_SPECS: readonly FieldSpec[] = [
  { name: 'campaignId', label: 'Campaign', kind: 'ref', ref: 'campaigns', required: true },
  { name: 'name', label: 'Name', kind: 'text', required: true },
  { name: 'status', label: 'Status', kind: 'select', options: STATUS_OPTIONS },
  { name: 'priority', label: 'Priority', kind: 'select', options: PRIORITY_OPTIONS },
  { name: 'pricingModel', label: 'Pricing', kind: 'select', options: PRICING_OPTIONS },
  { name: 'rateMicros', label: 'Rate', kind: 'money', required: true, hint: 'Price per unit of the pricing model' },
  { name: 'currency', label: 'Currency', kind: 'text' },
  { name: 'rotation', label: 'Creative rotation', kind: 'select', options: ROTATION_OPTIONS },
  { name: 'startAt', label: 'Starts (UTC)', kind: 'datetime' },
  { name: 'endAt', label: 'Ends (UTC)', kind: 'datetime', hint: 'Empty: runs until stopped' },
  {
    name: 'timeZone',
    label: 'Time zone',
    kind: 'text',
    hint: 'IANA, e.g. Europe/London: day-parting and daily caps follow it',
  },
  { name: 'pacing', label: 'Pacing', kind: 'select', options: PACING_OPTIONS },
  { name: 'lifetimeBudgetMicros', label: 'Lifetime budget', kind: 'money' },
  { name: 'dailyBudgetMicros', label: 'Daily budget', kind: 'money' },
  { name: 'lifetimeImpressionGoal', label: 'Lifetime impression goal', kind: 'integer' },
  { name: 'dailyImpressionGoal', label: 'Daily impression goal', kind: 'integer' },
  { name: 'allowSameAdvertiser', label: 'May serve beside another ad of this advertiser', kind: 'checkbox' },
];

const SECTIONS: { title: string; fields: string[] }[] = [
  {
    title: 'Basics',
    fields: ['campaignId', 'name', 'status', 'priority', 'pricingModel', 'rateMicros', 'currency', 'rotation'],
  },
  { title: 'Schedule', fields: ['startAt', 'endAt', 'timeZone'] },
  {
    title: 'Budget and pacing',
    fields: [
      'pacing',
      'lifetimeBudgetMicros',
      'dailyBudgetMicros',
      'lifetimeImpressionGoal',
      'dailyImpressionGoal',
      'allowSameAdvertiser',
    ],
  },
];

interface CapRow {
  count: string;
  per: FrequencyCap['per'];
  span: string;
}
interface PartRow {
  weekdays: number[];
  startHour: number;
  endHour: number;
}
interface AssignRow {
  creativeId: string;
  weight: string;
}

export function LineItemForm(props: {
  initial?: LineItem;
  defaults?: Record<string, string>;
  onSubmit: (body: Record<string, unknown>) => Promise<void>;
  readOnly?: boolean;
}): JSX.Element {
  const mode = props.initial ? 'edit' : 'create';
  const [values, setValues] = createStore<FormValues>({
    ...toValues(LINE_ITEM_SPECS, props.initial as unknown as Record<string, unknown>),
    ...(props.initial
      ? {}
      : {
          status: 'draft',
          priority: 'standard',
          pricingModel: 'cpm',
          pacing: 'even',
          rotation: 'weighted',
          currency: 'USD',
          timeZone: 'UTC',
        }),
    ...props.defaults,
  });
  const [caps, setCaps] = createStore<CapRow[]>(
    (props.initial?.frequencyCaps ?? []).map((c) => ({
      count: String(c.count),
      per: c.per,
      span: String(c.span ?? 1),
    })),
  );
  const [parts, setParts] = createStore<PartRow[]>(
    (props.initial?.dayParting ?? []).map((d) => ({ ...d, weekdays: [...d.weekdays] })),
  );
  const [assigned, setAssigned] = createStore<AssignRow[]>(
    (props.initial?.creatives ?? []).map((a) => ({ creativeId: a.creativeId, weight: String(a.weight) })),
  );
  const [targeting, setTargeting] = createSignal<TargetingNode | null>(props.initial?.targeting ?? null);
  const [errors, setErrors] = createSignal<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = createSignal(false);
  const [saved, setSaved] = createSignal(false);

  const advertiserId = (): string | undefined => props.initial?.advertiserId;
  const [creatives] = createResource(
    () => advertiserId() ?? 'all',
    (adv) => listEntities('creatives', { limit: 500, sort: 'name', ...(adv !== 'all' ? { advertiserId: adv } : {}) }),
  );

  const build = (): { body: Record<string, unknown>; local: Map<string, string[]> } => {
    const { body, errors: local } = toBody(LINE_ITEM_SPECS, values, mode);
    body.frequencyCaps = caps.map((c, i) => {
      if (!/^\d+$/.test(c.count)) local.set(`/frequencyCaps/${i}/count`, ['Enter a whole number of impressions']);
      return { count: Number(c.count), per: c.per, ...(c.per !== 'lifetime' ? { span: Number(c.span) || 1 } : {}) };
    }) satisfies FrequencyCap[];
    body.dayParting = parts.map((p, i) => {
      if (p.weekdays.length === 0) local.set(`/dayParting/${i}/weekdays`, ['Pick at least one day']);
      if (p.endHour <= p.startHour) local.set(`/dayParting/${i}/endHour`, ['The window must end after it starts']);
      return { weekdays: [...p.weekdays].sort(), startHour: p.startHour, endHour: p.endHour };
    }) satisfies DayPart[];
    body.creatives = assigned
      .filter((a) => a.creativeId)
      .map((a) => ({ creativeId: a.creativeId, weight: Number(a.weight) || 1 }));
    body.targeting = targeting();
    return { body, local };
  };

  let form!: HTMLFormElement;
  const submit = async (e: SubmitEvent): Promise<void> => {
    e.preventDefault();
    setSaved(false);
    const { body, local } = build();
    if (local.size > 0) {
      setErrors({ byPath: local, general: ['Some fields need attention.'] });
      focusError();
      return;
    }
    setBusy(true);
    try {
      const initial = props.initial as unknown as Record<string, unknown> | undefined;
      const payload = initial ? changedOnly(structuredClone(unwrap(body)), initial) : body;
      await props.onSubmit(payload);
      setErrors(NO_ERRORS);
      setSaved(true);
    } catch (err) {
      setErrors(toFormErrors(err));
      focusError();
    } finally {
      setBusy(false);
    }
  };
  const focusError = (): void =>
    queueMicrotask(() => (form.querySelector('[aria-invalid="true"]') as HTMLElement | null)?.focus());

  const specOf = (name: string): FieldSpec => LINE_ITEM_SPECS.find((s) => s.name === name)!;
  const known = [
    ...LINE_ITEM_SPECS.map((s) => `/${s.name}`),
    '/frequencyCaps',
    '/dayParting',
    '/targeting',
    '/creatives',
  ];

  return (
    <form ref={form} onSubmit={submit} class="space-y-6" novalidate aria-label="Line item">
      <ErrorList errors={[...errors().general, ...unplaced(errors(), known)]} />
      <For each={SECTIONS}>
        {(section) => (
          <fieldset class="card" disabled={props.readOnly}>
            <legend class="px-1 text-base font-semibold">{section.title}</legend>
            <div class="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
              <For each={section.fields.map(specOf)}>
                {(spec) => (
                  <Field
                    label={spec.label + (spec.required ? ' *' : '')}
                    hint={spec.hint}
                    errors={errorsAt(errors(), `/${spec.name}`)}
                  >
                    {(a) =>
                      spec.kind === 'ref' ? (
                        <RefSelect
                          plural="campaigns"
                          value={String(values[spec.name] ?? '')}
                          attrs={{
                            id: a.id,
                            'aria-invalid': a.invalid,
                            'aria-describedby': a.describedBy,
                            disabled: mode === 'edit' && props.readOnly,
                          }}
                          onChange={(v) => setValues(spec.name, v)}
                        />
                      ) : spec.kind === 'select' ? (
                        <select
                          id={a.id}
                          class="input"
                          aria-invalid={a.invalid}
                          aria-describedby={a.describedBy}
                          value={String(values[spec.name])}
                          onChange={(e) => setValues(spec.name, e.currentTarget.value)}
                        >
                          <For each={spec.options}>{(o) => <option value={o.value}>{o.label}</option>}</For>
                        </select>
                      ) : spec.kind === 'checkbox' ? (
                        <input
                          id={a.id}
                          type="checkbox"
                          class="size-4"
                          checked={values[spec.name] === true}
                          onChange={(e) => setValues(spec.name, e.currentTarget.checked)}
                        />
                      ) : (
                        <input
                          id={a.id}
                          name={spec.name}
                          class="input"
                          type={spec.kind === 'datetime' ? 'datetime-local' : 'text'}
                          inputmode={
                            spec.kind === 'money' ? 'decimal' : spec.kind === 'integer' ? 'numeric' : undefined
                          }
                          aria-invalid={a.invalid}
                          aria-describedby={a.describedBy}
                          value={String(values[spec.name] ?? '')}
                          onInput={(e) => setValues(spec.name, e.currentTarget.value)}
                        />
                      )
                    }
                  </Field>
                )}
              </For>
            </div>
            <Show when={section.title === 'Schedule'}>
              <DayParting parts={parts} setParts={setParts} errors={errors()} />
            </Show>
          </fieldset>
        )}
      </For>

      <fieldset class="card" disabled={props.readOnly}>
        <legend class="px-1 text-base font-semibold">Frequency caps</legend>
        <p class="mb-2 text-sm text-slate-600">
          At most this many impressions per user in each window (one cap per window).
        </p>
        <Index each={caps}>
          {(cap, i) => (
            <div class="mb-2 flex flex-wrap items-end gap-2" data-cap={i}>
              <Field label="Impressions" errors={errorsAt(errors(), `/frequencyCaps/${i}/count`)}>
                {(a) => (
                  <input
                    id={a.id}
                    class="input w-28"
                    inputmode="numeric"
                    aria-invalid={a.invalid}
                    aria-describedby={a.describedBy}
                    value={cap().count}
                    onInput={(e) => setCaps(i, 'count', e.currentTarget.value)}
                  />
                )}
              </Field>
              <Field label="Every" errors={errorsAt(errors(), `/frequencyCaps/${i}/span`)}>
                {(a) => (
                  <input
                    id={a.id}
                    class="input w-20"
                    inputmode="numeric"
                    disabled={cap().per === 'lifetime'}
                    value={cap().span}
                    onInput={(e) => setCaps(i, 'span', e.currentTarget.value)}
                  />
                )}
              </Field>
              <Field label="Window" errors={errorsAt(errors(), `/frequencyCaps/${i}/per`)}>
                {(a) => (
                  <select
                    id={a.id}
                    class="input"
                    value={cap().per}
                    onChange={(e) => setCaps(i, 'per', e.currentTarget.value as FrequencyCap['per'])}
                  >
                    <For each={CAP_WINDOW_OPTIONS}>{(o) => <option value={o.value}>{o.label}</option>}</For>
                  </select>
                )}
              </Field>
              <button type="button" class="btn btn-danger" onClick={() => setCaps((c) => c.filter((_, j) => j !== i))}>
                Remove cap
              </button>
            </div>
          )}
        </Index>
        <ErrorList errors={errors().byPath.get('/frequencyCaps') ?? []} />
        <button type="button" class="btn" onClick={() => setCaps(caps.length, { count: '3', per: 'day', span: '1' })}>
          Add frequency cap
        </button>
      </fieldset>

      <fieldset class="card" disabled={props.readOnly}>
        <legend class="px-1 text-base font-semibold">Targeting</legend>
        <TargetingEditor value={targeting()} onChange={setTargeting} errors={errorsAt(errors(), '/targeting')} />
      </fieldset>

      <fieldset class="card" disabled={props.readOnly}>
        <legend class="px-1 text-base font-semibold">Creatives</legend>
        <Show when={assigned.length === 0}>
          <p class="mb-2 text-sm text-slate-600">No creatives yet: the line item cannot serve until one is assigned.</p>
        </Show>
        <Index each={assigned}>
          {(row, i) => (
            <div class="mb-2 flex flex-wrap items-end gap-2">
              <Field label="Creative" errors={errorsAt(errors(), `/creatives/${i}`)}>
                {(a) => (
                  <select
                    id={a.id}
                    class="input min-w-64"
                    aria-invalid={a.invalid}
                    value={row().creativeId}
                    onChange={(e) => setAssigned(i, 'creativeId', e.currentTarget.value)}
                  >
                    <option value="">Choose…</option>
                    <For each={(creatives()?.items ?? []) as Creative[]}>
                      {(c) => (
                        <option value={c.id} selected={c.id === row().creativeId}>
                          {c.name} ({c.kind}
                          {c.width ? ` ${c.width}×${c.height}` : ''}, {c.approval})
                        </option>
                      )}
                    </For>
                  </select>
                )}
              </Field>
              <Field label="Weight">
                {(a) => (
                  <input
                    id={a.id}
                    class="input w-20"
                    inputmode="numeric"
                    value={row().weight}
                    onInput={(e) => setAssigned(i, 'weight', e.currentTarget.value)}
                  />
                )}
              </Field>
              <button
                type="button"
                class="btn btn-danger"
                onClick={() => setAssigned((r) => r.filter((_, j) => j !== i))}
              >
                Remove
              </button>
            </div>
          )}
        </Index>
        <ErrorList errors={errors().byPath.get('/creatives') ?? []} />
        <button type="button" class="btn" onClick={() => setAssigned(assigned.length, { creativeId: '', weight: '1' })}>
          Assign a creative
        </button>
      </fieldset>

      <Show when={!props.readOnly}>
        <div class="flex items-center gap-3">
          <button type="submit" class="btn btn-primary" disabled={busy()}>
            {busy() ? 'Saving…' : mode === 'create' ? 'Create line item' : 'Save changes'}
          </button>
          <Show when={saved()}>
            <span role="status" class="text-sm text-emerald-700">
              Saved
            </span>
          </Show>
        </div>
      </Show>
    </form>
  );
}

function DayParting(props: {
  parts: PartRow[];
  setParts: (...args: never[]) => void;
  errors: FormErrors;
}): JSX.Element {
  const set = props.setParts as unknown as (...args: unknown[]) => void;
  const hours = Array.from({ length: 25 }, (_, h) => h);
  return (
    <div class="mt-4 space-y-2">
      <h3 class="text-sm font-semibold">Day-parting</h3>
      <Show when={props.parts.length === 0}>
        <p class="text-sm text-slate-600">
          All day, every day. Add a window to serve only at certain times (in the time zone above).
        </p>
      </Show>
      <Index each={props.parts}>
        {(part, i) => (
          <div class="flex flex-wrap items-center gap-2 rounded-md border border-slate-200 p-2" data-daypart={i}>
            <fieldset class="flex flex-wrap gap-1">
              <legend class="sr-only">Days of window {i + 1}</legend>
              <For each={WEEKDAYS}>
                {(d, day) => (
                  <label class="inline-flex items-center gap-1 text-sm">
                    <input
                      type="checkbox"
                      checked={part().weekdays.includes(day())}
                      onChange={(e) => {
                        const on = e.currentTarget.checked;
                        set(i, 'weekdays', (w: number[]) => (on ? [...w, day()] : w.filter((x) => x !== day())));
                      }}
                    />
                    {d}
                  </label>
                )}
              </For>
            </fieldset>
            <label class="text-sm">
              from{' '}
              <select
                class="input inline-block w-auto"
                value={part().startHour}
                onChange={(e) => set(i, 'startHour', Number(e.currentTarget.value))}
              >
                <For each={hours.slice(0, 24)}>{(h) => <option value={h}>{String(h).padStart(2, '0')}:00</option>}</For>
              </select>
            </label>
            <label class="text-sm">
              to{' '}
              <select
                class="input inline-block w-auto"
                value={part().endHour}
                onChange={(e) => set(i, 'endHour', Number(e.currentTarget.value))}
              >
                <For each={hours.slice(1)}>
                  {(h) => <option value={h}>{h === 24 ? 'midnight' : `${String(h).padStart(2, '0')}:00`}</option>}
                </For>
              </select>
            </label>
            <button
              type="button"
              class="btn btn-danger"
              onClick={() => set((p: PartRow[]) => p.filter((_, j) => j !== i))}
            >
              Remove window
            </button>
            <ErrorList errors={errorsAt(props.errors, `/dayParting/${i}`)} />
          </div>
        )}
      </Index>
      <button
        type="button"
        class="btn"
        onClick={() => set(props.parts.length, { weekdays: [1, 2, 3, 4, 5], startHour: 9, endHour: 18 })}
      >
        Add time window
      </button>
    </div>
  );
}
