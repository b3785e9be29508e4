import type { JSX } from 'solid-js';
import { For, Show } from 'solid-js';

let counter = 0;
/** A unique id for label/control/description wiring. */
export function uid(prefix = 'f'): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

/**
 * A labelled form control with its hint and the server's messages for it. The control gets the id, aria-invalid
 * and aria-describedby through the render function (getters, so they stay reactive), so screen readers read the
 * error with the field.
 */
export function Field(props: {
  label: string;
  hint?: string;
  errors?: readonly string[];
  class?: string;
  children: (a: { id: string; invalid: boolean; describedBy: string | undefined }) => JSX.Element;
}): JSX.Element {
  const id = uid();
  const invalid = (): boolean => (props.errors?.length ?? 0) > 0;
  const describedBy = (): string | undefined =>
    [props.hint ? `${id}-hint` : '', invalid() ? `${id}-err` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class={props.class ?? ''}>
      <label for={id} class="label">
        {props.label}
      </label>
      {props.children({
        id,
        get invalid() {
          return invalid();
        },
        get describedBy() {
          return describedBy();
        },
      })}
      <Show when={props.hint}>
        <p id={`${id}-hint`} class="mt-1 text-xs text-slate-500">
          {props.hint}
        </p>
      </Show>
      <Show when={invalid()}>
        <ul id={`${id}-err`} class="mt-1 text-xs text-red-700" data-field-error>
          <For each={props.errors}>{(m) => <li>{m}</li>}</For>
        </ul>
      </Show>
    </div>
  );
}

/** The errors for a group of controls (fieldset) or the whole form. */
export function ErrorList(props: { errors: readonly string[]; title?: string }): JSX.Element {
  return (
    <Show when={props.errors.length > 0}>
      <div role="alert" class="rounded-md border border-red-200 bg-red-50 p-3 text-sm text-red-800">
        <Show when={props.title}>
          <p class="font-medium">{props.title}</p>
        </Show>
        <ul class="list-inside list-disc">
          <For each={props.errors}>{(m) => <li>{m}</li>}</For>
        </ul>
      </div>
    </Show>
  );
}
