/**
 * The admin's billing actions: record a payment (received from an advertiser, paid out to a publisher), post an
 * adjustment with a reason, set an advertiser's credit limit. Amounts are typed as decimals and sent as integer
 * micros; each posting carries an idempotency key so a retried click posts once; the server's field errors are
 * shown at their fields and what was typed stays.
 */
import type { Advertiser, Publisher } from '@marquee/core';
import type { JSX } from 'solid-js';
import { createResource, createSignal, For, Show } from 'solid-js';
import { listEntities, postAdjustment, postPayment, setCreditLimit } from '../lib/api.ts';
import { newIdempotencyKey, parseSignedMoney } from '../lib/billing.ts';
import { errorsAt, type FormErrors, NO_ERRORS, toFormErrors, unplaced } from '../lib/field-errors.ts';
import { formatMoney, parseMoney } from '../lib/money.ts';
import { ErrorList, Field } from './field.tsx';

type Side = 'advertiser' | 'publisher';

function useParties() {
  const [advertisers] = createResource(() =>
    listEntities('advertisers', { limit: 500, sort: 'name', includeArchived: true }).then((p) => p.items),
  );
  const [publishers] = createResource(() =>
    listEntities('publishers', { limit: 500, sort: 'name', includeArchived: true }).then((p) => p.items),
  );
  return { advertisers, publishers };
}

const localError = (path: string, message: string): FormErrors => ({
  byPath: new Map([[path, [message]]]),
  general: ['Check the highlighted field.'],
});

