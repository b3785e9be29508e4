/**
 * List, create and edit screens for the entities that need no special editor: advertisers, campaigns, publishers,
 * sites, placements, audiences (and the lists of line items and creatives, whose editors have their own screens).
 */
import { A, useNavigate, useParams, useSearchParams } from '@solidjs/router';
import type { ColumnDef } from '@tanstack/solid-table';
import type { JSX } from 'solid-js';
import { createResource, For, Show } from 'solid-js';
import { EntityForm, type FieldSpec, type FormValues } from '../components/entity-form.tsx';
import { ServerTable } from '../components/server-table.tsx';
import { Empty, ErrorBox, Loading, PageHeader, StatusBadge } from '../components/states.tsx';
import { TagGenerator } from '../components/tag-generator.tsx';
import {
  bulkStatus,
  createEntity,
  type Entities,
  type EntityPlural,
  getEntity,
  listEntities,
  type Query,
  updateEntity,
} from '../lib/api.ts';
import { formatMoney } from '../lib/money.ts';
import { invalidateNames, nameOf } from '../lib/names.ts';
import { AUCTION_OPTIONS, CREATIVE_KIND_OPTIONS, PRIORITY_OPTIONS, STATUS_OPTIONS } from '../lib/options.ts';
import { canWrite, isAdmin } from '../lib/session.ts';

type Row = { id: string; name: string; status: string; version: number } & Record<string, unknown>;

interface FilterSpec {
  readonly name: string;
  readonly label: string;
  readonly options?: readonly { value: string; label: string }[];
  readonly ref?: EntityPlural;
}

interface EntityConfig {
  readonly plural: EntityPlural;
  readonly title: string;
  readonly singular: string;
  readonly columns: () => ColumnDef<Row, unknown>[];
  readonly specs: readonly FieldSpec[];
  readonly filters: readonly FilterSpec[];
  /** Who may create: advertisers and publishers are the network's (admins). */
  readonly adminCreates?: boolean;
  /** Own editor screen (line items, creatives). */
  readonly customEditor?: boolean;
  readonly children?: (row: Row) => JSX.Element;
}

const link = (plural: string) => (ctx: { row: { original: Row } }) => (
  <A href={`/${plural}/${ctx.row.original.id}`} class="font-medium text-indigo-700 hover:underline">
    {ctx.row.original.name}
  </A>
);
const statusCol: ColumnDef<Row, unknown> = {
  id: 'status',
  header: 'Status',
  cell: (c) => <StatusBadge status={c.row.original.status} />,
};
const updatedCol: ColumnDef<Row, unknown> = {
  id: 'updatedAt',
  header: 'Updated',
  cell: (c) => new Date(String(c.row.original.updatedAt)).toISOString().slice(0, 16).replace('T', ' '),
};
const text = (id: string, header: string, f?: (r: Row) => JSX.Element): ColumnDef<Row, unknown> => ({
  id,
  header,
  // A fragment keeps the cell reactive: names of parent rows arrive after the rows themselves.
  // biome-ignore lint/complexity/noUselessFragments: the fragment is what makes the cell reactive (see above)
  cell: (c) => (f ? <>{f(c.row.original)}</> : String(c.row.original[id] ?? '—')),
});
const statusFilter: FilterSpec = { name: 'status', label: 'Status', options: STATUS_OPTIONS };
const flight = (r: Row): string =>
  `${String(r.startAt ?? '').slice(0, 10) || '—'} → ${r.endAt ? String(r.endAt).slice(0, 10) : 'open'}`;

