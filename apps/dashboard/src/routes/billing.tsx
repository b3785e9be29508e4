/**
 * Billing: balances and credit, monthly invoices (advertisers) and earnings statements (publishers) with their
 * printable page and CSV, the journal, and for admins payments, adjustments and credit limits. The server scopes
 * everything by tenant: an advertiser's user gets its own accounts and invoices, a publisher's its statements.
 */
import { useSearchParams } from '@solidjs/router';
import type { JSX } from 'solid-js';
import { createResource, createSignal, For, Show } from 'solid-js';
import { InvoiceView, StatementView } from '../components/billing-document.tsx';
import { CreditLimitForm, PostingForm } from '../components/billing-forms.tsx';
import { Empty, ErrorBox, Loading, PageHeader, StatusBadge } from '../components/states.tsx';
import {
  type BillingAccount,
  getBalances,
  getInvoice,
  getStatement,
  type Invoice,
  type LedgerEntry,
  listEntities,
  listLedgerEntries,
  type Statement,
} from '../lib/api.ts';
import { balanceMeaning, monthOf } from '../lib/billing.ts';
import { formatMoney } from '../lib/money.ts';
import { nameOf } from '../lib/names.ts';
import { canSee, canWrite, isAdmin } from '../lib/session.ts';

const th = 'px-3 py-2 font-semibold';
const td = 'px-3 py-2';
const num = 'px-3 py-2 text-right tabular-nums';

const KIND_ORDER: Record<string, number> = { advertiser: 0, publisher: 1 };
const ownerName = (a: { kind: string; ownerId: string }): string =>
  a.kind === 'advertiser'
    ? nameOf('advertisers', a.ownerId)
    : a.kind === 'publisher'
      ? nameOf('publishers', a.ownerId)
      : `Network ${a.kind}`;

export default function Billing(): JSX.Element {
  const [search, setSearch] = useSearchParams<{ month?: string }>();
  const month = (): string => (/^\d{4}-\d{2}$/.test(search.month ?? '') ? search.month! : monthOf(new Date()));
  const [version, setVersion] = createSignal(0);
  const refresh = (): void => {
    setVersion((v) => v + 1);
  };
  return (
    <section aria-labelledby="page-title" class="space-y-6">
      <PageHeader
        title="Billing"
        subtitle={
          isAdmin()
            ? 'Balances, invoices, earnings statements and the journal of every advertiser and publisher'
            : canSee('supply') && !canSee('demand')
              ? 'Your balance and monthly earnings statements'
              : 'Your balance and monthly invoices'
        }
      >
        <div>
          <label class="label" for="billing-month">
            Month
          </label>
          <input
            id="billing-month"
            type="month"
            class="input"
            value={month()}
            onChange={(e) => setSearch({ month: e.currentTarget.value || undefined })}
          />
        </div>
      </PageHeader>
      <Balances version={version()} />
      <Show when={canSee('demand')}>
        <MonthlyDocument doc="invoices" month={month()} version={version()} />
      </Show>
      <Show when={canSee('supply')}>
        <MonthlyDocument doc="statements" month={month()} version={version()} />
      </Show>
      <Show when={isAdmin() && canWrite()}>
        <section aria-labelledby="billing-actions" class="space-y-3">
          <h2 id="billing-actions" class="text-lg font-semibold">
            Payments, adjustments and credit
          </h2>
          <div class="grid gap-4 lg:grid-cols-3">
            <PostingForm mode="payment" onPosted={refresh} />
            <PostingForm mode="adjustment" onPosted={refresh} />
            <CreditLimitForm onSaved={refresh} />
          </div>
        </section>
      </Show>
      <Journal version={version()} />
    </section>
  );
}