/** A payment or an adjustment for one advertiser or publisher. */
export function PostingForm(props: { mode: 'payment' | 'adjustment'; onPosted: () => void }): JSX.Element {
  const { advertisers, publishers } = useParties();
  const [side, setSide] = createSignal<Side>('advertiser');
  const [party, setParty] = createSignal('');
  const [amount, setAmount] = createSignal('');
  const [currency, setCurrency] = createSignal('USD');
  const [note, setNote] = createSignal('');
  const [errors, setErrors] = createSignal<FormErrors>(NO_ERRORS);
  const [done, setDone] = createSignal<string | null>(null);
  const [busy, setBusy] = createSignal(false);
  // One key per intended posting: a retry after a lost answer posts once; a new key after each success.
  let key = newIdempotencyKey();
  let form: HTMLFormElement | undefined;
  const payment = (): boolean => props.mode === 'payment';
  const partyPath = (): string => (side() === 'advertiser' ? '/advertiserId' : '/publisherId');
  const notePath = (): string => (payment() ? '/reference' : '/reason');
  const options = (): readonly (Advertiser | Publisher)[] =>
    (side() === 'advertiser' ? advertisers() : publishers()) ?? [];

  const pickParty = (id: string): void => {
    setParty(id);
    // An advertiser's account is in its own currency: preselect it (the server checks it anyway).
    const adv = side() === 'advertiser' ? advertisers()?.find((a) => a.id === id) : undefined;
    if (adv) setCurrency(adv.currency);
  };

  const submit = async (e: SubmitEvent): Promise<void> => {
    e.preventDefault();
    setDone(null);
    const micros = payment() ? parseMoney(amount()) : parseSignedMoney(amount());
    let local: FormErrors | null = null;
    if (!party())
      local = localError(partyPath(), `Choose ${side() === 'advertiser' ? 'an advertiser' : 'a publisher'}`);
    else if (micros === null || micros === undefined || micros === 0)
      local = localError(
        '/amountMicros',
        payment() ? 'Enter an amount such as 1250.00' : 'Enter an amount such as -25.00',
      );
    else if (!payment() && !note().trim()) local = localError('/reason', 'Say why (shown on the invoice or statement)');
    if (local) {
      setErrors(local);
      queueMicrotask(() => form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      return;
    }
    const who = side() === 'advertiser' ? { advertiserId: party() } : { publisherId: party() };
    setBusy(true);
    try {
      const common = { ...who, amountMicros: micros as number, currency: currency().trim(), idempotencyKey: key };
      const res = payment()
        ? await postPayment({ ...common, ...(note().trim() ? { reference: note().trim() } : {}) })
        : await postAdjustment({ ...common, reason: note().trim() });
      setErrors(NO_ERRORS);
      setDone(
        `${payment() ? 'Payment' : 'Adjustment'} of ${formatMoney(micros as number, currency().trim())} posted (entry #${res.entry.id}${res.created ? '' : ', already posted before'}).`,
      );
      key = newIdempotencyKey();
      setAmount('');
      setNote('');
      props.onPosted();
    } catch (err) {
      setErrors(toFormErrors(err));
      queueMicrotask(() => form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
    } finally {
      setBusy(false);
    }
  };
  const title = (): string => (payment() ? 'Record a payment' : 'Post an adjustment');
  return (
    <form ref={form} onSubmit={submit} class="card space-y-3" aria-label={title()} novalidate>
      <h3 class="font-semibold">{title()}</h3>
      <ErrorList
        errors={[
          ...errors().general,
          ...unplaced(errors(), ['/advertiserId', '/publisherId', '/amountMicros', '/currency', notePath()]),
        ]}
      />
      <fieldset class="flex gap-4 text-sm">
        <legend class="label">For</legend>
        <For each={['advertiser', 'publisher'] as const}>
          {(s) => (
            <label class="inline-flex items-center gap-1">
              <input
                type="radio"
                name={`${props.mode}-side`}
                value={s}
                checked={side() === s}
                onChange={() => {
                  setSide(s);
                  setParty('');
                }}
              />
              {s === 'advertiser' ? 'An advertiser' : 'A publisher'}
            </label>
          )}
        </For>
      </fieldset>
      <Field label={side() === 'advertiser' ? 'Advertiser' : 'Publisher'} errors={errorsAt(errors(), partyPath())}>
        {(a) => (
          <select
            id={a.id}
            class="input"
            aria-invalid={a.invalid}
            aria-describedby={a.describedBy}
            value={party()}
            onChange={(e) => pickParty(e.currentTarget.value)}
          >
            <option value="">Choose…</option>
            <For each={options()}>
              {(o) => (
                <option value={o.id} selected={o.id === party()}>
                  {o.name}
                </option>
              )}
            </For>
          </select>
        )}
      </Field>
      <div class="grid grid-cols-[2fr_1fr] gap-3">
        <Field
          label="Amount"
          hint={
            payment()
              ? side() === 'advertiser'
                ? 'Received from the advertiser'
                : 'Paid out to the publisher'
              : side() === 'advertiser'
                ? 'Positive: a charge; negative: a credit'
                : 'Positive: adds to earnings; negative: takes from them'
          }
          errors={errorsAt(errors(), '/amountMicros')}
        >
          {(a) => (
            <input
              id={a.id}
              class="input"
              inputmode="decimal"
              aria-invalid={a.invalid}
              aria-describedby={a.describedBy}
              value={amount()}
              onInput={(e) => setAmount(e.currentTarget.value)}
            />
          )}
        </Field>
        <Field label="Currency" errors={errorsAt(errors(), '/currency')}>
          {(a) => (
            <input
              id={a.id}
              class="input uppercase"
              maxLength={3}
              aria-invalid={a.invalid}
              aria-describedby={a.describedBy}
              value={currency()}
              onInput={(e) => setCurrency(e.currentTarget.value.toUpperCase())}
            />
          )}
        </Field>
      </div>
      <Field
        label={payment() ? 'Reference' : 'Reason *'}
        hint={payment() ? 'Bank reference, cheque number, …' : 'Shown on the invoice or statement'}
        errors={errorsAt(errors(), notePath())}
      >
        {(a) => (
          <input
            id={a.id}
            class="input"
            aria-invalid={a.invalid}
            aria-describedby={a.describedBy}
            value={note()}
            onInput={(e) => setNote(e.currentTarget.value)}
          />
        )}
      </Field>
      <div class="flex items-center gap-3">
        <button type="submit" class="btn btn-primary" disabled={busy()}>
          {busy() ? 'Posting…' : payment() ? 'Record payment' : 'Post adjustment'}
        </button>
        <Show when={done()}>
          <span role="status" class="text-sm text-emerald-700">
            {done()}
          </span>
        </Show>
      </div>
    </form>
  );
}

/** An advertiser's credit limit: an amount (0 = prepaid only) or no limit (post-paid, never stopped). */
export function CreditLimitForm(props: { onSaved: () => void }): JSX.Element {
  const { advertisers } = useParties();
  const [advertiser, setAdvertiser] = createSignal('');
  const [limit, setLimit] = createSignal('');
  const [unlimited, setUnlimited] = createSignal(false);
  const [errors, setErrors] = createSignal<FormErrors>(NO_ERRORS);
  const [done, setDone] = createSignal<string | null>(null);
  const [busy, setBusy] = createSignal(false);
  let form: HTMLFormElement | undefined;
  const currency = (): string => advertisers()?.find((a) => a.id === advertiser())?.currency ?? 'USD';
  const submit = async (e: SubmitEvent): Promise<void> => {
    e.preventDefault();
    setDone(null);
    const micros = unlimited() ? null : parseMoney(limit());
    let local: FormErrors | null = null;
    if (!advertiser()) local = localError('/advertiserId', 'Choose an advertiser');
    else if (!unlimited() && (micros === null || micros === undefined))
      local = localError('/creditLimitMicros', 'Enter an amount such as 5000.00 (0: prepaid only)');
    if (local) {
      setErrors(local);
      queueMicrotask(() => form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      return;
    }
    setBusy(true);
    try {
      const res = await setCreditLimit(advertiser(), { creditLimitMicros: micros ?? null, currency: currency() });
      setErrors(NO_ERRORS);
      setDone(
        res.creditLimitMicros === null
          ? 'No limit set: post-paid, never stopped.'
          : `Credit limit set to ${formatMoney(res.creditLimitMicros, res.currency)}.`,
      );
      props.onSaved();
    } catch (err) {
      setErrors(toFormErrors(err));
      queueMicrotask(() => form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
    } finally {
      setBusy(false);
    }
  };
  return (
    <form ref={form} onSubmit={submit} class="card space-y-3" aria-label="Set a credit limit" novalidate>
      <h3 class="font-semibold">Set a credit limit</h3>
      <ErrorList
        errors={[...errors().general, ...unplaced(errors(), ['/advertiserId', '/creditLimitMicros', '/currency'])]}
      />
      <Field label="Advertiser" errors={errorsAt(errors(), '/advertiserId')}>
        {(a) => (
          <select
            id={a.id}
            class="input"
            aria-invalid={a.invalid}
            aria-describedby={a.describedBy}
            value={advertiser()}
            onChange={(e) => setAdvertiser(e.currentTarget.value)}
          >
            <option value="">Choose…</option>
            <For each={advertisers() ?? []}>
              {(o) => (
                <option value={o.id} selected={o.id === advertiser()}>
                  {o.name}
                </option>
              )}
            </For>
          </select>
        )}
      </Field>
      <Field
        label={`Credit limit (${currency()})`}
        hint="0: prepaid only; delivery stops when prepaid funds and credit run out"
        errors={[...errorsAt(errors(), '/creditLimitMicros'), ...errorsAt(errors(), '/currency')]}
      >
        {(a) => (
          <input
            id={a.id}
            class="input"
            inputmode="decimal"
            disabled={unlimited()}
            aria-invalid={a.invalid}
            aria-describedby={a.describedBy}
            value={limit()}
            onInput={(e) => setLimit(e.currentTarget.value)}
          />
        )}
      </Field>
      <label class="inline-flex items-center gap-2 text-sm">
        <input type="checkbox" checked={unlimited()} onChange={(e) => setUnlimited(e.currentTarget.checked)} />
        No limit (post-paid, never stopped)
      </label>
      <div class="flex items-center gap-3">
        <button type="submit" class="btn btn-primary" disabled={busy()}>
          {busy() ? 'Saving…' : 'Save credit limit'}
        </button>
        <Show when={done()}>
          <span role="status" class="text-sm text-emerald-700">
            {done()}
          </span>
        </Show>
      </div>
    </form>
  );
}