export const CONFIGS: Record<string, EntityConfig> = {
  advertisers: {
    plural: 'advertisers',
    title: 'Advertisers',
    singular: 'advertiser',
    adminCreates: true,
    columns: () => [
      { id: 'name', header: 'Name', cell: link('advertisers') },
      statusCol,
      text('domain', 'Domain'),
      text('currency', 'Currency'),
      updatedCol,
    ],
    specs: [
      { name: 'name', label: 'Name', kind: 'text', required: true },
      { name: 'domain', label: 'Domain', kind: 'text', hint: 'e.g. skyward.example (used by publisher blocks)' },
      { name: 'currency', label: 'Currency', kind: 'text', hint: 'ISO 4217, e.g. USD', createOnly: true },
      { name: 'categories', label: 'IAB categories', kind: 'list', hint: 'Comma separated, e.g. IAB20, IAB20-1' },
      { name: 'notes', label: 'Notes', kind: 'textarea' },
    ],
    filters: [statusFilter],
    children: (row) => (
      <ChildList
        plural="campaigns"
        title="Campaigns"
        query={{ advertiserId: row.id }}
        newHref={`/campaigns/new?advertiserId=${row.id}`}
      />
    ),
  },
  campaigns: {
    plural: 'campaigns',
    title: 'Campaigns',
    singular: 'campaign',
    columns: () => [
      { id: 'name', header: 'Name', cell: link('campaigns') },
      statusCol,
      text('advertiserId', 'Advertiser', (r) => nameOf('advertisers', r.advertiserId as string)),
      text('flight', 'Flight', flight),
      text('lifetimeBudgetMicros', 'Budget', (r) => formatMoney(r.lifetimeBudgetMicros as number | null)),
      updatedCol,
    ],
    specs: [
      { name: 'advertiserId', label: 'Advertiser', kind: 'ref', ref: 'advertisers', required: true, createOnly: true },
      { name: 'name', label: 'Name', kind: 'text', required: true },
      { name: 'status', label: 'Status', kind: 'select', options: STATUS_OPTIONS },
      { name: 'startAt', label: 'Starts (UTC)', kind: 'datetime' },
      { name: 'endAt', label: 'Ends (UTC)', kind: 'datetime', hint: 'Empty: open-ended' },
      { name: 'lifetimeBudgetMicros', label: 'Lifetime budget', kind: 'money', hint: 'In the advertiser currency' },
      { name: 'dailyBudgetMicros', label: 'Daily budget', kind: 'money', hint: 'At most the lifetime budget' },
    ],
    filters: [statusFilter, { name: 'advertiserId', label: 'Advertiser', ref: 'advertisers' }],
    children: (row) => (
      <ChildList
        plural="line-items"
        title="Line items"
        query={{ campaignId: row.id }}
        newHref={`/line-items/new?campaignId=${row.id}`}
      />
    ),
  },
  'line-items': {
    plural: 'line-items',
    title: 'Line items',
    singular: 'line item',
    customEditor: true,
    columns: () => [
      { id: 'name', header: 'Name', cell: link('line-items') },
      statusCol,
      text('campaignId', 'Campaign', (r) => nameOf('campaigns', r.campaignId as string)),
      text('priority', 'Priority', (r) => String(r.priority).replace('_', ' ')),
      text(
        'rate',
        'Rate',
        (r) => `${formatMoney(r.rateMicros as number, String(r.currency))} ${String(r.pricingModel).toUpperCase()}`,
      ),
      text('flight', 'Flight', flight),
    ],
    specs: [],
    filters: [
      statusFilter,
      { name: 'priority', label: 'Priority', options: PRIORITY_OPTIONS },
      { name: 'advertiserId', label: 'Advertiser', ref: 'advertisers' },
      { name: 'campaignId', label: 'Campaign', ref: 'campaigns' },
    ],
  },
  creatives: {
    plural: 'creatives',
    title: 'Creatives',
    singular: 'creative',
    customEditor: true,
    columns: () => [
      { id: 'name', header: 'Name', cell: link('creatives') },
      statusCol,
      text('approval', 'Approval', (r) => <StatusBadge status={String(r.approval)} />),
      text('kind', 'Kind'),
      text('size', 'Size', (r) => (r.width ? `${r.width}×${r.height}` : '—')),
      text('advertiserId', 'Advertiser', (r) => nameOf('advertisers', r.advertiserId as string)),
    ],
    specs: [],
    filters: [
      statusFilter,
      { name: 'kind', label: 'Kind', options: CREATIVE_KIND_OPTIONS },
      { name: 'advertiserId', label: 'Advertiser', ref: 'advertisers' },
    ],
  },
  audiences: {
    plural: 'audiences',
    title: 'Audiences',
    singular: 'audience',
    columns: () => [
      { id: 'name', header: 'Name', cell: link('audiences') },
      statusCol,
      text('key', 'Targeting key', (r) => <code class="font-mono text-xs">{String(r.key)}</code>),
      text('advertiserId', 'Advertiser', (r) =>
        r.advertiserId ? nameOf('advertisers', r.advertiserId as string) : 'Network-wide',
      ),
      text('ttlDays', 'Membership', (r) => `${r.ttlDays} days`),
      updatedCol,
    ],
    specs: [
      {
        name: 'advertiserId',
        label: 'Advertiser',
        kind: 'ref',
        ref: 'advertisers',
        createOnly: true,
        hint: 'Empty: a network-wide segment any line item may target (admins only)',
      },
      { name: 'name', label: 'Name', kind: 'text', required: true },
      {
        name: 'key',
        label: 'Targeting key',
        kind: 'text',
        required: true,
        hint: 'Lower case, digits, _ . - (e.g. cart_abandoners); line items target it as a segment',
      },
      { name: 'status', label: 'Status', kind: 'select', options: STATUS_OPTIONS },
      {
        name: 'ttlDays',
        label: 'Membership lasts (days)',
        kind: 'integer',
        hint: '1 to 540 days after a user was last added',
      },
      { name: 'description', label: 'Description', kind: 'textarea' },
    ],
    filters: [statusFilter, { name: 'advertiserId', label: 'Advertiser', ref: 'advertisers' }],
  },
  publishers: {
    plural: 'publishers',
    title: 'Publishers',
    singular: 'publisher',
    adminCreates: true,
    columns: () => [
      { id: 'name', header: 'Name', cell: link('publishers') },
      statusCol,
      text('domain', 'Domain'),
      text('revenueShareBps', 'Revenue share', (r) => `${Number(r.revenueShareBps) / 100}%`),
      updatedCol,
    ],
    specs: [
      { name: 'name', label: 'Name', kind: 'text', required: true },
      { name: 'domain', label: 'Domain', kind: 'text' },
      {
        name: 'revenueShareBps',
        label: 'Revenue share (basis points)',
        kind: 'integer',
        hint: '7000 = 70% of revenue goes to the publisher',
      },
      { name: 'blockedCategories', label: 'Blocked IAB categories', kind: 'list', hint: 'e.g. IAB25, IAB26' },
    ],
    filters: [statusFilter],
    children: (row) => (
      <ChildList
        plural="sites"
        title="Sites and apps"
        query={{ publisherId: row.id }}
        newHref={`/sites/new?publisherId=${row.id}`}
      />
    ),
  },
  sites: {
    plural: 'sites',
    title: 'Sites & apps',
    singular: 'site',
    columns: () => [
      { id: 'name', header: 'Name', cell: link('sites') },
      statusCol,
      text('kind', 'Kind'),
      text('domain', 'Domain / bundle', (r) => String(r.domain ?? r.bundle ?? '—')),
      text('publisherId', 'Publisher', (r) => nameOf('publishers', r.publisherId as string)),
    ],
    specs: [
      { name: 'publisherId', label: 'Publisher', kind: 'ref', ref: 'publishers', required: true, createOnly: true },
      { name: 'name', label: 'Name', kind: 'text', required: true },
      {
        name: 'kind',
        label: 'Kind',
        kind: 'select',
        options: [
          { value: 'site', label: 'Web site' },
          { value: 'app', label: 'App' },
        ],
      },
      { name: 'domain', label: 'Domain', kind: 'text', hint: 'For sites, e.g. dailycourier.example' },
      { name: 'bundle', label: 'App bundle id', kind: 'text', hint: 'For apps, e.g. com.example.recipes' },
      { name: 'categories', label: 'Content categories', kind: 'list', hint: 'IAB, e.g. IAB8' },
    ],
    filters: [statusFilter, { name: 'publisherId', label: 'Publisher', ref: 'publishers' }],
    children: (row) => (
      <>
        <p class="text-sm">
          <a class="text-indigo-700 underline" href={`/demo?site=${row.id}`} target="_blank" rel="noopener">
            Open the live test page for this site
          </a>{' '}
          (every placement of the site, rendered through the tag).
        </p>
        <ChildList
          plural="placements"
          title="Placements"
          query={{ siteId: row.id }}
          newHref={`/placements/new?siteId=${row.id}`}
        />
      </>
    ),
  },
  placements: {
    plural: 'placements',
    title: 'Placements',
    singular: 'placement',
    columns: () => [
      { id: 'name', header: 'Name', cell: link('placements') },
      statusCol,
      text('siteId', 'Site', (r) => nameOf('sites', r.siteId as string)),
      text('formats', 'Formats', (r) => (r.formats as string[]).join(', ')),
      text(
        'sizes',
        'Sizes',
        (r) => (r.sizes as { w: number; h: number }[]).map((s) => `${s.w}×${s.h}`).join(', ') || '—',
      ),
      text('floorMicros', 'Floor CPM', (r) => formatMoney(r.floorMicros as number, String(r.currency))),
    ],
    specs: [
      { name: 'siteId', label: 'Site or app', kind: 'ref', ref: 'sites', required: true },
      { name: 'name', label: 'Name', kind: 'text', required: true },
      { name: 'formats', label: 'Formats', kind: 'list', hint: 'banner, native, video' },
      { name: 'sizes', label: 'Sizes', kind: 'list', hint: 'e.g. 300x250, 728x90' },
      { name: 'floorMicros', label: 'Floor CPM', kind: 'money', hint: 'Lowest price per 1,000 impressions' },
      { name: 'auction', label: 'Auction', kind: 'select', options: AUCTION_OPTIONS },
      { name: 'allowSameAdvertiser', label: 'Allow two ads of one advertiser on a page', kind: 'checkbox' },
    ],
    filters: [
      statusFilter,
      { name: 'publisherId', label: 'Publisher', ref: 'publishers' },
      { name: 'siteId', label: 'Site', ref: 'sites' },
    ],
    children: (row) => <TagGenerator placementId={row.id} siteId={String(row.siteId)} />,
  },
};

