import { useNavigate, useSearchParams } from '@solidjs/router';
import type { JSX } from 'solid-js';
import { createSignal, Show } from 'solid-js';
import { Field } from '../components/field.tsx';
import { ApiError } from '../lib/api.ts';
import { notice, signIn } from '../lib/session.ts';

export default function SignIn(): JSX.Element {
  const navigate = useNavigate();
  const [params] = useSearchParams<{ next?: string }>();
  const [email, setEmail] = createSignal('');
  const [password, setPassword] = createSignal('');
  const [error, setError] = createSignal<string | null>(null);
  const [busy, setBusy] = createSignal(false);

  const submit = async (e: SubmitEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(email().trim(), password());
      const next = params.next?.startsWith('/') && !params.next.startsWith('//') ? params.next : '/';
      navigate(next, { replace: true });
    } catch (err) {
      setError(
        err instanceof ApiError && err.code === 'MQ_ERR_BAD_CREDENTIALS'
          ? 'Wrong email or password.'
          : err instanceof ApiError && err.code === 'MQ_ERR_RATE_LIMITED'
            ? 'Too many failed attempts. Wait a few minutes and try again.'
            : (err as Error).message,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="flex min-h-screen items-center justify-center bg-slate-100 p-4">
      <form onSubmit={submit} class="card w-full max-w-sm space-y-4" aria-labelledby="sign-in-title">
        <h1 id="sign-in-title" class="text-xl font-semibold">
          Sign in to Marquee
        </h1>
        <Show when={notice()}>
          <p role="status" class="rounded bg-amber-50 p-2 text-sm text-amber-900">
            {notice()}
          </p>
        </Show>
        <Show when={error()}>
          <p role="alert" class="rounded bg-red-50 p-2 text-sm text-red-800">
            {error()}
          </p>
        </Show>
        <Field label="Email">
          {(a) => (
            <input
              id={a.id}
              class="input"
              type="email"
              autocomplete="username"
              required
              value={email()}
              onInput={(e) => setEmail(e.currentTarget.value)}
            />
          )}
        </Field>
        <Field label="Password">
          {(a) => (
            <input
              id={a.id}
              class="input"
              type="password"
              autocomplete="current-password"
              required
              value={password()}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          )}
        </Field>
        <button type="submit" class="btn btn-primary w-full justify-center" disabled={busy()}>
          {busy() ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
