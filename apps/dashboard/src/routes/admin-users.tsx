/** Users and roles (admins): list, create (a generated password is shown once), change role, disable. */
import type { User } from '@marquee/core';
import type { ColumnDef } from '@tanstack/solid-table';
import type { JSX } from 'solid-js';
import { createResource, createSignal, For, Show } from 'solid-js';
import { ErrorList, Field } from '../components/field.tsx';
import { ServerTable } from '../components/server-table.tsx';
import { Empty, errorText, PageHeader, StatusBadge } from '../components/states.tsx';
import { createUser, listEntities, listUsers, updateUser } from '../lib/api.ts';
import { errorsAt, type FormErrors, NO_ERRORS, toFormErrors } from '../lib/field-errors.ts';
import { ROLE_OPTIONS } from '../lib/options.ts';
import { user as me } from '../lib/session.ts';

export default function Users(): JSX.Element {
  const [reload, setReload] = createSignal(0);
  const [rowError, setRowError] = createSignal<string | null>(null);
  const setStatus = async (u: User, status: User['status']): Promise<void> => {
    setRowError(null);
    try {
      await updateUser(u.id, u.version, { status });
      setReload((n) => n + 1);
    } catch (err) {
      setRowError(errorText(err));
    }
  };
  const columns: ColumnDef<User, unknown>[] = [
    { id: 'name', header: 'Name', cell: (c) => <span class="font-medium">{c.row.original.name}</span> },
    { id: 'email', header: 'Email', cell: (c) => c.row.original.email },
    { id: 'role', header: 'Role', cell: (c) => c.row.original.role },
    { id: 'status', header: 'Status', cell: (c) => <StatusBadge status={c.row.original.status} /> },
    {
      id: 'tenants',
      header: 'Sees',
      cell: (c) => {
        const u = c.row.original;
        return u.role === 'advertiser'
          ? `${u.advertiserIds.length} advertiser(s)`
          : u.role === 'publisher'
            ? `${u.publisherIds.length} publisher(s)`
            : 'everything';
      },
    },
    {
      id: 'actions',
      header: 'Actions',
      cell: (c) => {
        const u = c.row.original;
        return (
          <Show when={u.id !== me()?.id}>
            <Show
              when={u.status === 'active'}
              fallback={
                <button type="button" class="btn" onClick={() => setStatus(u, 'active')}>
                  Enable
                </button>
              }
            >
              <button type="button" class="btn btn-danger" onClick={() => setStatus(u, 'disabled')}>
                Disable
              </button>
            </Show>
          </Show>
        );
      },
    },
  ];
  return (
    <section>
      <PageHeader title="Users" subtitle="Who may sign in, with which role, seeing which advertisers or publishers" />
      <NewUser onCreated={() => setReload((n) => n + 1)} />
      <Show when={rowError()}>
        <p role="alert" class="mb-2 text-sm text-red-700">
          {rowError()}
        </p>
      </Show>
      <Show when={`users-${reload()}`} keyed>
        <ServerTable<User>
          caption="Users"
          columns={columns}
          load={(q) => listUsers({ ...q, sort: undefined })}
          empty={<Empty title="No users match" />}
        />
      </Show>
    </section>
  );
}

function NewUser(props: { onCreated: () => void }): JSX.Element {
  const [open, setOpen] = createSignal(false);
  const [email, setEmail] = createSignal('');
  const [name, setName] = createSignal('');
  const [role, setRole] = createSignal<User['role']>('advertiser');
  const [tenants, setTenants] = createSignal<string[]>([]);
  const [errors, setErrors] = createSignal<FormErrors>(NO_ERRORS);
  const [password, setPassword] = createSignal<string | null>(null);
  const [advertisers] = createResource(() => listEntities('advertisers', { limit: 500, sort: 'name' }));
  const [publishers] = createResource(() => listEntities('publishers', { limit: 500, sort: 'name' }));
  const submit = async (e: SubmitEvent): Promise<void> => {
    e.preventDefault();
    try {
      const created = await createUser({
        email: email(),
        name: name(),
        role: role(),
        advertiserIds: role() === 'advertiser' ? tenants() : [],
        publisherIds: role() === 'publisher' ? tenants() : [],
      });
      setErrors(NO_ERRORS);
      setPassword(created.password ?? null);
      setEmail('');
      setName('');
      setTenants([]);
      props.onCreated();
    } catch (err) {
      setErrors(toFormErrors(err));
    }
  };
  const options = (): { id: string; name: string }[] =>
    role() === 'advertiser' ? (advertisers()?.items ?? []) : role() === 'publisher' ? (publishers()?.items ?? []) : [];
  return (
    <div class="mb-4">
      <Show when={password()}>
        <div role="status" class="mb-3 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm">
          User created. Their password, shown this once: <code class="select-all font-mono">{password()}</code>
        </div>
      </Show>
      <Show
        when={open()}
        fallback={
          <button type="button" class="btn btn-primary" onClick={() => setOpen(true)}>
            New user
          </button>
        }
      >
        <form onSubmit={submit} class="card grid gap-4 sm:grid-cols-2" aria-label="New user" novalidate>
          <div class="sm:col-span-2">
            <ErrorList errors={errors().general} />
          </div>
          <Field label="Email *" errors={errorsAt(errors(), '/email')}>
            {(a) => (
              <input
                id={a.id}
                class="input"
                type="email"
                aria-invalid={a.invalid}
                value={email()}
                onInput={(e) => setEmail(e.currentTarget.value)}
              />
            )}
          </Field>
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
          <Field label="Role" errors={errorsAt(errors(), '/role')}>
            {(a) => (
              <select
                id={a.id}
                class="input"
                value={role()}
                onChange={(e) => {
                  setRole(e.currentTarget.value as User['role']);
                  setTenants([]);
                }}
              >
                <For each={ROLE_OPTIONS}>{(o) => <option value={o.value}>{o.label}</option>}</For>
              </select>
            )}
          </Field>
          <Show when={role() === 'advertiser' || role() === 'publisher'}>
            <Field
              label={role() === 'advertiser' ? 'Advertisers this user sees' : 'Publishers this user sees'}
              errors={[...errorsAt(errors(), '/advertiserIds'), ...errorsAt(errors(), '/publisherIds')]}
            >
              {(a) => (
                <select
                  id={a.id}
                  multiple
                  class="input h-28"
                  aria-invalid={a.invalid}
                  onChange={(e) => setTenants([...e.currentTarget.selectedOptions].map((o) => o.value))}
                >
                  <For each={options()}>
                    {(o) => (
                      <option value={o.id} selected={tenants().includes(o.id)}>
                        {o.name}
                      </option>
                    )}
                  </For>
                </select>
              )}
            </Field>
          </Show>
          <p class="text-sm text-slate-600 sm:col-span-2">
            A password is generated and shown once; the user changes it after signing in.
          </p>
          <div class="flex gap-2 sm:col-span-2">
            <button type="submit" class="btn btn-primary">
              Create user
            </button>
            <button type="button" class="btn" onClick={() => setOpen(false)}>
              Cancel
            </button>
          </div>
        </form>
      </Show>
    </div>
  );
}
