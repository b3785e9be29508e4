/** The audit log (admins): every change with its actor and request id, newest first, filterable. */
import type { ColumnDef } from '@tanstack/solid-table';
import type { JSX } from 'solid-js';
import { createSignal, Show } from 'solid-js';
import { ServerTable } from '../components/server-table.tsx';
import { Empty, PageHeader } from '../components/states.tsx';
import { type AuditEntry, listAudit } from '../lib/api.ts';

type Row = AuditEntry & { id: string };

export default function Audit(): JSX.Element {
  const [kind, setKind] = createSignal('');
  const [entityId, setEntityId] = createSignal('');
  const columns: ColumnDef<Row, unknown>[] = [
    { id: 'at', header: 'When (UTC)', cell: (c) => c.row.original.at.slice(0, 19).replace('T', ' ') },
    { id: 'actor', header: 'Who', cell: (c) => c.row.original.actor },
    { id: 'action', header: 'Action', cell: (c) => c.row.original.action },
    { id: 'kind', header: 'Kind', cell: (c) => c.row.original.kind },
    { id: 'entityId', header: 'Entity', cell: (c) => <code class="text-xs">{c.row.original.entityId}</code> },
    {
      id: 'change',
      header: 'Change',
      cell: (c) => (
        <Show when={c.row.original.after || c.row.original.before} fallback="—">
          <details>
            <summary class="cursor-pointer text-indigo-700">Show</summary>
            <pre class="max-w-md overflow-auto text-xs">
              {JSON.stringify(diff(c.row.original.before, c.row.original.after), null, 2)}
            </pre>
          </details>
        </Show>
      ),
    },
  ];
  return (
    <section>
      <PageHeader title="Audit log" subtitle="Every change and sign-in, with who made it" />
      <ServerTable<Row>
        caption="Audit log"
        searchLabel="Entity id"
        columns={columns}
        filters={() => ({ kind: kind() || undefined, entityId: entityId() || undefined })}
        load={async (q, signal) => {
          const { search, sort, ...rest } = q;
          const entity = typeof search === 'string' && /^[a-z]{2,5}_/.test(search) ? search : undefined;
          setEntityId(entity ?? '');
          const page = await listAudit({ ...rest, ...(entity ? { entityId: entity } : {}) });
          void signal;
          return { ...page, items: page.items.map((e) => ({ ...e, id: String(e.id) })) as Row[] };
        }}
        toolbar={
          <div>
            <label for="audit-kind" class="label">
              Kind
            </label>
            <select id="audit-kind" class="input" value={kind()} onChange={(e) => setKind(e.currentTarget.value)}>
              <option value="">All</option>
              {[
                'advertiser',
                'campaign',
                'line_item',
                'creative',
                'publisher',
                'site',
                'placement',
                'audience',
                'user',
                'api_key',
                'asset',
                'network',
              ].map((k) => (
                <option value={k}>{k.replace('_', ' ')}</option>
              ))}
            </select>
          </div>
        }
        empty={<Empty title="No entries match" />}
      />
    </section>
  );
}

/** Only the fields that changed, so an edit of one field reads as one line. */
function diff(before: unknown, after: unknown): unknown {
  if (!before || !after || typeof before !== 'object' || typeof after !== 'object') return after ?? before;
  const out: Record<string, { from: unknown; to: unknown }> = {};
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  for (const k of new Set([...Object.keys(b), ...Object.keys(a)])) {
    if (k === 'version' || k === 'updatedAt') continue;
    if (JSON.stringify(b[k]) !== JSON.stringify(a[k])) out[k] = { from: b[k], to: a[k] };
  }
  return out;
}