/** Placement sizes are objects in the API and "300x250" in the form. */
function adapt(plural: EntityPlural, body: Record<string, unknown>): Record<string, unknown> {
  if (plural === 'placements' && Array.isArray(body.sizes)) {
    body.sizes = (body.sizes as string[]).map((s) => {
      const [w, h] = s.toLowerCase().split(/[x×]/).map(Number);
      return { w, h };
    });
  }
  if (plural === 'placements' && body.sizes === null) body.sizes = [];
  return body;
}
function toForm(plural: EntityPlural, row: Record<string, unknown>): Record<string, unknown> {
  if (plural === 'placements')
    return { ...row, sizes: (row.sizes as { w: number; h: number }[]).map((s) => `${s.w}x${s.h}`) };
  return row;
}

export default function EntitiesScreen(props: { kind: string }): JSX.Element {
  const params = useParams<{ rest?: string }>();
  const config = (): EntityConfig => CONFIGS[props.kind]!;
  const rest = (): string => params.rest ?? '';
  return (
    <Show when={rest() === ''} fallback={<EditScreen config={config()} id={rest()} />}>
      <ListScreen config={config()} />
    </Show>
  );
}

function ListScreen(props: { config: EntityConfig }): JSX.Element {
  const [search, setSearch] = useSearchParams<Record<string, string>>();
  const filters = (): Query => {
    const q: Query = {};
    for (const f of props.config.filters) if (search[f.name]) q[f.name] = search[f.name];
    return q;
  };
  const mayCreate = (): boolean => canWrite() && (!props.config.adminCreates || isAdmin());
  return (
    <section aria-labelledby="page-title">
      <PageHeader title={props.config.title}>
        <Show when={mayCreate()}>
          <A href={`/${props.config.plural}/new`} class="btn btn-primary">
            New {props.config.singular}
          </A>
        </Show>
      </PageHeader>
      <ServerTable<Row>
        caption={props.config.title}
        columns={props.config.columns()}
        load={(q, signal) =>
          listEntities(props.config.plural, q, signal) as unknown as Promise<{
            items: Row[];
            nextCursor: string | null;
            total: number;
          }>
        }
        filters={filters}
        sortable={['name', 'status', 'updatedAt', 'createdAt']}
        bulk={canWrite() ? (ids, status) => bulkStatus(props.config.plural, ids, status) : undefined}
        empty={
          <Empty title={`No ${props.config.title.toLowerCase()} match`}>
            {Object.keys(filters()).length
              ? 'Clear the filters or search to see more.'
              : `Create the first ${props.config.singular}.`}
          </Empty>
        }
        toolbar={
          <For each={props.config.filters}>
            {(f) => (
              <div>
                <label class="label" for={`filter-${f.name}`}>
                  {f.label}
                </label>
                <FilterSelect
                  id={`filter-${f.name}`}
                  spec={f}
                  value={search[f.name] ?? ''}
                  onChange={(v) => setSearch({ [f.name]: v || undefined })}
                />
              </div>
            )}
          </For>
        }
      />
    </section>
  );
}

