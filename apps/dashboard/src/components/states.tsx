import type { JSX } from 'solid-js';
import { Show } from 'solid-js';
import { ApiError } from '../lib/api.ts';

export function Loading(props: { label?: string }): JSX.Element {
  return (
    <div role="status" aria-live="polite" class="flex items-center gap-2 p-6 text-sm text-slate-600">
      <span class="size-4 animate-spin rounded-full border-2 border-slate-300 border-t-indigo-600" aria-hidden="true" />
      {props.label ?? 'Loading…'}
    </div>
  );
}

export function Empty(props: { title: string; children?: JSX.Element }): JSX.Element {
  return (
    <div class="rounded-lg border border-dashed border-slate-300 bg-white p-8 text-center">
      <p class="font-medium text-slate-800">{props.title}</p>
      <Show when={props.children}>
        <div class="mt-2 text-sm text-slate-600">{props.children}</div>
      </Show>
    </div>
  );
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 404) return 'Not found, or not visible to you.';
    if (error.status === 403) return 'You are not allowed to see this.';
    return error.message;
  }
  return (error as Error)?.message ?? String(error);
}

export function ErrorBox(props: { error: unknown; retry?: () => void }): JSX.Element {
  return (
    <div role="alert" class="rounded-lg border border-red-200 bg-red-50 p-4 text-sm text-red-800">
      <p class="font-medium">Something went wrong</p>
      <p class="mt-1">{errorText(props.error)}</p>
      <Show when={props.error instanceof ApiError && (props.error as ApiError).code}>
        <p class="mt-1 font-mono text-xs text-red-700">{(props.error as ApiError).code}</p>
      </Show>
      <Show when={props.retry}>
        <button type="button" class="btn mt-3" onClick={() => props.retry?.()}>
          Try again
        </button>
      </Show>
    </div>
  );
}

export function StatusBadge(props: { status: string }): JSX.Element {
  const colour = (): string =>
    ({
      active: 'bg-emerald-100 text-emerald-800',
      approved: 'bg-emerald-100 text-emerald-800',
      on_track: 'bg-emerald-100 text-emerald-800',
      paused: 'bg-amber-100 text-amber-800',
      pending: 'bg-amber-100 text-amber-800',
      behind: 'bg-red-100 text-red-800',
      ahead: 'bg-sky-100 text-sky-800',
      rejected: 'bg-red-100 text-red-800',
      disabled: 'bg-red-100 text-red-800',
      revoked: 'bg-red-100 text-red-800',
      stopped: 'bg-red-100 text-red-800',
      archived: 'bg-slate-200 text-slate-700',
    })[props.status] ?? 'bg-slate-100 text-slate-700';
  return (
    <span class={`inline-block rounded-full px-2 py-0.5 text-xs font-medium ${colour()}`}>
      {props.status.replace(/_/g, ' ')}
    </span>
  );
}

export function PageHeader(props: { title: string; children?: JSX.Element; subtitle?: string }): JSX.Element {
  return (
    <div class="mb-4 flex flex-wrap items-end justify-between gap-3">
      <div>
        <h1 class="text-xl font-semibold text-slate-900">{props.title}</h1>
        <Show when={props.subtitle}>
          <p class="text-sm text-slate-600">{props.subtitle}</p>
        </Show>
      </div>
      <div class="flex flex-wrap gap-2">{props.children}</div>
    </div>
  );
}
