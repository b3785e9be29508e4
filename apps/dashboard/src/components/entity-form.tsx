/**
 * A form described by field specs (advertisers, campaigns, publishers, sites, placements, ...): typed inputs that
 * convert to the API's types (money as micros, dates as RFC 3339, lists), client checks for what can be known
 * locally, and the server's field errors shown under the field they point at. Input is never cleared on error.
 */
import type { JSX } from 'solid-js';
import { createResource, createSignal, For, Match, Show, Switch } from 'solid-js';
import { createStore } from 'solid-js/store';
import { type EntityPlural, listEntities } from '../lib/api.ts';
import { errorsAt, type FormErrors, NO_ERRORS, toFormErrors, unplaced } from '../lib/field-errors.ts';
import { microsToInput, parseMoney } from '../lib/money.ts';
import { ErrorList, Field } from './field.tsx';

export type FieldKind = 'text' | 'textarea' | 'money' | 'integer' | 'datetime' | 'select' | 'list' | 'checkbox' | 'ref';

export interface FieldSpec {
  readonly name: string;
  readonly label: string;
  readonly kind: FieldKind;
  readonly hint?: string;
  readonly required?: boolean;
  /** Fixed once created (tenant of the row): shown read-only when editing. */
  readonly createOnly?: boolean;
  readonly options?: readonly { value: string; label: string }[];
  /** For `ref`: the entity list to pick from. */
  readonly ref?: EntityPlural;
  /** Optional (absent-able) fields are removed with null on PATCH when cleared. */
  readonly nullable?: boolean;
}

export type FormValues = Record<string, string | boolean>;

/** Entity -> editable strings. */
export function toValues(specs: readonly FieldSpec[], entity: Record<string, unknown> | undefined): FormValues {
  const values: FormValues = {};
  for (const s of specs) {
    const v = entity?.[s.name];
    if (s.kind === 'checkbox') values[s.name] = v === true;
    else if (s.kind === 'money') values[s.name] = microsToInput(v as number | null | undefined);
    else if (s.kind === 'datetime') values[s.name] = typeof v === 'string' ? v.slice(0, 16) : '';
    else if (s.kind === 'list') values[s.name] = Array.isArray(v) ? v.join(', ') : '';
    else
      values[s.name] =
        v === null || v === undefined ? (s.kind === 'select' ? (s.options?.[0]?.value ?? '') : '') : String(v);
  }
  return values;
}

/** Editable strings -> API body; local problems (an amount that is not one) come back as field errors. */
export function toBody(
  specs: readonly FieldSpec[],
  values: FormValues,
  mode: 'create' | 'edit',
): { body: Record<string, unknown>; errors: Map<string, string[]> } {
  const body: Record<string, unknown> = {};
  const errors = new Map<string, string[]>();
  for (const s of specs) {
    if (mode === 'edit' && s.createOnly) continue;
    const raw = values[s.name];
    if (s.kind === 'checkbox') {
      body[s.name] = raw === true;
      continue;
    }
    const text = String(raw ?? '').trim();
    if (text === '') {
      if (s.required) errors.set(`/${s.name}`, ['Required']);
      else if (mode === 'edit') body[s.name] = s.kind === 'list' ? [] : null;
      continue;
    }
    switch (s.kind) {
      case 'money': {
        const micros = parseMoney(text);
        if (micros === undefined) errors.set(`/${s.name}`, ['Enter an amount such as 1250.00']);
        else body[s.name] = micros;
        break;
      }
      case 'integer': {
        if (!/^-?\d+$/.test(text)) errors.set(`/${s.name}`, ['Enter a whole number']);
        else body[s.name] = Number(text);
        break;
      }
      case 'datetime':
        // datetime-local has no zone: the form says UTC, so the instant is read as UTC.
        body[s.name] = new Date(`${text}:00Z`).toISOString();
        break;
      case 'list':
        body[s.name] = text
          .split(/[\s,]+/)
          .map((v) => v.trim())
          .filter(Boolean);
        break;
      default:
        body[s.name] = text;
    }
  }
  return { body, errors };
}

/** Only what changed, so a PATCH does not rewrite fields someone else may be editing. */
export function changedOnly(body: Record<string, unknown>, original: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    const before = original[k] === undefined ? null : original[k];
    if (JSON.stringify(v) !== JSON.stringify(before)) out[k] = v;
  }
  return out;
}

