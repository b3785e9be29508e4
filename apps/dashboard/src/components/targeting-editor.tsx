/**
 * Builds targeting trees by picking: groups that match all (AND) or any (OR) of their rules, each rule or group
 * excludable (NOT), values chosen from lists or entered one by one. No syntax to type.
 */
import {
  DEVICE_TYPES,
  TARGETING_DIMENSIONS,
  type TargetingDimension,
  type TargetingNode,
} from '@marquee/core/targeting';
import type { JSX } from 'solid-js';
import { createSignal, For, Index, Match, Show, Switch } from 'solid-js';
import { WEEKDAYS } from '../lib/options.ts';
import {
  apiDepth,
  describeTargeting,
  type EditNode,
  fromTargeting,
  type GroupNode,
  MAX_DEPTH,
  newGroup,
  newRule,
  type RuleNode,
  toTargeting,
  updateNode,
} from '../lib/targeting-tree.ts';
import { uid } from './field.tsx';

export const DIMENSION_LABELS: Record<TargetingDimension, string> = {
  country: 'Country',
  region: 'Region',
  device: 'Device type',
  os: 'Operating system',
  browser: 'Browser',
  site: 'Site or app',
  publisher: 'Publisher',
  placement: 'Placement',
  keyword: 'Page keyword',
  kv: 'Key-value',
  category: 'Content category',
  hour: 'Hour of day',
  weekday: 'Day of week',
  segment: 'Audience segment',
};

const PLACEHOLDERS: Partial<Record<TargetingDimension, string>> = {
  country: 'e.g. US, then Enter',
  region: 'e.g. US-CA',
  os: 'e.g. ios',
  browser: 'e.g. chrome',
  site: 'site id, e.g. site_01…',
  publisher: 'publisher id',
  placement: 'placement id, e.g. plc_01…',
  keyword: 'e.g. travel',
  category: 'IAB id, e.g. IAB17',
  segment: 'segment key',
};

/** Values normalised the way the server matches them (country codes upper case, keywords lower case). */
function normalise(dimension: TargetingDimension, value: string): string {
  const v = value.trim();
  if (dimension === 'country' || dimension === 'region' || dimension === 'category') return v.toUpperCase();
  if (dimension === 'os' || dimension === 'browser' || dimension === 'keyword') return v.toLowerCase();
  return v;
}

export function TargetingEditor(props: {
  value: TargetingNode | null;
  onChange: (next: TargetingNode | null) => void;
  errors?: readonly string[];
  disabled?: boolean;
}): JSX.Element {
  const [root, setRoot] = createSignal<GroupNode>(fromTargeting(props.value));
  const result = (): TargetingNode | null => toTargeting(root());
  const change = (id: number, f: (n: EditNode) => EditNode | null): void => {
    setRoot((r) => updateNode(r, id, f));
    props.onChange(result());
  };
  const tooDeep = (): boolean => apiDepth(result()) > MAX_DEPTH;
  return (
    <div class="space-y-3" data-testid="targeting-editor">
      <GroupView node={root()} isRoot change={change} disabled={props.disabled} />
      <p class="text-sm text-slate-700" aria-live="polite">
        <span class="font-medium">Reads as: </span>
        <span data-testid="targeting-summary">{describeTargeting(result())}</span>
      </p>
      <Show when={tooDeep()}>
        <p role="alert" class="text-sm text-red-700">
          Nested more than {MAX_DEPTH} levels: simplify the groups before saving.
        </p>
      </Show>
      <Show when={(props.errors?.length ?? 0) > 0}>
        <ul role="alert" class="text-sm text-red-700" data-field-error>
          <For each={props.errors}>{(m) => <li>{m}</li>}</For>
        </ul>
      </Show>
    </div>
  );
}

type Change = (id: number, f: (n: EditNode) => EditNode | null) => void;

function GroupView(props: { node: GroupNode; isRoot?: boolean; change: Change; disabled?: boolean }): JSX.Element {
  const opId = uid('op');
  const add = (child: EditNode): void =>
    props.change(props.node.id, (n) => ({ ...(n as GroupNode), children: [...(n as GroupNode).children, child] }));
  return (
    <fieldset
      class={`rounded-lg border p-3 ${props.node.negate ? 'border-red-300 bg-red-50/40' : 'border-slate-300 bg-slate-50'}`}
      disabled={props.disabled}
    >
      <legend class="px-1 text-sm font-medium">{props.isRoot ? 'Targeting' : 'Group'}</legend>
      <div class="mb-2 flex flex-wrap items-center gap-3 text-sm">
        <label class="inline-flex items-center gap-1">
          <input
            type="checkbox"
            checked={props.node.negate}
            onChange={(e) => {
              const negate = e.currentTarget.checked;
              props.change(props.node.id, (n) => ({ ...n, negate }));
            }}
          />
          Exclude (NOT)
        </label>
        <label for={opId}>Match</label>
        <select
          id={opId}
          class="input w-auto"
          value={props.node.op}
          onChange={(e) => {
            const op = e.currentTarget.value as 'and' | 'or';
            props.change(props.node.id, (n) => ({ ...(n as GroupNode), op }));
          }}
        >
          <option value="and">all of (AND)</option>
          <option value="or">any of (OR)</option>
        </select>
        <span>these rules:</span>
        <Show when={!props.isRoot}>
          <button type="button" class="btn btn-danger ml-auto" onClick={() => props.change(props.node.id, () => null)}>
            Remove group
          </button>
        </Show>
      </div>
      <Show
        when={props.node.children.length > 0}
        fallback={<p class="text-sm text-slate-600">No rules: the line item may serve everywhere.</p>}
      >
        <ul class="space-y-2">
          {/* Index, not For: nodes are replaced on every edit, and typing must not lose focus. */}
          <Index each={props.node.children}>
            {(child) => (
              <li>
                <Show
                  when={child().kind === 'group'}
                  fallback={<RuleView node={child() as RuleNode} change={props.change} />}
                >
                  <GroupView node={child() as GroupNode} change={props.change} disabled={props.disabled} />
                </Show>
              </li>
            )}
          </Index>
        </ul>
      </Show>
      <div class="mt-2 flex gap-2">
        <button type="button" class="btn" onClick={() => add(newRule())}>
          Add rule
        </button>
        <button type="button" class="btn" onClick={() => add(newGroup(props.node.op === 'and' ? 'or' : 'and'))}>
          Add group
        </button>
      </div>
    </fieldset>
  );
}