function FilterSelect(props: {
  id: string;
  spec: FilterSpec;
  value: string;
  onChange: (v: string) => void;
}): JSX.Element {
  const [refs] = createResource(
    () => props.spec.ref,
    (plural) => listEntities(plural, { limit: 500, sort: 'name' }).catch(() => ({ items: [] })),
  );
  return (
    <select id={props.id} class="input" value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
      <option value="">All</option>
      <For each={props.spec.options ?? []}>
        {(o) => (
          <option value={o.value} selected={o.value === props.value}>
            {o.label}
          </option>
        )}
      </For>
      <For each={(refs()?.items ?? []) as { id: string; name: string }[]}>
        {(o) => (
          <option value={o.id} selected={o.id === props.value}>
            {o.name}
          </option>
        )}
      </For>
    </select>
  );
}

function EditScreen(props: { config: EntityConfig; id: string }): JSX.Element {
  const navigate = useNavigate();
  const [search] = useSearchParams<Record<string, string>>();
  const isNew = (): boolean => props.id === 'new';
  const [row, { mutate }] = createResource(
    () => (isNew() ? undefined : props.id),
    (id) => getEntity(props.config.plural, id) as unknown as Promise<Row>,
  );
  const defaults = (): FormValues => {
    const d: FormValues = {};
    for (const s of props.config.specs) if (search[s.name]) d[s.name] = search[s.name]!;
    if (props.config.plural === 'placements') d.formats = d.formats ?? 'banner';
    return d;
  };
  const save = async (body: Record<string, unknown>): Promise<void> => {
    const plural = props.config.plural;
    const payload = adapt(plural, body);
    if (isNew()) {
      const created = (await createEntity(plural, payload)) as { id: string };
      invalidateNames(plural);
      navigate(`/${plural}/${created.id}`, { replace: true });
    } else {
      const current = row()!;
      if (Object.keys(payload).length === 0) return;
      const updated = (await updateEntity(plural, current.id, current.version, payload)) as unknown as Row;
      invalidateNames(plural);
      mutate(updated);
    }
  };
  const title = (): string => (isNew() ? `New ${props.config.singular}` : (row()?.name ?? props.config.title));
  return (
    <section>
      <nav aria-label="Breadcrumb" class="mb-2 text-sm">
        <A href={`/${props.config.plural}`} class="text-indigo-700 hover:underline">
          {props.config.title}
        </A>
      </nav>
      <Show when={!isNew()} fallback={<PageHeader title={title()} />}>
        <Show when={!row.error} fallback={<ErrorBox error={row.error} />}>
          <Show when={row()} fallback={<Loading />}>
            <PageHeader title={title()} subtitle={`${row()!.id} · version ${row()!.version}`}>
              <StatusBadge status={row()!.status} />
            </PageHeader>
          </Show>
        </Show>
      </Show>
      {/* row() rethrows a failed load: check the error first (it is shown above). */}
      <Show when={isNew() || (!row.error && row())}>
        <div class="card">
          <EntityForm
            specs={props.config.specs}
            mode={isNew() ? 'create' : 'edit'}
            initial={isNew() ? undefined : toForm(props.config.plural, row()!)}
            defaults={isNew() ? defaults() : undefined}
            submitLabel={isNew() ? `Create ${props.config.singular}` : 'Save changes'}
            readOnly={!canWrite() || (!isNew() && props.config.adminCreates && !isAdmin())}
            onSubmit={save}
          />
        </div>
        <Show when={!isNew() && !row.error && row() && props.config.children}>
          <div class="mt-6 space-y-4">{props.config.children!(row()!)}</div>
        </Show>
      </Show>
    </section>
  );
}

function ChildList(props: { plural: EntityPlural; title: string; query: Query; newHref: string }): JSX.Element {
  const config = CONFIGS[props.plural]!;
  return (
    <section aria-label={props.title} class="space-y-2">
      <div class="flex items-center justify-between">
        <h2 class="text-lg font-semibold">{props.title}</h2>
        <Show when={canWrite() && (!config.adminCreates || isAdmin())}>
          <A href={props.newHref} class="btn">
            New {config.singular}
          </A>
        </Show>
      </div>
      <ServerTable<Row>
        caption={props.title}
        columns={config.columns()}
        load={(q, signal) =>
          listEntities(props.plural, { ...q, ...props.query }, signal) as unknown as Promise<{
            items: Row[];
            nextCursor: string | null;
            total: number;
          }>
        }
        sortable={['name', 'status']}
        pageSize={10}
        empty={<Empty title={`No ${props.title.toLowerCase()} yet`} />}
      />
    </section>
  );
}

export type { Entities };
