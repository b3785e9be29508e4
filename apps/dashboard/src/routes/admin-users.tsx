/** Users and roles (admins): list, create (a generated password is shown once), edit name, role and tenants, disable. */
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
  const [editing, setEditing] = createSignal<User | null>(null);
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
          <span class="flex flex-wrap gap-2">
            <button
              type="button"
              class="btn"
              aria-label={`Edit ${u.name}`}
              aria-expanded={editing()?.id === u.id}
              onClick={() => setEditing(u)}
            >
              Edit
            </button>
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
          </span>
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
      <Show when={editing()} keyed>
        {(u) => (
          <EditUser
            user={u}
            onClose={() => setEditing(null)}
            onSaved={() => {
              setEditing(null);
              setReload((n) => n + 1);
            }}
          />
        )}
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
          <TenantPicker role={role()} value={tenants()} onChange={setTenants} errors={errors()} />
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

/** The advertisers (or publishers) a user of that role sees: a labelled multi-select with its field errors. */
function TenantPicker(props: {
  role: User['role'];
  value: readonly string[];
  onChange: (ids: string[]) => void;
  errors: FormErrors;
}): JSX.Element {
  const [advertisers] = createResource(() => listEntities('advertisers', { limit: 500, sort: 'name' }));
  const [publishers] = createResource(() => listEntities('publishers', { limit: 500, sort: 'name' }));
  const options = (): { id: string; name: string }[] =>
    props.role === 'advertiser'
      ? (advertisers()?.items ?? [])
      : props.role === 'publisher'
        ? (publishers()?.items ?? [])
        : [];
  return (
    <Show when={props.role === 'advertiser' || props.role === 'publisher'}>
      <Field
        label={props.role === 'advertiser' ? 'Advertisers this user sees' : 'Publishers this user sees'}
        hint="Ctrl/Cmd-click or Shift + arrow keys to pick several"
        errors={[...errorsAt(props.errors, '/advertiserIds'), ...errorsAt(props.errors, '/publisherIds')]}
      >
        {(a) => (
          <select
            id={a.id}
            multiple
            class="input h-28"
            aria-invalid={a.invalid}
            aria-describedby={a.describedBy}
            onChange={(e) => props.onChange([...e.currentTarget.selectedOptions].map((o) => o.value))}
          >
            <For each={options()}>
              {(o) => (
                <option value={o.id} selected={props.value.includes(o.id)}>
                  {o.name}
                </option>
              )}
            </For>
          </select>
        )}
      </Field>
    </Show>
  );
}

/**
 * Edit a user's name, role and tenants. Only changed fields are sent, with the version that was read (If-Match):
 * a 409 means someone else saved first, and what was typed stays.
 */
function EditUser(props: { user: User; onClose: () => void; onSaved: () => void }): JSX.Element {
  const u = props.user;
  const [name, setName] = createSignal(u.name);
  const [role, setRole] = createSignal<User['role']>(u.role);
  const [tenants, setTenants] = createSignal<string[]>(
    u.role === 'advertiser' ? [...u.advertiserIds] : u.role === 'publisher' ? [...u.publisherIds] : [],
  );
  const [errors, setErrors] = createSignal<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = createSignal(false);
  const same = (a: readonly string[], b: readonly string[]): boolean =>
    a.length === b.length && [...a].sort().join() === [...b].sort().join();
  const submit = async (e: SubmitEvent): Promise<void> => {
    e.preventDefault();
    const patch: Record<string, unknown> = {};
    if (name().trim() !== u.name) patch.name = name().trim();
    if (role() !== u.role) patch.role = role();
    const advertiserIds = role() === 'advertiser' ? tenants() : [];
    const publisherIds = role() === 'publisher' ? tenants() : [];
    if (!same(advertiserIds, u.advertiserIds)) patch.advertiserIds = advertiserIds;
    if (!same(publisherIds, u.publisherIds)) patch.publisherIds = publisherIds;
    if (Object.keys(patch).length === 0) {
      props.onClose();
      return;
    }
    setBusy(true);
    try {
      await updateUser(u.id, u.version, patch);
      setErrors(NO_ERRORS);
      props.onSaved();
    } catch (err) {
      setErrors(toFormErrors(err));
      form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
    } finally {
      setBusy(false);
    }
  };
  let form: HTMLFormElement | undefined;
  return (
    <form
      ref={form}
      onSubmit={submit}
      class="card mb-4 grid gap-4 sm:grid-cols-2"
      aria-label={`Edit user ${u.email}`}
      novalidate
      onKeyDown={(e) => {
        if (e.key === 'Escape') props.onClose();
      }}
    >
      <h2 class="text-lg font-semibold sm:col-span-2">Edit {u.email}</h2>
      <div class="sm:col-span-2">
        <ErrorList errors={errors().general} />
      </div>
      <Field label="Name *" errors={errorsAt(errors(), '/name')}>
        {(a) => (
          <input
            id={a.id}
            class="input"
            aria-invalid={a.invalid}
            aria-describedby={a.describedBy}
            value={name()}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        )}
      </Field>
      <Field
        label="Role"
        errors={errorsAt(errors(), '/role')}
        hint={u.id === me()?.id ? 'This is you: giving up admin locks you out of this screen' : undefined}
      >
        {(a) => (
          <select
            id={a.id}
            class="input"
            aria-invalid={a.invalid}
            aria-describedby={a.describedBy}
            value={role()}
            onChange={(e) => {
              setRole(e.currentTarget.value as User['role']);
              setTenants([]);
            }}
          >
            <For each={ROLE_OPTIONS}>
              {(o) => (
                <option value={o.value} selected={o.value === role()}>
                  {o.label}
                </option>
              )}
            </For>
          </select>
        )}
      </Field>
      <TenantPicker role={role()} value={tenants()} onChange={setTenants} errors={errors()} />
      <div class="flex gap-2 sm:col-span-2">
        <button type="submit" class="btn btn-primary" disabled={busy()}>
          {busy() ? 'Saving…' : 'Save user'}
        </button>
        <button type="button" class="btn" onClick={() => props.onClose()}>
          Cancel
        </button>
      </div>
    </form>
  );
}