function RuleView(props: { node: RuleNode; change: Change }): JSX.Element {
  const dimId = uid('dim');
  const set = (patch: Partial<RuleNode>): void =>
    props.change(props.node.id, (n) => ({ ...(n as RuleNode), ...patch }));
  return (
    <div
      class={`flex flex-wrap items-start gap-2 rounded-md border bg-white p-2 ${props.node.negate ? 'border-red-300' : 'border-slate-200'}`}
      data-rule={props.node.dimension}
    >
      <div>
        <label for={dimId} class="sr-only">
          Dimension
        </label>
        <select
          id={dimId}
          class="input w-auto"
          value={props.node.dimension}
          onChange={(e) => set({ dimension: e.currentTarget.value as TargetingDimension, values: [], key: '' })}
        >
          <For each={TARGETING_DIMENSIONS}>{(d) => <option value={d}>{DIMENSION_LABELS[d]}</option>}</For>
        </select>
      </div>
      <Show when={props.node.dimension === 'kv'}>
        <input
          class="input w-32"
          aria-label="Key"
          placeholder="key"
          value={props.node.key}
          onInput={(e) => set({ key: e.currentTarget.value })}
        />
      </Show>
      <span class="pt-1.5 text-sm">{props.node.negate ? 'is not' : 'is'}</span>
      <div class="min-w-48 flex-1">
        <ValuesInput node={props.node} onChange={(values) => set({ values })} />
      </div>
      <label class="inline-flex items-center gap-1 pt-1.5 text-sm">
        <input type="checkbox" checked={props.node.negate} onChange={(e) => set({ negate: e.currentTarget.checked })} />
        Exclude
      </label>
      <button
        type="button"
        class="btn btn-danger"
        aria-label={`Remove ${DIMENSION_LABELS[props.node.dimension]} rule`}
        onClick={() => props.change(props.node.id, () => null)}
      >
        Remove
      </button>
    </div>
  );
}

function ValuesInput(props: { node: RuleNode; onChange: (values: string[]) => void }): JSX.Element {
  const toggle = (value: string, on: boolean): void => {
    const set = new Set(props.node.values);
    if (on) set.add(value);
    else set.delete(value);
    props.onChange([...set]);
  };
  const choices = (): { value: string; label: string }[] | null => {
    switch (props.node.dimension) {
      case 'device':
        return DEVICE_TYPES.map((d) => ({ value: d, label: d }));
      case 'weekday':
        return WEEKDAYS.map((d, i) => ({ value: String(i), label: d }));
      case 'hour':
        return Array.from({ length: 24 }, (_, h) => ({ value: String(h), label: String(h).padStart(2, '0') }));
      default:
        return null;
    }
  };
  return (
    <Switch fallback={<ChipsInput node={props.node} onChange={props.onChange} />}>
      <Match when={choices()}>
        <fieldset class="flex flex-wrap gap-1">
          <legend class="sr-only">{DIMENSION_LABELS[props.node.dimension]} values</legend>
          <For each={choices()!}>
            {(c) => (
              <label class="inline-flex items-center gap-1 rounded border border-slate-200 px-1.5 py-0.5 text-sm">
                <input
                  type="checkbox"
                  checked={props.node.values.includes(c.value)}
                  onChange={(e) => toggle(c.value, e.currentTarget.checked)}
                />
                {c.label}
              </label>
            )}
          </For>
        </fieldset>
      </Match>
    </Switch>
  );
}

function ChipsInput(props: { node: RuleNode; onChange: (values: string[]) => void }): JSX.Element {
  const [draft, setDraft] = createSignal('');
  const commit = (): void => {
    const added = draft()
      .split(/[,\s]+/)
      .map((v) => normalise(props.node.dimension, v))
      .filter(Boolean);
    if (added.length === 0) return;
    props.onChange([...new Set([...props.node.values, ...added])]);
    setDraft('');
  };
  return (
    <div class="flex flex-wrap items-center gap-1">
      <For each={props.node.values}>
        {(v) => (
          <span class="inline-flex items-center gap-1 rounded-full bg-indigo-100 px-2 py-0.5 text-sm text-indigo-900">
            {v}
            <button
              type="button"
              class="rounded-full px-1 hover:bg-indigo-200"
              aria-label={`Remove ${v}`}
              onClick={() => props.onChange(props.node.values.filter((x) => x !== v))}
            >
              ×
            </button>
          </span>
        )}
      </For>
      <input
        class="input w-44"
        aria-label={`Add ${DIMENSION_LABELS[props.node.dimension]} value`}
        placeholder={PLACEHOLDERS[props.node.dimension] ?? 'value, then Enter'}
        value={draft()}
        onInput={(e) => setDraft(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' || e.key === ',') {
            e.preventDefault();
            commit();
          } else if (e.key === 'Backspace' && draft() === '' && props.node.values.length > 0) {
            props.onChange(props.node.values.slice(0, -1));
          }
        }}
        onBlur={commit}
      />
    </div>
  );
}
