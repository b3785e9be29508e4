/**
 * A table whose rows live on the server: keyset pages (`cursor`), server sort and search, row selection with bulk
 * status actions. TanStack Table does the column model and selection; nothing is sorted or paged in the browser,
 * so 100,000 line items cost the same as 10.
 */
import {
  type ColumnDef,
  createSolidTable,
  flexRender,
  getCoreRowModel,
  type RowSelectionState,
  type SortingState,
} from '@tanstack/solid-table';
import type { JSX } from 'solid-js';
import { createEffect, createMemo, createResource, createSignal, For, on, Show } from 'solid-js';
import type { BulkResult, Page, Query, Status } from '../lib/api.ts';
import { ErrorBox } from './states.tsx';

export interface ServerTableProps<T extends { id: string }> {
  readonly caption: string;
  readonly columns: ColumnDef<T, unknown>[];
  readonly load: (query: Query, signal: AbortSignal) => Promise<Page<T>>;
  /** Filters from outside the table (reactive): a change goes back to the first page. */
  readonly filters?: () => Query;
  /** Server sort keys this table may sort on (column ids). */
  readonly sortable?: readonly string[];
  readonly defaultSort?: string;
  readonly searchLabel?: string;
  readonly bulk?: (ids: string[], status: Status) => Promise<BulkResult>;
  readonly empty: JSX.Element;
  readonly toolbar?: JSX.Element;
  readonly pageSize?: number;
}

