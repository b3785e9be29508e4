/** API keys: create (the secret is shown once), list, revoke. Admins see everyone's keys. */
import type { ApiKey } from '@marquee/core';
import type { JSX } from 'solid-js';
import { createResource, createSignal, For, Show } from 'solid-js';
import { ErrorList, Field } from '../components/field.tsx';
import { Empty, ErrorBox, errorText, Loading, PageHeader, StatusBadge } from '../components/states.tsx';
import { createApiKey, listApiKeys, revokeApiKey } from '../lib/api.ts';
import { errorsAt, type FormErrors, NO_ERRORS, toFormErrors } from '../lib/field-errors.ts';
import { canWrite } from '../lib/session.ts';

export default function ApiKeys(): JSX.Element {
  const [keys, { refetch }] = createResource(() => listApiKeys({ includeRevoked: true }));
  const [name, setName] = createSignal('');
  const [scope, setScope] = createSignal<'read' | 'write'>('read');
  const [secret, setSecret] = createSignal<string | null>(null);
  const [errors, setErrors] = createSignal<FormErrors>(NO_ERRORS);
  const [rowError, setRowError] = createSignal<string | null>(null);

  const create = async (e: SubmitEvent): Promise<void> => {
    e.preventDefault();
    try {
      const created = await createApiKey({ name: name(), scope: scope() });
      setSecret(created.secret);
      setName('');
      setErrors(NO_ERRORS);
      await refetch();
    } catch (err) {
      setErrors(toFormErrors(err));
    }
  };
  const revoke = async (k: ApiKey): Promise<void> => {
    if (!window.confirm(`Revoke the key "${k.name}"? Programs using it stop working at once.`)) return;
    try {
      await revokeApiKey(k.id);
      await refetch();
    } catch (err) {
      setRowError(errorText(err));
    }
  };
  return (
    <section>
      <PageHeader title="API keys" subtitle="For programs calling the management API: Authorization: Bearer mq_…" />
      <Show when={secret()}>
        <div role="status" class="mb-4 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm">
          <p class="font-medium">Copy the key now: it is shown only this once.</p>
          <code class="mt-1 block break-all font-mono select-all" data-testid="api-key-secret">
            {secret()}
          </code>
          <button type="button" class="btn mt-2" onClick={() => setSecret(null)}>
            I have stored it
          </button>
        </div>
      </Show>
      <form onSubmit={create} class="card mb-4 flex flex-wrap items-end gap-3" aria-label="New API key" novalidate>
        <ErrorList errors={errors().general} />
        <Field label="Name *" errors={errorsAt(errors(), '/name')}>
          {(a) => (
            <input
              id={a.id}
              class="input"
              aria-invalid={a.invalid}
              value={name()}
              onInput={(e) => setName(e.currentTarget.value)}
            />
          )}
        </Field>
        <Field label="Scope" errors={errorsAt(errors(), '/scope')}>
          {(a) => (
            <select
              id={a.id}
              class="input"
              value={scope()}
              onChange={(e) => setScope(e.currentTarget.value as 'read' | 'write')}
            >
              <option value="read">read</option>
              <Show when={canWrite()}>
                <option value="write">write</option>
              </Show>
            </select>
          )}
        </Field>
        <button type="submit" class="btn btn-primary">
          Create key
        </button>
      </form>
      <Show when={rowError()}>
        <p role="alert" class="mb-2 text-sm text-red-700">
          {rowError()}
        </p>
      </Show>
      <Show when={!keys.error} fallback={<ErrorBox error={keys.error} retry={refetch} />}>
        <Show when={keys()} fallback={<Loading />}>
          <Show when={keys()!.items.length > 0} fallback={<Empty title="No API keys yet" />}>
            <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white">
              <table class="w-full text-left text-sm">
                <caption class="sr-only">API keys</caption>
                <thead class="bg-slate-50 text-xs uppercase text-slate-600">
                  <tr>
                    <th scope="col" class="px-3 py-2">
                      Name
                    </th>
                    <th scope="col" class="px-3 py-2">
                      Key
                    </th>
                    <th scope="col" class="px-3 py-2">
                      Scope
                    </th>
                    <th scope="col" class="px-3 py-2">
                      Status
                    </th>
                    <th scope="col" class="px-3 py-2">
                      Last used
                    </th>
                    <th scope="col" class="px-3 py-2">
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  <For each={keys()!.items}>
                    {(k) => (
                      <tr class="border-t border-slate-100">
                        <td class="px-3 py-2">{k.name}</td>
                        <td class="px-3 py-2 font-mono">{k.prefix}…</td>
                        <td class="px-3 py-2">{k.scope}</td>
                        <td class="px-3 py-2">
                          <StatusBadge status={k.status} />
                        </td>
                        <td class="px-3 py-2">{k.lastUsedAt?.slice(0, 16).replace('T', ' ') ?? 'never'}</td>
                        <td class="px-3 py-2">
                          <Show when={k.status === 'active'}>
                            <button type="button" class="btn btn-danger" onClick={() => revoke(k)}>
                              Revoke
                            </button>
                          </Show>
                        </td>
                      </tr>
                    )}
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