export function EntityForm(props: {
  specs: readonly FieldSpec[];
  mode: 'create' | 'edit';
  initial?: Record<string, unknown>;
  defaults?: FormValues;
  submitLabel: string;
  readOnly?: boolean;
  onSubmit: (body: Record<string, unknown>) => Promise<void>;
  children?: JSX.Element;
}): JSX.Element {
  const [values, setValues] = createStore<FormValues>({ ...toValues(props.specs, props.initial), ...props.defaults });
  const [errors, setErrors] = createSignal<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = createSignal(false);
  const [saved, setSaved] = createSignal(false);

  const submit = async (e: SubmitEvent): Promise<void> => {
    e.preventDefault();
    setSaved(false);
    const { body, errors: local } = toBody(props.specs, values, props.mode);
    if (local.size > 0) {
      setErrors({ byPath: local, general: ['Some fields need attention.'] });
      focusFirstError();
      return;
    }
    setBusy(true);
    try {
      await props.onSubmit(props.mode === 'edit' && props.initial ? changedOnly(body, props.initial) : body);
      setErrors(NO_ERRORS);
      setSaved(true);
    } catch (err) {
      setErrors(toFormErrors(err));
      focusFirstError();
    } finally {
      setBusy(false);
    }
  };

  let form!: HTMLFormElement;
  const focusFirstError = (): void => {
    queueMicrotask(() => {
      const el = form.querySelector<HTMLElement>('[aria-invalid="true"]') ?? form.querySelector('[role="alert"]');
      el?.focus?.();
    });
  };

  const pointers = props.specs.map((s) => `/${s.name}`);
  return (
    <form ref={form} onSubmit={submit} class="space-y-4" novalidate aria-label={props.submitLabel}>
      <ErrorList
        errors={[...errors().general, ...unplaced(errors(), pointers)]}
        title={errors().general.length ? undefined : 'Not saved'}
      />
      <div class="grid gap-4 sm:grid-cols-2">
        <For each={props.specs}>
          {(spec) => (
            <Field
              label={spec.label + (spec.required ? ' *' : '')}
              hint={spec.hint}
              errors={errorsAt(errors(), `/${spec.name}`)}
              class={spec.kind === 'textarea' ? 'sm:col-span-2' : ''}
            >
              {(a) => (
                <Control
                  spec={spec}
                  value={values[spec.name]}
                  disabled={props.readOnly || (props.mode === 'edit' && spec.createOnly)}
                  id={a.id}
                  invalid={a.invalid}
                  describedBy={a.describedBy}
                  onChange={(v) => setValues(spec.name, v)}
                />
              )}
            </Field>
          )}
        </For>
      </div>
      {props.children}
      <div class="flex items-center gap-3">
        <Show when={!props.readOnly}>
          <button type="submit" class="btn btn-primary" disabled={busy()}>
            {busy() ? 'Saving…' : props.submitLabel}
          </button>
        </Show>
        <Show when={saved()}>
          <span role="status" class="text-sm text-emerald-700">
            Saved
          </span>
        </Show>
      </div>
    </form>
  );
}

function Control(props: {
  spec: FieldSpec;
  value: string | boolean | undefined;
  disabled: boolean | undefined;
  id: string;
  invalid: boolean;
  describedBy: string | undefined;
  onChange: (v: string | boolean) => void;
}): JSX.Element {
  const common = () => ({
    id: props.id,
    name: props.spec.name,
    disabled: props.disabled,
    'aria-invalid': props.invalid,
    'aria-describedby': props.describedBy,
    'aria-required': props.spec.required,
  });
  return (
    <Switch
      fallback={
        <input
          {...common()}
          class="input"
          type="text"
          inputmode={props.spec.kind === 'money' ? 'decimal' : props.spec.kind === 'integer' ? 'numeric' : undefined}
          value={String(props.value ?? '')}
          onInput={(e) => props.onChange(e.currentTarget.value)}
        />
      }
    >
      <Match when={props.spec.kind === 'checkbox'}>
        <input
          {...common()}
          type="checkbox"
          class="size-4"
          checked={props.value === true}
          onChange={(e) => props.onChange(e.currentTarget.checked)}
        />
      </Match>
      <Match when={props.spec.kind === 'textarea'}>
        <textarea
          {...common()}
          class="input min-h-24 font-mono"
          value={String(props.value ?? '')}
          onInput={(e) => props.onChange(e.currentTarget.value)}
        />
      </Match>
      <Match when={props.spec.kind === 'datetime'}>
        <input
          {...common()}
          class="input"
          type="datetime-local"
          value={String(props.value ?? '')}
          onInput={(e) => props.onChange(e.currentTarget.value)}
        />
      </Match>
      <Match when={props.spec.kind === 'select'}>
        <select
          {...common()}
          class="input"
          value={String(props.value ?? '')}
          onChange={(e) => props.onChange(e.currentTarget.value)}
        >
          <For each={props.spec.options}>{(o) => <option value={o.value}>{o.label}</option>}</For>
        </select>
      </Match>
      <Match when={props.spec.kind === 'ref' && props.spec.ref}>
        <RefSelect
          plural={props.spec.ref!}
          value={String(props.value ?? '')}
          attrs={common()}
          onChange={(v) => props.onChange(v)}
        />
      </Match>
    </Switch>
  );
}

/** Picks a parent row (advertiser, campaign, site) by name from what the user can see. */
export function RefSelect(props: {
  plural: EntityPlural;
  value: string;
  attrs: Record<string, unknown>;
  onChange: (v: string) => void;
  filter?: Record<string, string>;
}): JSX.Element {
  const [options] = createResource(
    () => JSON.stringify(props.filter ?? {}),
    () => listEntities(props.plural, { limit: 500, sort: 'name', ...props.filter }),
  );
  return (
    <select {...props.attrs} class="input" value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
      <option value="">{options.loading ? 'Loading…' : 'Choose…'}</option>
      <For each={options()?.items ?? []}>
        {(o) => (
          <option value={o.id} selected={o.id === props.value}>
            {o.name}
          </option>
        )}
      </For>
    </select>
  );
}