export function ServerTable<T extends { id: string }>(props: ServerTableProps<T>): JSX.Element {
  const [search, setSearch] = createSignal('');
  const [debounced, setDebounced] = createSignal('');
  const [sorting, setSorting] = createSignal<SortingState>([]);
  const [cursors, setCursors] = createSignal<(string | undefined)[]>([undefined]);
  const [selection, setSelection] = createSignal<RowSelectionState>({});
  const [bulkMessage, setBulkMessage] = createSignal<string | null>(null);
  const [bulkBusy, setBulkBusy] = createSignal(false);
  const [version, setVersion] = createSignal(0);
  const limit = (): number => props.pageSize ?? 25;

  let timer: ReturnType<typeof setTimeout> | undefined;
  const onSearch = (value: string): void => {
    setSearch(value);
    clearTimeout(timer);
    timer = setTimeout(() => setDebounced(value.trim()), 250);
  };

  const sortParam = (): string | undefined => {
    const s = sorting()[0];
    if (!s) return props.defaultSort;
    return s.desc ? `-${s.id}` : s.id;
  };

  // Any change of filter, search or sort starts again at page one (a cursor is bound to its query).
  createEffect(
    on([debounced, sortParam, () => JSON.stringify(props.filters?.() ?? {})], () => {
      setCursors([undefined]);
      setSelection({});
    }),
  );

  const query = createMemo(() => ({
    ...(props.filters?.() ?? {}),
    search: debounced() || undefined,
    sort: sortParam(),
    limit: limit(),
    cursor: cursors()[cursors().length - 1],
    _v: version(),
  }));

  let controller: AbortController | undefined;
  const [page, { refetch }] = createResource(query, async (q) => {
    controller?.abort();
    controller = new AbortController();
    const { _v, ...rest } = q;
    return props.load(rest as Query, controller.signal);
  });

  const rows = (): T[] => page.latest?.items ?? [];
  const table = createSolidTable({
    get data() {
      return rows();
    },
    get columns() {
      const select: ColumnDef<T, unknown> = {
        id: '_select',
        enableSorting: false,
        header: (ctx) => (
          <input
            type="checkbox"
            aria-label="Select all rows on this page"
            checked={ctx.table.getIsAllRowsSelected()}
            ref={(el) => createEffect(() => (el.indeterminate = ctx.table.getIsSomeRowsSelected()))}
            onChange={ctx.table.getToggleAllRowsSelectedHandler()}
          />
        ),
        cell: (ctx) => (
          <input
            type="checkbox"
            aria-label={`Select ${(ctx.row.original as { name?: string }).name ?? ctx.row.id}`}
            checked={ctx.row.getIsSelected()}
            onChange={ctx.row.getToggleSelectedHandler()}
          />
        ),
      };
      return props.bulk ? [select, ...props.columns] : props.columns;
    },
    state: {
      get sorting() {
        return sorting();
      },
      get rowSelection() {
        return selection();
      },
    },
    getRowId: (row) => row.id,
    manualSorting: true,
    manualPagination: true,
    enableRowSelection: true,
    enableSortingRemoval: true,
    onSortingChange: (updater) => setSorting((old) => (typeof updater === 'function' ? updater(old) : updater)),
    onRowSelectionChange: (updater) => setSelection((old) => (typeof updater === 'function' ? updater(old) : updater)),
    getCoreRowModel: getCoreRowModel(),
  });

  const selectedIds = (): string[] => Object.keys(selection()).filter((id) => selection()[id]);

  const runBulk = async (status: Status): Promise<void> => {
    if (!props.bulk) return;
    setBulkBusy(true);
    setBulkMessage(null);
    try {
      const result = await props.bulk(selectedIds(), status);
      const parts = [`${result.changed.length} changed`];
      if (result.unchanged.length) parts.push(`${result.unchanged.length} already ${status}`);
      if (result.errors.length)
        parts.push(`${result.errors.length} refused: ${result.errors.map((e) => e.message).join('; ')}`);
      setBulkMessage(parts.join(', '));
      setSelection({});
      setVersion((v) => v + 1);
    } catch (err) {
      setBulkMessage(`Nothing changed: ${(err as Error).message}`);
    } finally {
      setBulkBusy(false);
    }
  };

  const sortable = (id: string): boolean => props.sortable?.includes(id) ?? false;
  const from = (): number => (cursors().length - 1) * limit() + 1;

  return (
    <div class="space-y-3">
      <div class="flex flex-wrap items-end gap-3">
        <div class="min-w-48 grow sm:grow-0">
          <label class="label" for={`search-${props.caption}`}>
            {props.searchLabel ?? 'Search by name'}
          </label>
          <input
            id={`search-${props.caption}`}
            type="search"
            class="input"
            value={search()}
            onInput={(e) => onSearch(e.currentTarget.value)}
            placeholder="Type to filter…"
          />
        </div>
        {props.toolbar}
      </div>

      <Show when={props.bulk && selectedIds().length > 0}>
        <section
          aria-label="Bulk actions"
          class="flex flex-wrap items-center gap-2 rounded-md bg-indigo-50 p-2 text-sm"
        >
          <span>{selectedIds().length} selected</span>
          <button type="button" class="btn" disabled={bulkBusy()} onClick={() => runBulk('active')}>
            Activate
          </button>
          <button type="button" class="btn" disabled={bulkBusy()} onClick={() => runBulk('paused')}>
            Pause
          </button>
          <button type="button" class="btn btn-danger" disabled={bulkBusy()} onClick={() => runBulk('archived')}>
            Archive
          </button>
        </section>
      </Show>
      <Show when={bulkMessage()}>
        <p role="status" class="text-sm text-slate-700">
          {bulkMessage()}
        </p>
      </Show>

      <Show when={!page.error} fallback={<ErrorBox error={page.error} retry={refetch} />}>
        <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white" aria-busy={page.loading}>
          <table class="w-full min-w-[640px] text-left text-sm">
            <caption class="sr-only">{props.caption}</caption>
            <thead class="bg-slate-50 text-xs uppercase text-slate-600">
              <For each={table.getHeaderGroups()}>
                {(group) => (
                  <tr>
                    <For each={group.headers}>
                      {(header) => {
                        const sorted = (): false | 'asc' | 'desc' => header.column.getIsSorted();
                        return (
                          <th
                            scope="col"
                            class="px-3 py-2 font-semibold"
                            aria-sort={
                              sorted() === 'asc' ? 'ascending' : sorted() === 'desc' ? 'descending' : undefined
                            }
                          >
                            <Show
                              when={sortable(header.column.id)}
                              fallback={flexRender(header.column.columnDef.header, header.getContext())}
                            >
                              <button
                                type="button"
                                class="inline-flex items-center gap-1 uppercase hover:text-indigo-700"
                                onClick={header.column.getToggleSortingHandler()}
                              >
                                {flexRender(header.column.columnDef.header, header.getContext())}
                                <span aria-hidden="true">
                                  {sorted() === 'asc' ? '▲' : sorted() === 'desc' ? '▼' : '↕'}
                                </span>
                              </button>
                            </Show>
                          </th>
                        );
                      }}
                    </For>
                  </tr>
                )}
              </For>
            </thead>
            <tbody class={page.loading ? 'opacity-60' : ''}>
              <For each={table.getRowModel().rows}>
                {(row) => (
                  <tr class="border-t border-slate-100 hover:bg-slate-50" data-row-id={row.id}>
                    <For each={row.getVisibleCells()}>
                      {(cell) => (
                        <td class="px-3 py-2 align-top">{flexRender(cell.column.columnDef.cell, cell.getContext())}</td>
                      )}
                    </For>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
          <Show when={page.loading && !page.latest}>
            <div role="status" class="p-6 text-sm text-slate-600">
              Loading…
            </div>
          </Show>
          <Show when={!page.loading && page.latest && page.latest.items.length === 0}>
            <div class="p-6">{props.empty}</div>
          </Show>
        </div>
        <nav aria-label={`${props.caption} pages`} class="flex items-center justify-between text-sm text-slate-600">
          <span aria-live="polite">
            <Show when={page.latest} fallback="…">
              {page.latest!.total === 0
                ? 'No rows'
                : `${from()}–${from() + rows().length - 1} of ${page.latest!.total.toLocaleString('en-US')}`}
            </Show>
          </span>
          <span class="flex gap-2">
            <button
              type="button"
              class="btn"
              disabled={cursors().length <= 1 || page.loading}
              onClick={() => setCursors((c) => c.slice(0, -1))}
            >
              Previous
            </button>
            <button
              type="button"
              class="btn"
              disabled={!page.latest?.nextCursor || page.loading}
              onClick={() => setCursors((c) => [...c, page.latest?.nextCursor ?? undefined])}
            >
              Next
            </button>
          </span>
        </nav>
      </Show>
    </div>
  );
}