function Balances(props: { version: number }): JSX.Element {
  const [data, { refetch }] = createResource(
    () => props.version + 1,
    () => getBalances(),
  );
  const accounts = (): BillingAccount[] =>
    [...(data()?.accounts ?? [])].sort(
      (a, b) =>
        (KIND_ORDER[a.kind] ?? 2) - (KIND_ORDER[b.kind] ?? 2) ||
        ownerName(a).localeCompare(ownerName(b)) ||
        a.currency.localeCompare(b.currency),
    );
  return (
    <section aria-labelledby="billing-balances" class="space-y-3">
      <h2 id="billing-balances" class="text-lg font-semibold">
        Balances
      </h2>
      <Show when={!data.error} fallback={<ErrorBox error={data.error} retry={refetch} />}>
        <Show when={data.latest} fallback={<Loading label="Loading balances…" />}>
          <Show
            when={accounts().length > 0}
            fallback={
              <Empty title="No balances yet">Nothing has been posted to the ledger: delivery is posted hourly.</Empty>
            }
          >
            <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white" aria-busy={data.loading}>
              <table class="w-full min-w-[560px] text-left text-sm" data-testid="balances">
                <caption class="sr-only">Ledger balances</caption>
                <thead class="bg-slate-50 text-xs uppercase text-slate-600">
                  <tr>
                    <th scope="col" class={th}>
                      Account
                    </th>
                    <th scope="col" class={th}>
                      Kind
                    </th>
                    <th scope="col" class={`${th} text-right`}>
                      Balance
                    </th>
                    <th scope="col" class={th}>
                      Meaning
                    </th>
                  </tr>
                </thead>
                <tbody>
                  <For each={accounts()}>
                    {(a) => (
                      <tr class="border-t border-slate-100" data-account={a.accountId}>
                        <th scope="row" class={`${td} font-medium`}>
                          {ownerName(a)}
                        </th>
                        <td class={td}>{a.kind}</td>
                        <td class={num}>{formatMoney(a.balanceMicros, a.currency)}</td>
                        <td class={`${td} text-slate-600`}>{balanceMeaning(a)}</td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </div>
          </Show>
          <Show when={(data.latest?.credit.length ?? 0) > 0}>
            <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white">
              <table class="w-full min-w-[640px] text-left text-sm" data-testid="credit">
                <caption class="px-3 py-2 text-left text-sm font-semibold">Credit limits</caption>
                <thead class="bg-slate-50 text-xs uppercase text-slate-600">
                  <tr>
                    <th scope="col" class={th}>
                      Advertiser
                    </th>
                    <th scope="col" class={`${th} text-right`}>
                      Limit
                    </th>
                    <th scope="col" class={`${th} text-right`}>
                      Balance
                    </th>
                    <th scope="col" class={`${th} text-right`}>
                      Not posted yet
                    </th>
                    <th scope="col" class={`${th} text-right`}>
                      Available
                    </th>
                    <th scope="col" class={th}>
                      Delivery
                    </th>
                  </tr>
                </thead>
                <tbody>
                  <For each={data.latest!.credit}>
                    {(c) => (
                      <tr class="border-t border-slate-100">
                        <th scope="row" class={`${td} font-medium`}>
                          {nameOf('advertisers', c.advertiserId)}
                        </th>
                        <td class={num}>{formatMoney(c.creditLimitMicros, c.currency)}</td>
                        <td class={num}>{formatMoney(c.balanceMicros, c.currency)}</td>
                        <td class={num}>{formatMoney(c.unpostedMicros, c.currency)}</td>
                        <td class={num}>{formatMoney(c.availableMicros, c.currency)}</td>
                        <td class={td}>
                          <StatusBadge status={c.stopped ? 'stopped' : 'active'} />
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

/** Pick an advertiser (publisher) and open its invoice (statement) for the month. */
function MonthlyDocument(props: { doc: 'invoices' | 'statements'; month: string; version: number }): JSX.Element {
  const invoices = (): boolean => props.doc === 'invoices';
  const [owners] = createResource(
    () => props.doc,
    (doc) =>
      listEntities(doc === 'invoices' ? 'advertisers' : 'publishers', { limit: 500, sort: 'name' }).then(
        (p) => p.items,
      ),
  );
  const [picked, setPicked] = createSignal('');
  // A user who sees a single advertiser (publisher) needs no picking.
  const owner = (): string => picked() || (owners()?.length === 1 ? owners()![0]!.id : '');
  const [opened, setOpened] = createSignal<{ owner: string; month: string } | null>(null);
  const [doc, { refetch }] = createResource(
    () => {
      const o = opened();
      return o ? { ...o, v: props.version } : null;
    },
    (o): Promise<Invoice | Statement> => (invoices() ? getInvoice(o.owner, o.month) : getStatement(o.owner, o.month)),
  );
  const what = (): string => (invoices() ? 'invoice' : 'earnings statement');
  const id = `doc-${props.doc}`;
  return (
    <section aria-labelledby={`${id}-title`} class="space-y-3">
      <h2 id={`${id}-title`} class="text-lg font-semibold">
        {invoices() ? 'Invoices' : 'Earnings statements'}
      </h2>
      <form
        class="flex flex-wrap items-end gap-3"
        aria-label={`Open an ${what()}`}
        onSubmit={(e) => {
          e.preventDefault();
          if (owner()) setOpened({ owner: owner(), month: props.month });
        }}
      >
        <div>
          <label class="label" for={`${id}-owner`}>
            {invoices() ? 'Advertiser' : 'Publisher'}
          </label>
          <select
            id={`${id}-owner`}
            class="input min-w-56"
            value={owner()}
            onChange={(e) => setPicked(e.currentTarget.value)}
          >
            <option value="">{owners.loading ? 'Loading…' : 'Choose…'}</option>
            <For each={owners() ?? []}>
              {(o) => (
                <option value={o.id} selected={o.id === owner()}>
                  {o.name}
                </option>
              )}
            </For>
          </select>
        </div>
        <button type="submit" class="btn btn-primary" disabled={!owner()}>
          Open {invoices() ? 'invoice' : 'statement'} for {props.month}
        </button>
      </form>
      <Show when={owners.error}>
        <ErrorBox error={owners.error} />
      </Show>
      <Show when={opened()}>
        <Show when={!doc.error} fallback={<ErrorBox error={doc.error} retry={refetch} />}>
          <Show when={doc.latest} fallback={<Loading label={`Loading the ${what()}…`} />}>
            {(d) => {
              const v = d();
              return v.kind === 'invoice' ? <InvoiceView invoice={v} /> : <StatementView statement={v} />;
            }}
          </Show>
        </Show>
      </Show>
    </section>
  );
}

/** The journal, newest first, paged on the server by entry id. */
function Journal(props: { version: number }): JSX.Element {
  const [befores, setBefores] = createSignal<(number | undefined)[]>([undefined]);
  const [page, { refetch }] = createResource(
    () => ({ before: befores()[befores().length - 1], v: props.version }),
    (q) => listLedgerEntries({ limit: 25, before: q.before }),
  );
  const partyAmount = (e: LedgerEntry): string => {
    const line = e.lines.find((l) => l.kind === 'advertiser' || l.kind === 'publisher') ?? e.lines[0];
    return line ? formatMoney(line.amountMicros, e.currency) : '—';
  };
  const party = (e: LedgerEntry): string =>
    e.advertiserId
      ? nameOf('advertisers', e.advertiserId)
      : e.publisherId
        ? nameOf('publishers', e.publisherId)
        : 'Network';
  return (
    <section aria-labelledby="billing-journal" class="space-y-3">
      <h2 id="billing-journal" class="text-lg font-semibold">
        Journal
      </h2>
      <Show when={!page.error} fallback={<ErrorBox error={page.error} retry={refetch} />}>
        <Show when={page.latest} fallback={<Loading label="Loading the journal…" />}>
          <Show when={page.latest!.items.length > 0} fallback={<Empty title="No ledger entries yet" />}>
            <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white" aria-busy={page.loading}>
              <table class="w-full min-w-[640px] text-left text-sm">
                <caption class="sr-only">Ledger entries, newest first</caption>
                <thead class="bg-slate-50 text-xs uppercase text-slate-600">
                  <tr>
                    <th scope="col" class={th}>
                      Entry
                    </th>
                    <th scope="col" class={th}>
                      When
                    </th>
                    <th scope="col" class={th}>
                      Kind
                    </th>
                    <th scope="col" class={th}>
                      For
                    </th>
                    <th scope="col" class={th}>
                      Memo
                    </th>
                    <th scope="col" class={`${th} text-right`} title="On the advertiser's or publisher's account">
                      Amount
                    </th>
                  </tr>
                </thead>
                <tbody>
                  <For each={page.latest!.items}>
                    {(e) => (
                      <tr class="border-t border-slate-100">
                        <td class={`${td} tabular-nums`}>#{e.id}</td>
                        <td class={td}>{(e.hour ?? e.createdAt).slice(0, 16).replace('T', ' ')}</td>
                        <td class={td}>{e.kind}</td>
                        <td class={td}>{party(e)}</td>
                        <td class={`${td} text-slate-600`}>{e.memo || '—'}</td>
                        <td class={num}>{partyAmount(e)}</td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </div>
            <nav aria-label="Journal pages" class="flex justify-end gap-2 text-sm">
              <button
                type="button"
                class="btn"
                disabled={befores().length <= 1 || page.loading}
                onClick={() => setBefores((b) => b.slice(0, -1))}
              >
                Newer
              </button>
              <button
                type="button"
                class="btn"
                disabled={!page.latest!.nextBefore || page.loading}
                onClick={() => setBefores((b) => [...b, page.latest!.nextBefore ?? undefined])}
              >
                Older
              </button>
            </nav>
          </Show>
        </Show>
      </Show>
    </section>
  );
}
